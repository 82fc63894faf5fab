"""What every panel is built from: :class:`PanelContext`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rtvi import RTVIClient

from . import model
from .banner import Banner
from .base import Panel
from .dom import Bindings
from .event_log import EventLog
from .settings import ConnectionSettings


class PanelContext:
    """What panels share: the client, the page's event bindings (a failing handler shows the
    banner), the event log, the error banner and the connection settings; and the two moments
    every panel takes part in: :meth:`refresh` (the session's state changed) and
    :meth:`begin_session` (Connect was pressed).

    The event log is the first panel, so it logs each event before the other panels react.
    """

    def __init__(self, client: RTVIClient, bind: Bindings, settings: ConnectionSettings) -> None:
        self.client = client
        self.bind = bind
        self.settings = settings
        self.events = EventLog(self)
        self.banner = Banner(bind, self.log)
        self.panels: list[Panel] = [self.events]
        bind.on_error = self.report

    def add(self, panels: Iterable[Callable[[PanelContext], Panel]]) -> list[Panel]:
        """Build each panel from this context, then subscribe every panel to the client, in
        order; returns the page's panels."""
        self.panels.extend(make(self) for make in panels)
        for panel in self.panels:
            for event, handler in panel.subscriptions().items():
                self.client.on(event, handler)
        return self.panels

    def log(self, name: str, data: Any, *, kind: str = "event") -> None:
        self.events.log(name, data, kind=kind)

    def report(self, exc: BaseException) -> None:
        """A failure, as a banner a person understands."""
        self.banner.show(model.classify_error(exc, timeout=self.client.timeout))

    def refresh(self) -> None:
        """Each panel enables its controls for the session's state as it is now."""
        state = self.client.state
        for panel in self.panels:
            panel.update(state)

    def begin_session(self) -> None:
        """Connect was pressed: each panel forgets the last session."""
        for panel in self.panels:
            panel.session_starting()
