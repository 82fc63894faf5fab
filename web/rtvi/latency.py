"""Latency where the user is: one definition of voice to voice, shared by the test kit and the console.

Pure Python (no ``js``): the page feeds it times, all in ms on one clock (the page's
``AudioContext``: ``currentTime * 1000``), and it decides.

- **Audible** is ``abs(sample) >= AUDIBLE`` (0.02 of full scale, about -34 dBFS), at both ends.
- **The end of the user's speech** is the last audible sample of the microphone before the
  bot's ``user-stopped-speaking`` reached the page (:func:`speech_end`): the audio watch on the
  mic reports where each audible stretch ends (a stretch ends after :data:`GAP_S` of silence).
- **The answer** is the first audible bot sample after silence, at or after that end
  (:func:`first_onset`).
- **Voice to voice** is their difference (:func:`voice_to_voice_ms`). A typed turn has no
  speech: its figure is the **time to first audio**, from the send to the answer's first
  audible sample.
- **The bot's parts** come from RTVI ``metrics`` messages: the first TTFB of the turn per
  service kind (STT, LLM, TTS: :func:`service_kind` reads the processor's name), and the
  **VAD stop wait** as the page sees it: from the end of the speech to the arrival of
  ``user-stopped-speaking`` (the bot's endpointing silence plus the way back).

:class:`LatencyTracker` turns those inputs into one :class:`TurnLatency` row per turn;
:func:`stats` gives p50/p95/worst over a session.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AUDIBLE",
    "GAP_S",
    "SERVICES",
    "LatencyTracker",
    "Stats",
    "TurnLatency",
    "first_onset",
    "percentile",
    "service_kind",
    "speech_end",
    "stats",
    "ttfb_items",
    "voice_to_voice_ms",
]

#: Audibility threshold: ``abs(sample) >= AUDIBLE`` (full scale is 1.0), about -34 dBFS: well
#: above the near-zero samples of a silent stream, well below speech or a TTS voice.
AUDIBLE = 0.02
#: Silence (s) that separates two audible stretches: an onset is an audible sample after at
#: least this much silence, a stretch's end is its last audible sample before as much.
GAP_S = 0.05
#: The service kinds whose TTFB a row shows, in order.
SERVICES = ("stt", "llm", "tts")
#: How many mic ends and bot onsets a tracker keeps (older ones can no longer match a turn).
KEEP = 200

Kind = Literal["spoken", "typed"]
#: ``waiting``: no answer heard yet; ``answered``; ``unanswered``: the next turn began first;
#: ``unheard``: the bot heard speech the page did not (nothing audible at the mic).
State = Literal["waiting", "answered", "unanswered", "unheard"]


def voice_to_voice_ms(speech_end_ms: float, heard_ms: float) -> float:
    """From the end of the user's speech to the first audible sample of the answer, ms (both
    on one clock)."""
    return heard_ms - speech_end_ms


def speech_end(ends: Iterable[float], mark: float, *, after: float | None = None) -> float | None:
    """The end of the user's speech: the last end of an audible mic stretch at or before
    ``mark`` (when ``user-stopped-speaking`` arrived) and after ``after`` (the previous turn's
    mark); None if the page heard nothing in between."""
    found = [t for t in ends if t <= mark and (after is None or t > after)]
    return max(found) if found else None


def first_onset(onsets: Iterable[float], mark: float) -> float | None:
    """The first onset (audible after silence) at or after ``mark``; None: none yet."""
    found = [t for t in onsets if t >= mark]
    return min(found) if found else None


def service_kind(processor: str) -> str | None:
    """``"stt"``, ``"llm"`` or ``"tts"`` from a Pipecat processor's name (``DeepgramSTTService#0``,
    ``OpenAILLMService#0``, ``CartesiaTTSService#0``); None for anything else."""
    for kind in SERVICES:
        if kind.upper() in processor:
            return kind
    lowered = processor.lower()
    for kind in SERVICES:
        if kind in lowered:
            return kind
    return None


