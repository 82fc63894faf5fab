"""Turns from RTVI events: when the bot has finished answering, and what it said and did.

Pure functions over the page's event records (``{"type", "data", "t"}``, ``t`` in ms of the
page's clock), shared by every session (browser or CPython, sync or async). The waits (a turn's
end, an event) are written once, as generators of "sleep this many ms, then poll": a sync session
drives them with :func:`run_steps`, an async one with :func:`arun_steps`.

**Finished answering** is decided from RTVI events only: after the turn began, the bot's LLM
stopped (``bot-llm-stopped``) and then

- if its TTS spoke (``bot-tts-started``): a ``bot-stopped-speaking`` came after the last
  ``bot-llm-stopped`` and ``bot-tts-stopped``, with no ``bot-started-speaking`` after it;
- if it never spoke (a text-only bot): nothing started speaking ``TEXT_ONLY_MS`` (2 s) after.

The session checks twice, ``SETTLE_MS`` apart, so that a pause between two sentences is not
taken for the end.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rtvi import latency

#: Two checks this far apart must both say "finished".
SETTLE_MS = 400.0
#: A bot whose TTS has not started this long after its LLM stopped answered in text only.
TEXT_ONLY_MS = 2000.0
#: Default bound on one turn (the bot's whole answer), seconds.
TURN_TIMEOUT_S = 30.0
#: How often a turn's end (ms) and an awaited event (ms) are polled.
TURN_POLL_MS = 100.0
EVENT_POLL_MS = 50.0

#: What ``say`` and ``interrupt`` take: text (spoken offline), a WAV's path or its bytes.
Speech = str | bytes | Path
Events = list[dict[str, Any]]
T = TypeVar("T")
P = TypeVar("P")
#: A wait: yields ms to sleep before the next poll, is sent the poll, returns its result.
Steps = Generator[float, P, T]


@dataclass(frozen=True)
class TurnEvent:
    """One RTVI event of a turn: its type (``botLlmText``...), data, ms since the turn began."""

    type: str
    data: Any
    ms: float


@dataclass(frozen=True)
class FunctionCall:
    """A function call the bot's LLM made during a turn (``llm-function-call-*`` events)."""

    name: str
    arguments: Any = None
    result: Any = None
    tool_call_id: str | None = None


@dataclass
class Turn:
    """One exchange: what the user said or typed, and the bot's whole answer."""

    user_text: str = ""
    bot_text: str = ""
    spoken_text: str = ""
    function_calls: list[FunctionCall] = field(default_factory=list)
    events: list[TurnEvent] = field(default_factory=list)
    #: From the last audible sample of the user's speech to the first audible sample of the
    #: answer, at the page (``rtvi.latency``'s definition, the console's too); None until
    #: measured (typed turns are never measured).
    voice_to_voice_ms: float | None = None
    #: Time to first byte per service (the metrics' ``processor``), ms.
    bot_ttfb_ms: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    #: What started the turn: "type", "say", "interrupt".
    kind: str = "type"
    sent: str = ""

    def summary(self) -> str:
        """A few lines for failure messages and ``turns.md``."""
        latency = "-" if self.voice_to_voice_ms is None else f"{self.voice_to_voice_ms:.0f} ms"
        ttfb = ", ".join(f"{k} {v:.0f} ms" for k, v in self.bot_ttfb_ms.items()) or "-"
        lines = [
            f"- {self.kind} {self.sent!r}",
            f"  user_text: {self.user_text!r}",
            f"  bot_text: {self.bot_text!r}",
            f"  spoken_text: {self.spoken_text!r}",
            f"  function_calls: {[(c.name, c.arguments, c.result) for c in self.function_calls]}",
            f"  voice_to_voice_ms: {latency}; bot_ttfb_ms: {ttfb}; interrupted: {self.interrupted}",
        ]
        return "\n".join(lines)


def since(events: list[dict[str, Any]], start: float) -> list[dict[str, Any]]:
    return [e for e in events if e["t"] >= start]


def _last(events: list[dict[str, Any]], *types: str) -> float | None:
    times = [e["t"] for e in events if e["type"] in types]
    return max(times) if times else None


