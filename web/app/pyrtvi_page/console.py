"""The console: one ``RTVIClient`` over a browser transport (WebRTC or WebSocket), shown to a person.

Everything the page shows comes from the client's public API: events (``client.on``), the
connect/disconnect lifecycle, devices, config (describe-config / get-config / update-config),
actions (describe-actions / action, disconnected over HTTP when there is no session), and
``send_text`` / ``LLMHelper.append_to_messages`` for the text box.

The ``Console`` builds the client and a :class:`~.context.PanelContext` (client, bindings, event
log, banner, connection settings), then the panels in :data:`PANELS`, in order. Each panel has
one shape (:class:`~.base.Panel`): built from the context, it binds its own controls, returns
the client events it hears from ``subscriptions()``, enables its controls in ``update(state)``
and forgets the last session in ``session_starting()``.

A new panel is one module plus its HTML block: a ``Panel`` subclass that finds its elements by
id, added to :data:`PANELS`; a ``<section class="panel …">`` in ``web/index.html``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rtvi import RTVIClient

from . import controls
from .base import Panel
from .call_controls import CallControlsPanel
from .context import PanelContext
from .conversation import Conversation
from .dom import Bindings
from .latency import LatencyPanel
from .media import MediaPanel
from .session import SessionPanel
from .session_info import SessionInfoPanel
from .settings import ConnectionSettings, build_transport


def _metrics(ctx: PanelContext) -> Panel:
    from .metrics import MetricsPanel

    return MetricsPanel(ctx)


def _config(ctx: PanelContext) -> Panel:
    from .bot_config import ConfigPanel

    return ConfigPanel(ctx)


def _actions(ctx: PanelContext) -> Panel:
    from .actions import ActionsPanel

    return ActionsPanel(ctx)


#: The panels after the event log (always first), in the order they hear each client event.
#: The last :data:`LATER` show what a session brings: built, and their modules imported (they are
#: not in the shipped snapshot), once the page is ready (their HTML is there from the first
#: paint), or at Connect if that comes first (PanelContext.add_later).
PANELS: tuple[Callable[[PanelContext], Panel], ...] = (
    SessionPanel,
    SessionInfoPanel,
    MediaPanel,
    CallControlsPanel,
    Conversation,
    LatencyPanel,
    _metrics,
    _config,
    _actions,
)
LATER = 3


class Console:
    """Builds the client and the panels; the panels do the rest."""

    def __init__(self) -> None:
        settings = ConnectionSettings()
        self.client = RTVIClient(
            transport=build_transport(settings.transport_kind()),
            params={"base_url": settings.base_url()},
            timeout=settings.timeout(),
            enable_mic=True,
            enable_cam=False,
            # The controls panel's screen share (SmallWebRTC adds its screen transceiver).
            enable_screen_share=True,
        )
        self.context = PanelContext(self.client, Bindings(), settings)
        self.context.add(PANELS[:-LATER])
        self.context.add_later(PANELS[-LATER:])
        self.context.refresh()

    @property
    def panels(self) -> list[Panel]:
        """Every panel, in order (building those left for later, see :data:`LATER`)."""
        return self.context.panels

    def complete(self) -> None:
        """Builds the panels left for later (main.py: once the page is ready and idle)."""
        self.context.complete()

    def carry_out(self, actions: Iterable[Mapping[str, Any]]) -> None:
        """What the person asked for while Python loaded (boot.js queued it, see
        :func:`.controls.early_actions`): the messages are sent once the session is ready."""
        early = controls.early_actions(actions)
        for panel in self.context.panels if early.connect else self.context.ready_panels:
            if isinstance(panel, Conversation):
                for text, mode in early.texts:
                    panel.queue(text, mode)
            if isinstance(panel, SessionPanel) and early.connect:
                self.context.bind.spawn(panel.connect())