def ttfb_items(data: Any) -> Iterator[tuple[str, float]]:
    """``(processor, ms)`` for each TTFB of an RTVI ``metrics`` message's data (seconds there)."""
    if not isinstance(data, Mapping):
        return
    for item in data.get("ttfb") or []:
        if isinstance(item, Mapping) and isinstance(item.get("value"), int | float):
            name = str(item.get("processor") or item.get("model") or "unknown")
            yield name, float(item["value"]) * 1000


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linear between the closest ranks (as
    numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    """p50, p95 and the worst of a session's figures (ms)."""

    count: int
    p50: float
    p95: float
    worst: float


def stats(values: Sequence[float]) -> Stats | None:
    """:class:`Stats` of ``values``; None without any."""
    if not values:
        return None
    return Stats(len(values), percentile(values, 50), percentile(values, 95), max(values))


@dataclass
class TurnLatency:
    """One turn's row.

    ``start_ms``: the end of the user's speech (spoken) or the send (typed); ``v2v_ms``: from
    there to the first audible sample of the answer (voice to voice, or time to first audio);
    ``vad_stop_ms``: from the end of the speech to ``user-stopped-speaking`` at the page;
    ``ttfb_ms``: the bot's first reported TTFB of the turn per service kind.
    """

    index: int
    kind: Kind
    start_ms: float | None
    mark_ms: float
    v2v_ms: float | None = None
    vad_stop_ms: float | None = None
    ttfb_ms: dict[str, float] = field(default_factory=dict)
    state: State = "waiting"

    def to_json(self) -> dict[str, Any]:
        """The row as JSON data (an exported session's ``latency.rows``)."""
        return {
            "index": self.index,
            "kind": self.kind,
            "start_ms": self.start_ms,
            "mark_ms": self.mark_ms,
            "v2v_ms": self.v2v_ms,
            "vad_stop_ms": self.vad_stop_ms,
            "ttfb_ms": dict(self.ttfb_ms),
            "state": self.state,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TurnLatency:
        """A row from :meth:`to_json`'s data; ``ValueError`` for anything else."""

        def number(key: str) -> float | None:
            value = data.get(key)
            if value is None:
                return None
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"latency row: {key} is not a number: {value!r}")
            return float(value)

        kind, state = data.get("kind"), data.get("state", "answered")
        if kind not in ("spoken", "typed"):
            raise ValueError(f"latency row: unknown kind {kind!r}")
        if state not in ("waiting", "answered", "unanswered", "unheard"):
            raise ValueError(f"latency row: unknown state {state!r}")
        ttfb = data.get("ttfb_ms") or {}
        if not isinstance(ttfb, Mapping):
            raise ValueError("latency row: ttfb_ms is not an object")
        return cls(
            index=int(data.get("index", 0)),
            kind=kind,
            start_ms=number("start_ms"),
            mark_ms=number("mark_ms") or 0.0,
            v2v_ms=number("v2v_ms"),
            vad_stop_ms=number("vad_stop_ms"),
            ttfb_ms={str(k): float(v) for k, v in ttfb.items() if isinstance(v, int | float)},
            state=state,
        )


class LatencyTracker:
    """Rows of turn latency from what the page sees, fed in the order it sees it.

    Audio: :meth:`speech_ended` (an audible mic stretch ended, at its last audible sample),
    :meth:`bot_onset` (an audible bot sample after silence). Client events, with the clock's
    time of their arrival: :meth:`user_stopped_speaking`, :meth:`text_sent`, :meth:`metrics`.
    Each returns the rows it changed (to redraw them).
    """

    def __init__(self) -> None:
        self.rows: list[TurnLatency] = []
        self.ends: list[float] = []
        self.onsets: list[float] = []

    def reset(self) -> None:
        """A new session: no rows, nothing heard."""
        self.rows.clear()
        self.ends.clear()
        self.onsets.clear()

    def speech_ended(self, t: float) -> None:
        self.ends = [*self.ends[-KEEP + 1 :], t]

    def bot_onset(self, t: float) -> list[TurnLatency]:
        self.onsets = [*self.onsets[-KEEP + 1 :], t]
        changed = []
        for row in self.rows:
            if row.state == "waiting" and row.start_ms is not None and t >= row.start_ms:
                self._answer(row, t)
                changed.append(row)
        return changed

    def user_stopped_speaking(self, now: float) -> list[TurnLatency]:
        """The bot says the user stopped speaking (``now``: when the page heard so)."""
        last = self.rows[-1] if self.rows else None
        if (
            last is not None
            and last.kind == "typed"
            and last.state == "waiting"
            and speech_end(self.ends, now, after=last.mark_ms) is None
        ):
            # Nothing said since the typed message: a bot that runs typed text as a user turn
            # (pipecat 1.14's send-text) reports that turn; the typed row stays the turn.
            return []
        previous = max((r.mark_ms for r in self.rows if r.kind == "spoken"), default=None)
        end = speech_end(self.ends, now, after=previous)
        row = TurnLatency(len(self.rows) + 1, "spoken", end, now)
        if end is None:
            row.state = "unheard"
        else:
            row.vad_stop_ms = now - end
        return self._open(row)

    def text_sent(self, now: float) -> list[TurnLatency]:
        """The user sent a typed message at ``now``."""
        return self._open(TurnLatency(len(self.rows) + 1, "typed", now, now))

    def metrics(self, data: Any) -> list[TurnLatency]:
        """An RTVI ``metrics`` message: its first TTFB per service kind goes to the last turn."""
        if not self.rows:
            return []
        row = self.rows[-1]
        before = dict(row.ttfb_ms)
        for processor, ms in ttfb_items(data):
            kind = service_kind(processor)
            if kind is not None:
                row.ttfb_ms.setdefault(kind, ms)
        return [row] if row.ttfb_ms != before else []

    def figures(self, kind: Kind) -> list[float]:
        """The measured figures of ``kind``'s rows, in turn order."""
        return [r.v2v_ms for r in self.rows if r.kind == kind and r.v2v_ms is not None]

    def stats(self, kind: Kind) -> Stats | None:
        return stats(self.figures(kind))

    def _open(self, row: TurnLatency) -> list[TurnLatency]:
        changed = [row]
        for old in self.rows:
            if old.state == "waiting":
                old.state = "unanswered"
                changed.append(old)
        self.rows.append(row)
        if row.start_ms is not None:
            heard = first_onset(self.onsets, row.start_ms)
            if heard is not None:
                self._answer(row, heard)
        return changed

    @staticmethod
    def _answer(row: TurnLatency, heard: float) -> None:
        assert row.start_ms is not None
        row.v2v_ms = voice_to_voice_ms(row.start_ms, heard)
        row.state = "answered"
