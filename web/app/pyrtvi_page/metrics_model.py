"""The metrics panel's logic (pure Python, no ``js``): what a session's RTVI ``metrics`` said.

A Pipecat bot with metrics on sends ``metrics`` messages whose data holds lists by kind, as its
RTVI observer writes them from pipecat's ``MetricsFrame``::

    {"ttfb": [{"processor": "OpenAILLMService#0", "model": "gpt-4o", "value": 0.31}],
     "processing": [{"processor": ..., "value": 1.2}],         # seconds, like ttfb
     "ttfa": [{"processor": ..., "ttfa": 0.2, ...}],          # pipecat 1.x TTS: first audio
     "tokens": [{"prompt_tokens": 120, "completion_tokens": 14, "total_tokens": 134,
                 "cache_read_input_tokens": 100, "reasoning_tokens": 3}],   # no processor
     "characters": [{"processor": "CartesiaTTSService#0", "value": 42}],
     "stt_usage": [{"processor": ..., "value": {"audio_seconds": 2.5}}]}

:class:`SessionMetrics` keeps them as timing :class:`Sample` s per service and kind (for the
charts and the per-service table) and :class:`Usage` per :class:`Turn` (tokens, characters, STT
seconds). A turn is one user input and the bot's answer to it: it starts when the user starts
speaking, or when the bot starts an answer (``bot-llm-started``) with no spoken input waiting
for one (a typed message, or the bot speaking first). :func:`chart_svg` draws a kind's series
as SVG markup; :meth:`SessionMetrics.to_dict` / :meth:`SessionMetrics.from_dict` are the panel's
part of an exported session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from html import escape
from typing import Any

#: The version of :meth:`SessionMetrics.to_dict`'s format.
FORMAT_VERSION = 1

#: Timing kinds (seconds in the message, ms here) → the field that holds the value.
TIMING_KINDS: dict[str, str] = {
    "ttfb": "value",
    "processing": "value",
    "ttfa": "ttfa",
    "ttfat": "ttfat",
}
TIMING_LABELS = {
    "ttfb": "TTFB",
    "processing": "Processing",
    "ttfa": "First audio",
    "ttfat": "First answer token",
}
#: The kinds drawn as charts over the session.
CHARTED = ("ttfb", "processing")
#: Series colours (CSS classes ``series-0`` …); a service keeps its colour in every chart.
SERIES_CLASSES = 6

#: Where a turn came from: the user's speech, or a bot answer with no speech before it.
SPEECH, TEXT = "speech", "text"


def number(value: Any) -> float | None:
    """A finite JSON number (not a bool) as a float, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def format_ms(ms: float) -> str:
    """A duration for people: ``0.2 ms``, ``14 ms``, ``1.24 s``."""
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"


@dataclass(frozen=True)
class Sample:
    """One timing a service reported: ``kind`` (ttfb, processing, …) in ms, at ``t_ms`` since
    the session started, in turn ``turn``."""

    t_ms: float
    turn: int
    kind: str
    service: str
    ms: float
    model: str | None = None


