"""The event log panel: every client event and page call, timed from the Connect click."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import js  # type: ignore[import-not-found]
from rtvi import RTVIEvent

from . import model
from .base import Panel, Subscriptions
from .dom import by_id, clear, h

if TYPE_CHECKING:
    from .context import PanelContext

#: Log entries kept in the event log (older ones are dropped).
MAX_LOG_ENTRIES = 400

#: Events logged as errors.
ERROR_EVENTS = frozenset({"error", "messageError", "deviceError"})


def now_ms() -> float:
    return float(js.performance.now())


def describe_arg(value: Any) -> Any:
    """Event arguments for the log: a browser track as ``"audio track"``, the rest as is."""
    if hasattr(value, "readyState") and hasattr(value, "kind"):
        return f"{value.kind} track ({value.readyState})"
    return value


class EventLog(Panel):
    """``#event-log``: one ``li`` per entry, with ``+since start`` and ``Δsince last``. It hears
    every client event; the other panels log their calls through the context."""

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.list = by_id("event-log")
        self.verbose = by_id("log-verbose")
        self.clock = model.EventClock(now_ms())
        ctx.bind.on(by_id("log-clear"), "click", lambda _e: clear(self.list))

    def subscriptions(self) -> Subscriptions:
        return {event: self.handler_for(str(event)) for event in RTVIEvent}

    def session_starting(self) -> None:
        """Times restart from the Connect click."""
        self.clock.reset(now_ms())

    def handler_for(self, name: str) -> Callable[..., None]:
        """A client event handler that logs the event (streamed ones only when verbose)."""

        def log_event(*args: Any) -> None:
            if name in model.SILENT_EVENTS:
                return
            if name in model.STREAMED_EVENTS and not self.verbose.checked:
                return
            shown = [describe_arg(a) for a in args]
            data: Any = shown[0] if len(shown) == 1 else (shown or None)
            self.log(name, data, kind="error" if name in ERROR_EVENTS else "event")

        return log_event

    def log(self, name: str, data: Any, *, kind: str = "event") -> None:
        since_start, since_last = self.clock.stamp(now_ms())
        entry = h(
            "li",
            {"data-event": name, "data-kind": kind},
            h("span", {"class": "t", "text": f"+{model.format_ms(since_start)}"}),
            h("span", {"class": "dt", "text": f"Δ{since_last:.0f}"}),
            h("span", {"class": "name", "text": name}),
            h("span", {"class": "data", "text": model.summarize(data)}),
        )
        log = self.list
        log.append(entry)
        while log.childElementCount > MAX_LOG_ENTRIES:
            log.firstElementChild.remove()
        with contextlib.suppress(Exception):
            log.scrollTop = log.scrollHeight
