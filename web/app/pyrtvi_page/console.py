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
from .actions import ActionsPanel
from .base import Panel
from .bot_config import ConfigPanel
from .call_controls import CallControlsPanel
from .context import PanelContext
from .conversation import Conversation
from .dom import Bindings
from .latency import LatencyPanel
from .media import MediaPanel
from .metrics import MetricsPanel
from .session import SessionPanel
from .session_info import SessionInfoPanel
from .settings import ConnectionSettings, build_transport

#: The panels after the event log (always first), in the order they hear each client event.
PANELS: tuple[Callable[[PanelContext], Panel], ...] = (
    SessionPanel,
    SessionInfoPanel,
    MediaPanel,
    CallControlsPanel,
    Conversation,
    LatencyPanel,
    MetricsPanel,
    ConfigPanel,
    ActionsPanel,
)


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
        self.panels = self.context.add(PANELS)
        self.context.refresh()

    def carry_out(self, actions: Iterable[Mapping[str, Any]]) -> None:
        """What the person asked for while Python loaded (boot.js queued it, see
        :func:`.controls.early_actions`): the messages are sent once the session is ready."""
        early = controls.early_actions(actions)
        for panel in self.panels:
            if isinstance(panel, Conversation):
                for text, mode in early.texts:
                    panel.queue(text, mode)
            if isinstance(panel, SessionPanel) and early.connect:
                self.context.bind.spawn(panel.connect())