@dataclass
class Usage:
    """What a turn (or the session) used. ``None``: never reported (cache-read and reasoning
    tokens come only from LLMs that have them, STT seconds only from pipecat 1.x STT services)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int | None = None
    reasoning_tokens: int | None = None
    characters: int = 0
    stt_seconds: float | None = None

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.characters += other.characters
        self.cache_read_tokens = _plus(self.cache_read_tokens, other.cache_read_tokens)
        self.reasoning_tokens = _plus(self.reasoning_tokens, other.reasoning_tokens)
        self.stt_seconds = _plus(self.stt_seconds, other.stt_seconds)

    def add_tokens(self, entry: Mapping[str, Any]) -> bool:
        """One ``tokens`` entry (pipecat's ``LLMTokenUsage``); False when it is not one."""
        prompt, completion = (
            number(entry.get("prompt_tokens")),
            number(entry.get("completion_tokens")),
        )
        if prompt is None and completion is None:
            return False
        self.prompt_tokens += int(prompt or 0)
        self.completion_tokens += int(completion or 0)
        cache, reasoning = (
            number(entry.get("cache_read_input_tokens")),
            number(entry.get("reasoning_tokens")),
        )
        if cache is not None:
            self.cache_read_tokens = (self.cache_read_tokens or 0) + int(cache)
        if reasoning is not None:
            self.reasoning_tokens = (self.reasoning_tokens or 0) + int(reasoning)
        return True

    def is_empty(self) -> bool:
        return self == Usage()


def _plus(a: Any, b: Any) -> Any:
    """``a + b`` where None means "not reported" (None + None stays None)."""
    if a is None:
        return b
    return a if b is None else a + b


@dataclass
class Turn:
    """One exchange: its number (from 1), what started it, when, and what it used."""

    number: int
    source: str
    t_ms: float
    usage: Usage = field(default_factory=Usage)
    #: Whether the bot has started answering (a later answer starts a new turn).
    answered: bool = False


@dataclass(frozen=True)
class Stats:
    """A service's figures for one kind over the session, in ms."""

    count: int
    last: float
    mean: float
    worst: float


@dataclass
class SessionMetrics:
    """Everything the session's ``metrics`` messages said, grouped by service, kind and turn."""

    samples: list[Sample] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    #: Services in the order they first appeared (also those that only sent pipecat's initial
    #: zero metrics), with the model each named.
    services: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)

    # -- inputs ------------------------------------------------------------------------------

    def user_started_speaking(self, t_ms: float) -> None:
        current = self.turns[-1] if self.turns else None
        if current is None or current.answered or current.source != SPEECH:
            self._open(SPEECH, t_ms)

    def bot_llm_started(self, t_ms: float) -> None:
        current = self.turns[-1] if self.turns else None
        if current is None or current.answered:
            current = self._open(TEXT, t_ms)
        current.answered = True

    def metrics(self, data: Any, t_ms: float) -> bool:
        """One ``metrics`` message's data; whether it changed anything shown."""
        if not isinstance(data, Mapping):
            return False
        changed = False
        for kind, entries in data.items():
            if not isinstance(entries, list):
                continue
            for entry in entries:
                if isinstance(entry, Mapping):
                    changed = self._entry(str(kind), entry, t_ms) or changed
        return changed

    def _entry(self, kind: str, entry: Mapping[str, Any], t_ms: float) -> bool:
        if kind == "tokens":
            return self._usage(t_ms).add_tokens(entry)
        service = entry.get("processor")
        if not isinstance(service, str) or not service:
            return False
        new = self._service(service, entry.get("model"))
        if kind in TIMING_KINDS:
            seconds = number(entry.get(TIMING_KINDS[kind]))
            if seconds is None or seconds <= 0:  # pipecat's initial metrics are zeros
                return new
            turn = self._current(t_ms).number
            self.samples.append(
                Sample(t_ms, turn, kind, service, seconds * 1000, self.models.get(service))
            )
            return True
        if kind == "characters":
            count = number(entry.get("value"))
            if count is None:
                return new
            self._usage(t_ms).characters += int(count)
            return True
        if kind == "stt_usage":
            value = entry.get("value")
            seconds = number(value.get("audio_seconds")) if isinstance(value, Mapping) else None
            if seconds is None:
                return new
            usage = self._usage(t_ms)
            usage.stt_seconds = (usage.stt_seconds or 0.0) + seconds
            return True
        return new

    def _open(self, source: str, t_ms: float) -> Turn:
        turn = Turn(len(self.turns) + 1, source, t_ms)
        self.turns.append(turn)
        return turn

    def _current(self, t_ms: float) -> Turn:
        return self.turns[-1] if self.turns else self._open(TEXT, t_ms)

    def _usage(self, t_ms: float) -> Usage:
        return self._current(t_ms).usage

    def _service(self, service: str, model: Any) -> bool:
        if isinstance(model, str) and model:
            self.models[service] = model
        if service in self.services:
            return False
        self.services.append(service)
        return True

    # -- what is shown -----------------------------------------------------------------------

    def kinds(self) -> list[str]:
        """The timing kinds reported this session, in :data:`TIMING_KINDS` order."""
        seen = {s.kind for s in self.samples}
        return [k for k in TIMING_KINDS if k in seen]

    def series(self, kind: str) -> dict[str, list[Sample]]:
        """A kind's samples per service (services in order of appearance)."""
        out: dict[str, list[Sample]] = {}
        for sample in self.samples:
            if sample.kind == kind:
                out.setdefault(sample.service, []).append(sample)
        return {s: out[s] for s in self.services if s in out}

    def stats(self, service: str, kind: str) -> Stats | None:
        values = [s.ms for s in self.samples if s.service == service and s.kind == kind]
        if not values:
            return None
        return Stats(len(values), values[-1], sum(values) / len(values), max(values))

    def totals(self) -> Usage:
        total = Usage()
        for turn in self.turns:
            total.add(turn.usage)
        return total

    def first_ttfb(self, turn: int) -> dict[str, float]:
        """The first TTFB of each service in ``turn``, ms."""
        found: dict[str, float] = {}
        for sample in self.samples:
            if sample.turn == turn and sample.kind == "ttfb":
                found.setdefault(sample.service, sample.ms)
        return found

    def is_empty(self) -> bool:
        return not self.samples and not self.services and self.totals().is_empty()

    # -- export / import ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, versioned (:data:`FORMAT_VERSION`); :meth:`from_dict` reads it back."""
        return {
            "version": FORMAT_VERSION,
            "services": [{"name": s, "model": self.models.get(s)} for s in self.services],
            "samples": [asdict(s) for s in self.samples],
            "turns": [
                {
                    "number": t.number,
                    "source": t.source,
                    "t_ms": t.t_ms,
                    "answered": t.answered,
                    "usage": asdict(t.usage),
                }
                for t in self.turns
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> SessionMetrics:
        """What :meth:`to_dict` wrote; ValueError for anything else (another version included)."""
        if not isinstance(data, Mapping) or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"not pyrtvi metrics (version {FORMAT_VERSION})")
        try:
            session = cls()
            for service in data["services"]:
                session._service(str(service["name"]), service.get("model"))
            session.samples = [
                Sample(
                    t_ms=float(s["t_ms"]),
                    turn=int(s["turn"]),
                    kind=str(s["kind"]),
                    service=str(s["service"]),
                    ms=float(s["ms"]),
                    model=s.get("model") if isinstance(s.get("model"), str) else None,
                )
                for s in data["samples"]
            ]
            usage_fields = {f.name for f in fields(Usage)}
            session.turns = [
                Turn(
                    number=int(t["number"]),
                    source=str(t["source"]),
                    t_ms=float(t["t_ms"]),
                    usage=Usage(**{k: v for k, v in t["usage"].items() if k in usage_fields}),
                    answered=bool(t.get("answered", True)),
                )
                for t in data["turns"]
            ]
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"malformed pyrtvi metrics: {exc!r}") from exc
        return session


