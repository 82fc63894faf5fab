"""What the latency panel draws, as pure data (CPython-testable): figures as text, the summary
line and the chart's geometry. The measuring is :mod:`rtvi.latency`'s."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rtvi.latency import Stats, TurnLatency

#: The export format's version (``latency`` in an exported session).
EXPORT_VERSION = 1
#: The chart's inner margin (SVG user units).
PAD = 6.0

#: The columns of the bot's parts, after the figure: (key, heading, tooltip).
PARTS = (
    ("vad_stop", "VAD stop", "end of your speech → user-stopped-speaking at the page"),
    ("stt", "STT", "the bot's speech-to-text TTFB (RTVI metrics)"),
    ("llm", "LLM", "the bot's LLM TTFB (RTVI metrics)"),
    ("tts", "TTS", "the bot's text-to-speech TTFB (RTVI metrics)"),
)


def fmt_ms(ms: float | None) -> str:
    """``812 ms``, ``12.3 s``; ``–`` for unknown."""
    if ms is None:
        return "–"
    return f"{ms:.0f} ms" if abs(ms) < 10_000 else f"{ms / 1000:.1f} s"


def part_ms(row: TurnLatency, key: str) -> float | None:
    """A row's part ``key`` (one of :data:`PARTS`' keys), ms."""
    return row.vad_stop_ms if key == "vad_stop" else row.ttfb_ms.get(key)


def figure_text(row: TurnLatency) -> str:
    """The row's figure, or why it has none."""
    if row.v2v_ms is not None:
        return fmt_ms(row.v2v_ms)
    return {
        "waiting": "…",
        "unanswered": "no answer",
        "unheard": "no speech at the page",
    }.get(row.state, "–")


def summary_text(label: str, figures: Stats | None) -> str:
    """``voice to voice: p50 812 ms · p95 1.02 s · worst 1.1 s (4 turns)``."""
    if figures is None:
        return f"{label}: no turn yet"
    turns = "turn" if figures.count == 1 else "turns"
    return (
        f"{label}: p50 {fmt_ms(figures.p50)} · p95 {fmt_ms(figures.p95)} · "
        f"worst {fmt_ms(figures.worst)} ({figures.count} {turns})"
    )


@dataclass(frozen=True)
class Point:
    """One measured turn on the chart (SVG user units; y grows downwards)."""

    x: float
    y: float
    kind: str
    index: int
    ms: float


@dataclass(frozen=True)
class Chart:
    """The chart over a session: ``points`` in turn order, the y axis up to ``top_ms``, and the
    y of the spoken turns' p50 (None without any)."""

    width: float
    height: float
    top_ms: float
    points: list[Point]
    p50_y: float | None


def nice_top(ms: float) -> float:
    """The axis' top: ``ms`` rounded up to 1, 2 or 5 × a power of ten (at least 100 ms)."""
    ms = max(ms, 100.0)
    power = 10.0 ** math.floor(math.log10(ms))
    return next(float(step * power) for step in (1, 2, 5, 10) if step * power >= ms)


def chart(
    rows: Sequence[TurnLatency],
    p50: float | None = None,
    *,
    width: float = 300,
    height: float = 80,
    pad: float = PAD,
) -> Chart:
    """The measured rows as points (x: turn order, y: their figure), scaled to the box."""
    measured = [r for r in rows if r.v2v_ms is not None]
    top = nice_top(max((r.v2v_ms or 0.0 for r in measured), default=0.0))

    def y(ms: float) -> float:
        return round(height - pad - (height - 2 * pad) * min(max(ms, 0.0), top) / top, 1)

    step = (width - 2 * pad) / max(len(measured) - 1, 1)
    points = [
        Point(round(pad + i * step, 1), y(r.v2v_ms or 0.0), r.kind, r.index, r.v2v_ms or 0.0)
        for i, r in enumerate(measured)
    ]
    return Chart(width, height, top, points, None if p50 is None else y(p50))


def export_rows(rows: Sequence[TurnLatency]) -> dict[str, Any]:
    """The panel's part of an exported session: ``{"version": 1, "rows": [...]}``."""
    return {"version": EXPORT_VERSION, "rows": [row.to_json() for row in rows]}


def import_rows(data: Any) -> list[TurnLatency]:
    """The rows of :func:`export_rows`' data; ``ValueError`` for anything else."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rows"), list):
        raise ValueError("latency: expected {version, rows: [...]}")
    version = data.get("version", EXPORT_VERSION)
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise ValueError(f"latency: export version {version!r} is not one this page reads")
    rows = data["rows"]
    if not all(isinstance(row, Mapping) for row in rows):
        raise ValueError("latency: a row is not an object")
    return [TurnLatency.from_json(row) for row in rows]