def finished(events: list[dict[str, Any]], start: float, now: float | None = None) -> bool:
    """Whether the bot finished answering the turn that began at page time ``start``
    (``now``: the page time of the check, for text-only answers)."""
    turn = since(events, start)
    llm_stopped = _last(turn, "botLlmStopped")
    if llm_stopped is None:
        return False
    if _last(turn, "botTtsStarted", "botStartedSpeaking") is None:
        return now is not None and now - llm_stopped >= TEXT_ONLY_MS
    stopped = _last(turn, "botStoppedSpeaking")
    if stopped is None:
        return False
    after = max(llm_stopped, _last(turn, "botTtsStopped") or llm_stopped)
    started = _last(turn, "botStartedSpeaking") or 0.0
    return stopped >= after and stopped >= started


def speaking(events: list[dict[str, Any]]) -> bool:
    """Whether the bot is speaking at the end of ``events`` (started, not stopped since)."""
    started = _last(events, "botStartedSpeaking")
    stopped = _last(events, "botStoppedSpeaking")
    return started is not None and (stopped is None or stopped < started)


def _text(data: Any) -> str:
    return str(data.get("text", "")) if isinstance(data, dict) else ""


def _words(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


def function_calls(turn: list[dict[str, Any]]) -> list[FunctionCall]:
    """Function calls by tool call id, in order of appearance (RTVI 1.x events and 0.x's).

    RTVI 2.x's ``llm-function-call-started`` carries no tool call id: it opens a call that the
    next event with an id and the same (or no) name completes.
    """
    calls: dict[str, dict[str, Any]] = {}
    for event in turn:
        data = event["data"] if isinstance(event["data"], dict) else {}
        if event["type"] not in (
            "llmFunctionCall",
            "llmFunctionCallStarted",
            "llmFunctionCallInProgress",
            "llmFunctionCallStopped",
        ):
            continue
        tool_call_id, name = data.get("tool_call_id"), data.get("function_name")
        key = str(tool_call_id) if tool_call_id else f"#{len(calls)}"
        if tool_call_id and key not in calls:
            opened = [
                k
                for k, c in calls.items()
                if c.get("tool_call_id") is None and (not name or c.get("name") in (None, name))
            ]
            if opened:  # the started event of this call: it keeps its place, gets the id
                calls = {(key if k == opened[0] else k): c for k, c in calls.items()}
        call = calls.setdefault(key, {})
        call["tool_call_id"] = tool_call_id or call.get("tool_call_id")
        if name:
            call["name"] = name
        for arguments in ("arguments", "args"):
            if arguments in data:
                call["arguments"] = data[arguments]
        if "result" in data:
            call["result"] = data["result"]
    return [
        FunctionCall(
            name=str(c.get("name", "")),
            arguments=c.get("arguments"),
            result=c.get("result"),
            tool_call_id=c.get("tool_call_id"),
        )
        for c in calls.values()
    ]


def ttfb(turn: list[dict[str, Any]]) -> dict[str, float]:
    """The first TTFB per service from RTVI ``metrics`` (seconds there, ms here)."""
    found: dict[str, float] = {}
    for event in turn:
        if event["type"] == "metrics":
            for name, ms in latency.ttfb_items(event["data"]):
                found.setdefault(name, ms)
    return found


def build_turn(
    events: list[dict[str, Any]], start: float, *, kind: str = "type", sent: str = ""
) -> Turn:
    """The turn that began at page time ``start``, from every event since."""
    turn = since(events, start)
    user = [_text(e["data"]) for e in turn if e["type"] == "userTranscript" and _final(e["data"])]
    # Speaking when the turn began? (interrupt() starts while the bot speaks.)
    bot_speaking = speaking([e for e in events if e["t"] < start])
    interrupted = False
    for event in turn:
        if event["type"] == "botStartedSpeaking":
            bot_speaking = True
        elif event["type"] == "botStoppedSpeaking":
            bot_speaking = False
        elif bot_speaking and event["type"] in ("botInterrupted", "userStartedSpeaking"):
            # A bot interrupted before it spoke (pipecat sends one for each new user input)
            # was not interrupted.
            interrupted = True
    return Turn(
        user_text=_words(user),
        bot_text="".join(_text(e["data"]) for e in turn if e["type"] == "botLlmText").strip(),
        spoken_text=_words([_text(e["data"]) for e in turn if e["type"] == "botTtsText"]),
        function_calls=function_calls(turn),
        events=[TurnEvent(e["type"], e["data"], round(e["t"] - start, 1)) for e in turn],
        bot_ttfb_ms=ttfb(turn),
        interrupted=interrupted,
        kind=kind,
        sent=sent,
    )


def _final(data: Any) -> bool:
    return isinstance(data, dict) and data.get("final", True) is not False


def find_event(
    events: Events,
    event: str,
    where: Callable[[Any], bool] | None,
    after: float | None,
) -> dict[str, Any] | None:
    """The first ``event`` at or after time ``after`` whose data satisfies ``where``."""
    for item in events:
        if (
            item["type"] == event
            and (after is None or item["t"] >= after)
            and (where is None or where(item["data"]))
        ):
            return item
    return None


def turn_steps(
    start: float, kind: str, sent: str, timeout: float, turns: list[Turn]
) -> Steps[tuple[Events, float], Turn]:
    """Wait for the turn that began at ``start`` to finish (polls: ``(events, now)``); the turn,
    appended to ``turns``. Past ``timeout`` s the partial turn is appended and ``TimeoutError``
    raised with its summary."""
    deadline = time.monotonic() + timeout
    events, now = yield 0.0
    while True:
        if finished(events, start, now):
            events, now = yield SETTLE_MS
            if finished(events, start, now):
                break
        if time.monotonic() > deadline:
            partial = build_turn(events, start, kind=kind, sent=sent)
            turns.append(partial)
            raise TimeoutError(
                f"the bot did not finish answering in {timeout} s:\n{partial.summary()}"
            )
        events, now = yield TURN_POLL_MS
    turn = build_turn(events, start, kind=kind, sent=sent)
    turns.append(turn)
    return turn


def event_steps(
    event: str, where: Callable[[Any], bool] | None, timeout: float, after: float | None
) -> Steps[Events, dict[str, Any]]:
    """Wait for an event (polls: the events so far); ``TimeoutError`` past ``timeout`` s."""
    deadline = time.monotonic() + timeout
    events = yield 0.0
    while (found := find_event(events, event, where, after)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {event!r} event in {timeout} s")
        events = yield EVENT_POLL_MS
    return found


def run_steps(steps: Steps[P, T], poll: Callable[[], P], sleep: Callable[[float], None]) -> T:
    """Drive a wait synchronously: ``sleep(ms)`` when it asks, then ``poll()`` into it."""
    try:
        wait = next(steps)
        while True:
            if wait:
                sleep(wait)
            wait = steps.send(poll())
    except StopIteration as done:
        result: T = done.value
        return result


async def arun_steps(
    steps: Steps[P, T],
    poll: Callable[[], Awaitable[P]],
    sleep: Callable[[float], Awaitable[None]],
) -> T:
    """Drive a wait asynchronously (see :func:`run_steps`)."""
    try:
        wait = next(steps)
        while True:
            if wait:
                await sleep(wait)
            wait = steps.send(await poll())
    except StopIteration as done:
        result: T = done.value
        return result


def speaking_steps(timeout: float) -> Steps[Events, None]:
    """Wait until the bot speaks (polls: the events so far), for ``interrupt``;
    ``TimeoutError`` past ``timeout`` s."""
    deadline = time.monotonic() + timeout
    events = yield 0.0
    while not speaking(events):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not speak in {timeout} s: nothing to interrupt")
        events = yield EVENT_POLL_MS


def spoken_turn(turn: Turn, said_end: float, heard: float | None) -> Turn:
    """``turn`` of a ``say``/``interrupt`` with its ``voice_to_voice_ms``: from the utterance's
    last audible sample (``said_end``) to the answer's first (``heard``, None: not heard)."""
    if heard is not None:
        turn.voice_to_voice_ms = latency.voice_to_voice_ms(said_end, heard)
    return turn


def speech_label(speech: Speech) -> str:
    """What a turn records as sent: the text, or ``<wav>``."""
    return speech if isinstance(speech, str) else "<wav>"


def speech_wav(speech: Speech) -> bytes:
    """A WAV's bytes: as given (bytes, a path), or text spoken by ``pyrtvi_testing.speech``."""
    if isinstance(speech, bytes):
        return speech
    if isinstance(speech, Path):
        return speech.read_bytes()
    from . import speech as tts

    return tts.speech_wav(speech)