# -- rows for the tables ---------------------------------------------------------------------


@dataclass(frozen=True)
class UsageItem:
    """One usage total: ``key`` (the element's id suffix), label, value and its text."""

    key: str
    label: str
    value: float
    text: str


def usage_items(usage: Usage) -> list[UsageItem]:
    """The usage totals worth showing: tokens and characters always, the rest when reported."""
    items = [
        UsageItem("prompt-tokens", "Prompt tokens", usage.prompt_tokens, str(usage.prompt_tokens)),
        UsageItem(
            "completion-tokens",
            "Completion tokens",
            usage.completion_tokens,
            str(usage.completion_tokens),
        ),
    ]
    if usage.cache_read_tokens is not None:
        items.append(
            UsageItem(
                "cache-read-tokens",
                "Cache-read tokens",
                usage.cache_read_tokens,
                str(usage.cache_read_tokens),
            )
        )
    if usage.reasoning_tokens is not None:
        items.append(
            UsageItem(
                "reasoning-tokens",
                "Reasoning tokens",
                usage.reasoning_tokens,
                str(usage.reasoning_tokens),
            )
        )
    items.append(
        UsageItem("tts-characters", "TTS characters", usage.characters, str(usage.characters))
    )
    if usage.stt_seconds is not None:
        items.append(
            UsageItem("stt-seconds", "STT audio", usage.stt_seconds, f"{usage.stt_seconds:.1f} s")
        )
    return items


