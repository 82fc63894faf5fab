"""The metrics panel (``#metrics``): what the bot's services reported in RTVI ``metrics``.

Per service, its TTFB and processing time (last and mean, and as charts over the session, drawn
into SVG by :func:`.metrics_model.chart_svg`), and the usage: tokens (prompt, completion,
cache-read and reasoning when reported), TTS characters, STT seconds, as totals and per turn.
The logic is :mod:`.metrics_model`'s; this module draws it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import js  # type: ignore[import-not-found]
from rtvi import RTVIEvent

from .base import Panel, Subscriptions
from .dom import by_id, h
from .metrics_model import (
    CHARTED,
    SERIES_CLASSES,
    TIMING_LABELS,
    SessionMetrics,
    chart_svg,
    format_ms,
    short_name,
    turn_cells,
    turn_headers,
    usage_items,
)

if TYPE_CHECKING:
    from .context import PanelContext

EMPTY = (
    "No metrics yet. A bot with metrics on (pipecat's PipelineParams enable_metrics and "
    "enable_usage_metrics) reports them as it answers."
)


def now_ms() -> float:
    return float(js.performance.now())


def table(css: str, caption: str, headers: list[str], rows: list[Any]) -> Any:
    """A captioned table in a box that scrolls sideways on a narrow screen (not the page)."""
    head = h("tr", None, *(h("th", {"scope": "col", "text": text}) for text in headers))
    return h(
        "div",
        {"class": "scroll"},
        h(
            "table",
            {"class": css},
            h("caption", {"text": caption}),
            h("thead", None, head),
            h("tbody", None, *rows),
        ),
    )


class MetricsPanel(Panel):
    """``#metrics``: the per-service table, the charts, the usage totals and the per-turn rows,
    redrawn whenever a ``metrics`` message changes them."""

    export_key = "metrics"

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.element = by_id("metrics")
        self.session = SessionMetrics()
        self.started_ms = now_ms()
        self.render()

    def subscriptions(self) -> Subscriptions:
        return {
            RTVIEvent.METRICS: self.on_metrics,
            RTVIEvent.USER_STARTED_SPEAKING: lambda: self.session.user_started_speaking(self.t()),
            RTVIEvent.BOT_LLM_STARTED: lambda: self.session.bot_llm_started(self.t()),
        }

    def session_starting(self) -> None:
        self.session = SessionMetrics()
        self.started_ms = now_ms()
        self.render()

    def t(self) -> float:
        """Now, in ms since the session started."""
        return now_ms() - self.started_ms

    def on_metrics(self, data: Any) -> None:
        if self.session.metrics(data, self.t()):
            self.render()

    def export_state(self) -> Any:
        return self.session.to_dict()

    def import_state(self, data: Any) -> None:
        self.session = SessionMetrics.from_dict(data)
        self.render()

    # -- drawing -----------------------------------------------------------------------------

    def render(self) -> None:
        session = self.session
        if session.is_empty():
            self.element.replaceChildren(h("p", {"class": "hint", "text": EMPTY}))
            return
        self.element.replaceChildren(
            self.services_table(), self.charts(), self.usage_list(), self.turns_table()
        )

    def services_table(self) -> Any:
        session, kinds = self.session, self.session.kinds()
        headers = ["Service"]
        for kind in kinds:
            label = TIMING_LABELS.get(kind, kind)
            headers += [f"{label} last", f"{label} mean"]
        rows = []
        for index, service in enumerate(session.services):
            row = h(
                "tr",
                {"data-service": service},
                h(
                    "th",
                    {"scope": "row", "title": session.models.get(service)},
                    h("span", {"class": f"swatch series-{index % SERIES_CLASSES}"}),
                    short_name(service),
                ),
            )
            for kind in kinds:
                stats = session.stats(service, kind)
                if stats is None:
                    row.append(h("td", {"data-kind": kind, "colspan": 2, "text": "–"}))
                    continue
                title = f"{stats.count} reports, worst {format_ms(stats.worst)}"
                for which, ms in (("last", stats.last), ("mean", stats.mean)):
                    attrs = {"data-kind": kind, "data-stat": which, "data-ms": f"{ms:.3f}"}
                    row.append(h("td", {**attrs, "title": title, "text": format_ms(ms)}))
            rows.append(row)
        return table("metrics-services", "Per service", headers, rows)

    def charts(self) -> Any:
        box = h("div", {"class": "metrics-charts"})
        for kind in CHARTED:
            if not self.session.series(kind):
                continue
            figure = h("figure", {"data-kind": kind})
            holder = h("div", {"class": "chart"})
            holder.innerHTML = chart_svg(self.session, kind)
            figure.append(
                holder, h("figcaption", {"text": f"{TIMING_LABELS[kind]} over the session"})
            )
            box.append(figure)
        return box

    def usage_list(self) -> Any:
        usage = h("dl", {"class": "metrics-usage", "aria-label": "Usage over the session"})
        for item in usage_items(self.session.totals()):
            usage.append(
                h(
                    "div",
                    None,
                    h("dt", {"text": item.label}),
                    h(
                        "dd",
                        {"id": f"metrics-{item.key}", "data-value": item.value, "text": item.text},
                    ),
                )
            )
        return usage

    def turns_table(self) -> Any:
        session, rows = self.session, []
        for turn in session.turns:
            row = h(
                "tr",
                {"data-turn": turn.number, "data-source": turn.source},
                h("th", {"scope": "row", "text": str(turn.number)}),
                h("td", {"text": "spoken" if turn.source == "speech" else "typed / bot"}),
            )
            for text in turn_cells(session, turn):
                row.append(h("td", {"text": text}))
            rows.append(row)
        return table("metrics-turns", "Per turn", turn_headers(session), rows)
