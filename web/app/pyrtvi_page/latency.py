"""The latency panel (``#latency``): voice to voice of each turn, measured at the page.

Two audio watches (:class:`~rtvi.transports.virtual_mic.AudioWatch`), on the microphone's track
and on the bot's, in one ``AudioContext`` (one clock), report where the mic's audible stretches
end and where the bot's audio begins after silence; the client's events say when the bot heard
the user stop (``user-stopped-speaking``), when a message was typed (the text box's submit) and
what the bot reported (``metrics``). :class:`~rtvi.latency.LatencyTracker` turns that into rows
by the definitions the test kit uses; this module only feeds it and draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtvi import RTVIEvent, TransportState
from rtvi.latency import LatencyTracker, TurnLatency
from rtvi.transports._browser import AudioContext
from rtvi.transports.virtual_mic import AudioWatch, Heard

from . import latency_view as view
from .base import Panel, Subscriptions
from .dom import by_id, clear, document, h, set_text

if TYPE_CHECKING:
    from .context import PanelContext

SVG = "http://www.w3.org/2000/svg"


def svg(tag: str, attrs: dict[str, Any], *children: Any, text: str | None = None) -> Any:
    """An SVG element (``h`` makes HTML ones)."""
    element = document.createElementNS(SVG, tag)
    for name, value in attrs.items():
        element.setAttribute(name, str(value))
    for child in children:
        element.append(child)
    if text is not None:
        element.textContent = text
    return element


class LatencyPanel(Panel):
    """One row per turn (``tr[data-v2v-ms]``), the bot's parts beside it, p50/p95/worst and a
    chart over the session."""

    export_key = "latency"

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.tracker = LatencyTracker()
        self.element = by_id("latency")
        self.input = by_id("text-input")
        self.context: AudioContext | None = None
        #: "mic" and "bot": the watch on each track.
        self.watches: dict[str, AudioWatch] = {}
        self.summary = h("p", {"class": "latency-summary", "aria-live": "polite"})
        self.chart = svg("svg", {"class": "latency-chart", "role": "img"})
        self.body = h("tbody")
        heads = [h("th", {"scope": "col", "text": text}) for text in ("#", "turn", "latency")]
        heads += [
            h("th", {"scope": "col", "title": tip, "text": head}) for _k, head, tip in view.PARTS
        ]
        self.table = h(
            "table",
            {"class": "latency-table"},
            h("thead", None, h("tr", None, *heads)),
            self.body,
        )
        self.items: dict[int, Any] = {}
        self.element.append(self.summary)
        self.element.append(self.chart)
        self.element.append(h("div", {"class": "latency-scroll"}, self.table))
        ctx.bind.on(by_id("text-form"), "submit", self.on_submit)
        self.draw([])

    def subscriptions(self) -> Subscriptions:
        return {
            RTVIEvent.TRACK_STARTED: self.on_track,
            RTVIEvent.USER_STOPPED_SPEAKING: self.on_user_stopped,
            RTVIEvent.METRICS: lambda data: self.draw(self.tracker.metrics(data)),
            RTVIEvent.DISCONNECTED: lambda: self.ctx.bind.spawn(self.close_watches()),
        }

    def session_starting(self) -> None:
        self.tracker.reset()
        self.items.clear()
        clear(self.body)
        self.draw([])

    # --- the clock and the watches --------------------------------------------------------------

    def now(self) -> float | None:
        """The page's audio clock, ms (None before the first track)."""
        return None if self.context is None else self.context.currentTime * 1000

    def on_track(self, track: Any, participant: Any = None) -> None:
        if str(getattr(track, "kind", "")) == "audio":
            role = "mic" if getattr(participant, "local", False) else "bot"
            self.ctx.bind.spawn(self.watch(role, track))

    async def watch(self, role: str, track: Any) -> None:
        """Watch ``track`` as the mic's or the bot's (again when the track changes)."""
        old = self.watches.get(role)
        if old is not None and str(old.track.id) == str(track.id):
            return
        if self.context is None:
            self.context = AudioContext()
        if role == "mic":
            watch = AudioWatch(track, context=self.context, on_end=self.on_mic_end)
        else:
            watch = AudioWatch(track, context=self.context, on_onset=self.on_bot_onset)
        self.watches[role] = watch
        if old is not None:
            await old.close()
        await watch.start()

    async def close_watches(self) -> None:
        watches, self.watches = list(self.watches.values()), {}
        for watch in watches:
            await watch.close()

    def on_mic_end(self, time: float) -> None:
        self.tracker.speech_ended(time * 1000)

    def on_bot_onset(self, heard: Heard) -> None:
        self.draw(self.tracker.bot_onset(heard.time * 1000))

    # --- turns ----------------------------------------------------------------------------------

    def on_user_stopped(self) -> None:
        now = self.now()
        if now is not None and "mic" in self.watches:
            self.draw(self.tracker.user_stopped_speaking(now))

    def on_submit(self, _event: Any) -> None:
        """A typed turn begins (the conversation panel sends it; its handler runs after this
        one has read the text box)."""
        now = self.now()
        ready = self.client.state == TransportState.READY
        if now is not None and ready and str(self.input.value).strip():
            self.draw(self.tracker.text_sent(now))

    # --- drawing --------------------------------------------------------------------------------

    def draw(self, changed: list[TurnLatency]) -> None:
        for row in changed:
            self.draw_row(row)
        spoken, typed = self.tracker.stats("spoken"), self.tracker.stats("typed")
        text = view.summary_text("voice to voice", spoken)
        if typed is not None:
            text += "\n" + view.summary_text("typed, time to first audio", typed)
        set_text(self.summary, text)
        self.draw_chart(None if spoken is None else spoken.p50)

    def draw_row(self, row: TurnLatency) -> None:
        item = self.items.get(row.index)
        if item is None:
            item = self.items[row.index] = h("tr", {"class": "latency-row"})
            self.body.append(item)
        clear(item)
        item.dataset.kind = row.kind
        item.dataset.state = row.state
        if row.v2v_ms is None:
            item.removeAttribute("data-v2v-ms")
        else:
            item.dataset.v2vMs = f"{row.v2v_ms:.0f}"
        label = "spoken" if row.kind == "spoken" else "typed (to first audio)"
        item.append(h("td", {"text": str(row.index)}))
        item.append(h("td", {"text": label}))
        item.append(h("td", {"class": "v2v", "text": view.figure_text(row)}))
        for key, _head, _tip in view.PARTS:
            ms = view.part_ms(row, key)
            item.append(
                h(
                    "td",
                    {
                        "class": "part",
                        "data-part": key,
                        "data-ms": None if ms is None else f"{ms:.0f}",
                        "text": view.fmt_ms(ms),
                    },
                )
            )

    def draw_chart(self, p50: float | None) -> None:
        geometry = view.chart(self.tracker.rows, p50)
        chart = self.chart
        clear(chart)
        chart.setAttribute("viewBox", f"0 0 {geometry.width:g} {geometry.height:g}")
        chart.setAttribute(
            "aria-label",
            f"latency of {len(geometry.points)} turns, axis up to {view.fmt_ms(geometry.top_ms)}",
        )
        width, bottom = geometry.width, geometry.height - view.PAD
        chart.append(
            svg("line", {"class": "axis", "x1": 0, "x2": width, "y1": bottom, "y2": bottom})
        )
        chart.append(
            svg("text", {"class": "top", "x": 2, "y": 9}, text=view.fmt_ms(geometry.top_ms))
        )
        if geometry.p50_y is not None:
            y = geometry.p50_y
            chart.append(svg("line", {"class": "p50", "x1": 0, "x2": width, "y1": y, "y2": y}))
        spoken = [p for p in geometry.points if p.kind == "spoken"]
        if len(spoken) > 1:
            line = " ".join(f"{p.x:g},{p.y:g}" for p in spoken)
            chart.append(svg("polyline", {"class": "trend", "points": line}))
        for point in geometry.points:
            title = svg(
                "title", {}, text=f"turn {point.index} ({point.kind}): {view.fmt_ms(point.ms)}"
            )
            chart.append(
                svg("circle", {"class": point.kind, "cx": point.x, "cy": point.y, "r": 3}, title)
            )

    # --- export / import ------------------------------------------------------------------------

    def export_state(self) -> Any:
        return view.export_rows(self.tracker.rows)

    def import_state(self, data: Any) -> None:
        rows = view.import_rows(data)
        self.session_starting()
        self.tracker.rows.extend(rows)
        self.draw(rows)