def turn_cells(session: SessionMetrics, turn: Turn) -> list[str]:
    """A turn's row: tokens in/out (+ cache-read and reasoning when the session has them),
    characters, and each service's first TTFB."""
    usage, totals = turn.usage, session.totals()
    cells = [str(usage.prompt_tokens), str(usage.completion_tokens)]
    if totals.cache_read_tokens is not None:
        cells.append(str(usage.cache_read_tokens or 0))
    if totals.reasoning_tokens is not None:
        cells.append(str(usage.reasoning_tokens or 0))
    cells.append(str(usage.characters))
    ttfb = session.first_ttfb(turn.number)
    cells.append(" · ".join(f"{short_name(s)} {format_ms(ms)}" for s, ms in ttfb.items()) or "–")
    return cells


def turn_headers(session: SessionMetrics) -> list[str]:
    totals = session.totals()
    headers = ["Turn", "Source", "Prompt", "Completion"]
    if totals.cache_read_tokens is not None:
        headers.append("Cache read")
    if totals.reasoning_tokens is not None:
        headers.append("Reasoning")
    return [*headers, "Characters", "TTFB"]


def short_name(service: str) -> str:
    """``OpenAILLMService#0`` → ``OpenAILLMService`` (the instance number only when not 0)."""
    name, _, index = service.rpartition("#")
    return name if name and index == "0" else service


# -- charts ----------------------------------------------------------------------------------


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (an axis' top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def chart_svg(session: SessionMetrics, kind: str, *, width: int = 480, height: int = 160) -> str:
    """SVG markup of ``kind``'s samples over the session: one line of points per service
    (colour ``series-N`` by the service's place in :attr:`SessionMetrics.services`), time since
    the session started across, ms up; each point has a ``<title>``."""
    series = session.series(kind)
    left, right, top, bottom = 44, 8, 8, 20
    plot_w, plot_h = width - left - right, height - top - bottom
    samples = [s for points in series.values() for s in points]
    top_ms = nice_ceiling(max((s.ms for s in samples), default=1.0))
    end_ms = max(1000.0, max((s.t_ms for s in samples), default=0.0) * 1.05)

    def x(t_ms: float) -> float:
        return round(left + plot_w * t_ms / end_ms, 1)

    def y(ms: float) -> float:
        return round(top + plot_h * (1 - ms / top_ms), 1)

    label = f"{TIMING_LABELS.get(kind, kind)} per service over the session"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="metrics-chart" data-kind="{escape(kind)}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">',
        f'<g class="axis"><line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/></g>',
    ]
    for tick in (top_ms / 2, top_ms):
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y(tick)}" x2="{width - right}" y2="{y(tick)}"/>'
            f'<text class="tick" x="{left - 4}" y="{y(tick) + 4}" text-anchor="end">{escape(format_ms(tick))}</text>'
        )
    parts.append(f'<text class="tick" x="{left}" y="{height - 4}">0 s</text>')
    parts.append(
        f'<text class="tick" x="{width - right}" y="{height - 4}" text-anchor="end">{end_ms / 1000:.0f} s</text>'
    )
    for service, points in series.items():
        css = f"series series-{session.services.index(service) % SERIES_CLASSES}"
        coords = " ".join(f"{x(p.t_ms)},{y(p.ms)}" for p in points)
        parts.append(f'<g class="{css}" data-service="{escape(service)}">')
        if len(points) > 1:
            parts.append(f'<polyline points="{coords}"/>')
        for p in points:
            tip = f"{service} {TIMING_LABELS.get(kind, kind)} {format_ms(p.ms)} (turn {p.turn}, at {p.t_ms / 1000:.1f} s)"
            parts.append(
                f'<circle cx="{x(p.t_ms)}" cy="{y(p.ms)}" r="3"><title>{escape(tip)}</title></circle>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
