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
        self._panels: list[Panel] = [self.events]
        self._subscribed = 0  # how many of them hear the client's events
        #: Panels built after the page is ready (see :meth:`add_later`).
        self._later: list[Callable[[PanelContext], Panel]] = []
        bind.on_error = self.report

    @property
    def panels(self) -> list[Panel]:
        """Every panel of the page, in order (those added for later are built now if not yet)."""
        self.complete()
        return self._panels

    @property
    def ready_panels(self) -> list[Panel]:
        """The panels built so far."""
        return self._panels

    def add(self, panels: Iterable[Callable[[PanelContext], Panel]]) -> list[Panel]:
        """Build each panel from this context, then subscribe each new panel to the client, in
        order (the event log, built first, first of all); returns the page's panels so far."""
        self._panels.extend(make(self) for make in panels)
        for panel in self._panels[self._subscribed :]:
            for event, handler in panel.subscriptions().items():
                self.client.on(event, handler)
        self._subscribed = len(self._panels)
        return self._panels

    def add_later(self, panels: Iterable[Callable[[PanelContext], Panel]]) -> None:
        """Panels that only show what a session brings: built by :meth:`complete` (once the
        page is ready and idle, see main.py), or as soon as anything asks for every panel
        (Connect, the event log's export or import), so that none misses its part."""
        self._later.extend(panels)

    def complete(self) -> None:
        """Build the panels added for later, after the others (the order they hear events in)."""
        if self._later:
            later, self._later = self._later, []
            self.add(later)
            state = self.client.state
            for panel in self._panels[-len(later) :]:
                panel.update(state)

    def log(self, name: str, data: Any, *, kind: str = "event") -> None:
        self.events.log(name, data, kind=kind)

    def report(self, exc: BaseException) -> None:
        """A failure, as a banner a person understands."""
        self.banner.show(model.classify_error(exc, timeout=self.client.timeout))

    def refresh(self) -> None:
        """Each panel enables its controls for the session's state as it is now."""
        state = self.client.state
        for panel in self._panels:
            panel.update(state)

    def begin_session(self) -> None:
        """Connect was pressed: each panel forgets the last session."""
        for panel in self.panels:
            panel.session_starting()
