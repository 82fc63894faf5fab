"""``#session-info`` in the session panel: the transport, where the bot was started, the session
id, the RTVI versions of client and bot, the bot's capabilities and the connect time split, with a
copy button; exported under ``"session"`` (no secrets: :mod:`.session_facts`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import js  # type: ignore[import-not-found]
from rtvi import RTVIEvent, TransportState

from .base import Panel, Subscriptions
from .dom import by_id, clear, h, set_text
from .model import format_ms
from .session_facts import PHASES, SessionInfo, phase_label, session_id_of

if TYPE_CHECKING:
    from .context import PanelContext

logger = logging.getLogger("pyrtvi.page")


class SessionInfoPanel(Panel):
    export_key = "session"

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.list = by_id("session-info-list")
        self.copy_button = by_id("session-info-copy")
        self.copy_status = by_id("session-info-status")
        self.info: SessionInfo | None = None
        #: (transport, mode, endpoint) as the settings were at Connect.
        self.started: tuple[str, str, str] | None = None
        self.session_id: str | None = None
        ctx.bind.on(self.copy_button, "click", lambda _e: self.copy())

    def subscriptions(self) -> Subscriptions:
        return {
            RTVIEvent.BOT_STARTED: self.on_bot_started,
            RTVIEvent.TRANSPORT_STATE_CHANGED: self.on_state,
            RTVIEvent.BOT_READY: lambda *_a: self.gather(),
        }

    def update(self, state: TransportState) -> None:
        self.copy_button.disabled = self.info is None

    def session_starting(self) -> None:
        settings = self.ctx.settings
        self.started = (settings.transport_kind(), settings.mode(), settings.endpoint())
        self.session_id = None
        self.gather()

    # --- what the client reports ---------------------------------------------------------------

    def on_bot_started(self, reply: Any) -> None:
        """The start reply (or the server's connect reply) names the session."""
        self.session_id = session_id_of(reply, None, None) or self.session_id
        self.gather()

    def on_state(self, state: Any) -> None:
        if state in (TransportState.CONNECTED, TransportState.READY):  # the transport knows it
            transport = self.client.transport
            self.session_id = self.session_id or session_id_of(
                None, getattr(transport, "session_id", None), getattr(transport, "pc_id", None)
            )
        self.gather()

    def gather(self) -> None:
        """The facts as they are now (the split grows as the connect goes on)."""
        if self.started is None:
            return
        transport, mode, endpoint = self.started
        client = self.client
        self.info = SessionInfo.gather(
            transport=transport,
            mode=mode,
            endpoint=endpoint,
            session_id=self.session_id,
            client_protocol=client.protocol_version,
            client_library=f"pyrtvi {client.version}",
            bot_ready=client.bot_ready_data,
            timings=client.connect_timings,
        )
        self.render()

    # --- the page ------------------------------------------------------------------------------

    def render(self) -> None:
        clear(self.list)
        set_text(self.copy_status, "")
        info = self.info
        self.copy_button.disabled = info is None
        if info is None:
            return
        for key, label, text in info.rows():
            value = h("dd", {"data-info": key})
            if key == "connect-split":
                self.split_into(value, info)
            else:
                set_text(value, text)
            self.list.append(h("dt", {"text": label}), value)

    @staticmethod
    def split_into(element: Any, info: SessionInfo) -> None:
        """One ``data-phase``/``data-ms`` span per finished phase, then the total."""
        if info.total_ms is not None:
            element.dataset.totalMs = str(info.total_ms)
        done = [phase for phase in PHASES if phase in info.split_ms]
        if not done:
            set_text(element, info.split_text())
            return
        for i, phase in enumerate(done):
            ms = info.split_ms[phase]
            label = f"{phase_label(phase, info.transport)} {format_ms(ms)}"
            if i:
                element.append(" · ")
            element.append(h("span", {"class": "phase", "data-phase": phase, "data-ms": ms}, label))
        total = info.total_ms
        element.append(f" = {format_ms(total)}" if total is not None else " …")

    async def copy(self) -> None:
        """The info as text on the clipboard; where the browser refuses, it is selected."""
        if self.info is None:
            return
        try:
            await js.navigator.clipboard.writeText(self.info.text())
            set_text(self.copy_status, "copied")
        except Exception as exc:
            logger.info("clipboard refused: %r", exc)
            js.window.getSelection().selectAllChildren(self.list)
            set_text(self.copy_status, "selected: press Ctrl+C (or ⌘C) to copy")

    # --- export / import -----------------------------------------------------------------------

    def export_state(self) -> Any:
        return self.info.to_json() if self.info is not None else None

    def import_state(self, data: Any) -> None:
        try:
            self.info = SessionInfo.from_json(data)
        except ValueError:
            self.info = None
        self.started = None
        self.render()
