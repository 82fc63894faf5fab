"""The test kit's turn logic (pyrtvi_testing.turns): when a turn is over, and what it holds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pyrtvi_testing.turns import (
    SETTLE_MS,
    FunctionCall,
    Turn,
    arun_steps,
    build_turn,
    event_steps,
    finished,
    run_steps,
    speaking,
    turn_steps,
)


def ev(kind: str, t: float, data: Any = None) -> dict[str, Any]:
    return {"type": kind, "data": [] if data is None else data, "t": t}


BEFORE = [ev("botReady", 5), ev("metrics", 6, {"ttfb": [{"processor": "Old#0", "value": 0.0}]})]
ANSWER = [
    ev("botInterrupted", 11),  # pipecat interrupts on each new input, before it speaks
    ev("botLlmStarted", 12),
    ev("botLlmText", 13, {"text": "You "}),
    ev("botLlmText", 14, {"text": "said: hi. "}),
    ev("botLlmStopped", 15),
    ev("botTtsStarted", 16),
    ev("metrics", 17, {"ttfb": [{"processor": "ToneTTS#0", "value": 0.0125}]}),
    ev("botStartedSpeaking", 18),
    ev("botTtsStopped", 19),
    ev("botTtsText", 400, {"text": "You said:"}),
    ev("botTtsText", 401, {"text": "hi."}),
    ev("botStoppedSpeaking", 402),
]


def test_a_spoken_answer_is_over_when_the_bot_stopped_speaking_after_llm_and_tts() -> None:
    for end in range(1, len(ANSWER)):
        assert not finished(BEFORE + ANSWER[:end], 10, now=ANSWER[end - 1]["t"] + 100)
    assert finished(BEFORE + ANSWER, 10)
    # Speaking again (a second sentence) reopens it.
    assert not finished([*BEFORE, *ANSWER, ev("botStartedSpeaking", 500)], 10)


def test_a_text_only_answer_is_over_when_no_tts_started_2_s_after_llm_stopped() -> None:
    events = [ev("botLlmStarted", 12), ev("botLlmStopped", 15)]
    assert not finished(events, 10, now=1000)
    assert finished(events, 10, now=2015)


def test_the_turn_holds_texts_ttfb_and_no_interruption() -> None:
    turn = build_turn(BEFORE + ANSWER, 10, sent="hi")
    assert turn.bot_text == "You said: hi."
    assert turn.spoken_text == "You said: hi."
    assert turn.bot_ttfb_ms == {"ToneTTS#0": 12.5}
    assert not turn.interrupted and turn.user_text == "" and turn.function_calls == []
    assert turn.events[0].type == "botInterrupted" and turn.events[0].ms == 1


def test_user_speech_while_the_bot_speaks_is_an_interruption() -> None:
    events = [
        *ANSWER[:8],
        ev("userStartedSpeaking", 100),
        ev("userTranscript", 200, {"text": "stop", "final": True}),
    ]
    turn = build_turn(events, 10)
    assert turn.interrupted and turn.user_text == "stop"


def test_function_calls_are_gathered_by_tool_call_id() -> None:
    events = [
        ev("llmFunctionCallStarted", 11, {"function_name": "weather"}),
        ev(
            "llmFunctionCallInProgress",
            12,
            {"tool_call_id": "c1", "function_name": "weather", "arguments": {"city": "Paris"}},
        ),
        ev(
            "llmFunctionCallStopped",
            13,
            {"tool_call_id": "c1", "function_name": "weather", "result": {"sky": "clear"}},
        ),
    ]
    calls = build_turn(events, 10).function_calls
    assert FunctionCall("weather", {"city": "Paris"}, {"sky": "clear"}, "c1") in calls


class Timeline:
    """Events that appear as a fake clock advances: what a session's poll would see."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.all = events
        self.now = 0.0
        self.sleeps: list[float] = []

    def poll(self) -> tuple[list[dict[str, Any]], float]:
        return [e for e in self.all if e["t"] <= self.now], self.now

    def sleep(self, ms: float) -> None:
        self.sleeps.append(ms)
        self.now += ms


def test_a_turn_wait_checks_twice_a_settle_apart_and_records_the_turn() -> None:
    clock = Timeline(BEFORE + ANSWER)
    turns: list[Turn] = []
    turn = run_steps(turn_steps(10, "type", "hi", 30, turns), clock.poll, clock.sleep)
    assert turns == [turn] and turn.bot_text == "You said: hi."
    assert clock.sleeps[-1] == SETTLE_MS and clock.now >= 402 + SETTLE_MS - 100


def test_a_turn_that_does_not_end_records_its_part_and_times_out() -> None:
    turns: list[Turn] = []
    steps = turn_steps(10, "say", "hi", 0, turns)
    with pytest.raises(TimeoutError, match="did not finish answering in 0 s"):
        run_steps(steps, lambda: (ANSWER[:3], 20.0), lambda ms: None)
    assert len(turns) == 1 and turns[0].kind == "say"


def test_an_event_wait_is_the_same_sync_and_async() -> None:
    clock = Timeline(BEFORE + ANSWER)
    steps = event_steps("botLlmText", lambda d: "said" in d["text"], 30, None)
    assert run_steps(steps, lambda: clock.poll()[0], clock.sleep)["t"] == 14

    async def poll() -> list[dict[str, Any]]:
        return clock.poll()[0]

    async def sleep(ms: float) -> None:
        clock.sleep(ms)

    steps = event_steps("botTtsText", None, 30, after=401)
    assert asyncio.run(arun_steps(steps, poll, sleep))["t"] == 401
    with pytest.raises(TimeoutError, match="no 'nothing' event in 0 s"):
        run_steps(event_steps("nothing", None, 0, None), lambda: [], lambda ms: None)


def test_a_started_call_without_id_is_the_next_call_with_one() -> None:
    # pipecat 1.14's llm-function-call-started names the function, without a tool call id.
    started = ev("llmFunctionCallStarted", 11, {"function_name": "get_weather"})
    progress = {"tool_call_id": "c1", "function_name": "get_weather", "arguments": {"a": 1}}
    stopped = {"tool_call_id": "c1", "function_name": "get_weather", "result": {"b": 2}}
    events = [
        started,
        ev("llmFunctionCallInProgress", 12, progress),
        ev("llmFunctionCallStopped", 13, stopped),
    ]
    calls = build_turn(events, 10).function_calls
    assert calls == [FunctionCall("get_weather", {"a": 1}, {"b": 2}, "c1")]
    # At report level NONE: no names at all, still one call.
    anonymous = [
        ev("llmFunctionCallStarted", 11, {}),
        ev("llmFunctionCallStopped", 13, {"tool_call_id": "c2"}),
    ]
    assert build_turn(anonymous, 10).function_calls == [FunctionCall("", None, None, "c2")]


def test_an_interrupt_begun_while_the_bot_speaks_is_an_interruption() -> None:
    before = [ev("botStartedSpeaking", 5)]
    assert speaking(before) and not speaking([*before, ev("botStoppedSpeaking", 8)])
    during = [ev("userStartedSpeaking", 20), ev("botInterrupted", 21), ev("botStoppedSpeaking", 22)]
    assert build_turn(before + during, 10, kind="interrupt").interrupted
    # The bot had stopped before the turn began: user speech interrupts nothing.
    quiet = [*before, ev("botStoppedSpeaking", 8), *during]
    assert not build_turn(quiet, 10, kind="interrupt").interrupted
