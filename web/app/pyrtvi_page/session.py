"""The session panel: Connect/Disconnect/Ask the bot to leave, the transport state, bot-ready
and timing pills, and the session's lifecycle (the connect, the banners when it fails or the
bot goes away).

The transport picker (connection settings) is read at each connect: WebSocket asks the server
for a WebSocket session (``"transport": "websocket"`` in the connect body, as the runner's
``/start`` takes it) and opens whatever ``ws_url`` the reply gives; a reply without one is the
"no WebSocket" banner.

The bot picker (connection settings) says where the session starts: this server's bot
(``connect()``), or a start endpoint (``start_bot_and_connect(url, body, headers)``: a runner's
``/start``, a hosted endpoint). A start field the page cannot use is said in its status line and
the banner, and no request is made.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rtvi import AbortError, RTVIEvent, TransportState

from . import controls, model, start_endpoint
from .base import Panel, Subscriptions
from .controls import IDLE_STATES
from .dom import by_id, set_text
from .event_log import now_ms
from .settings import build_transport, page_origin
from .start_endpoint import SettingsError, StartEndpoint

if TYPE_CHECKING:
    from .context import PanelContext

logger = logging.getLogger("pyrtvi.page")


class SessionPanel(Panel):
    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.settings = ctx.settings
        self.banner = ctx.banner
        self.connect_button = by_id("connect")
        self.disconnect_button = by_id("disconnect")
        self.leave_button = by_id("bot-leave")
        self.state = by_id("transport-state")
        self.ready = by_id("bot-ready")
        self.version = by_id("bot-version")
        self.connect_time = by_id("connect-time")
        #: The transport the client uses (the console built it from the picker).
        self.transport_kind = self.settings.transport_kind()
        self.connect_started: float | None = None
        self.leaving = False  # the person asked to disconnect, or the bot to leave
        ctx.bind.on(self.connect_button, "click", lambda _e: self.connect())
        ctx.bind.on(self.disconnect_button, "click", lambda _e: self.disconnect())
        ctx.bind.on(self.leave_button, "click", lambda _e: self.ask_bot_to_leave())
        self.settings.watch(ctx.bind)

    def subscriptions(self) -> Subscriptions:
        return {
            RTVIEvent.TRANSPORT_STATE_CHANGED: self.on_state,
            RTVIEvent.BOT_READY: self.on_bot_ready,
            RTVIEvent.DISCONNECTED: self.on_disconnected,
            RTVIEvent.BOT_DISCONNECTED: self.on_bot_disconnected,
            RTVIEvent.ERROR: self.on_bot_error,
        }

    def update(self, state: TransportState) -> None:
        enabled = controls.session_controls(state, leaving=self.leaving)
        self.connect_button.disabled = not enabled.connect
        self.settings.transport_input.disabled = not enabled.transport
        self.settings.lock(not enabled.transport)
        self.disconnect_button.disabled = not enabled.disconnect
        self.leave_button.disabled = not enabled.leave

    # --- the session's lifecycle ---------------------------------------------------------------

    def apply_transport(self) -> None:
        """Between sessions: the client uses the transport the picker names from now on."""
        kind = self.settings.transport_kind()
        if kind != self.transport_kind and self.client.state in IDLE_STATES:
            self.client.set_transport(build_transport(kind))
            self.transport_kind = kind

    async def connect(self) -> None:
        client = self.client
        if client.state not in IDLE_STATES:
            return
        self.banner.hide()
        start: StartEndpoint | None = None
        if self.settings.mode() == "start":
            try:
                start = self.settings.start_request()
            except SettingsError as exc:  # nothing is sent
                self.banner.show(start_endpoint.settings_problem(exc))
                return
        self.settings.apply(client)
        self.apply_transport()
        self.ctx.begin_session()
        self.connect_started = now_ms()
        set_text(self.connect_time, "…")
        self.connect_button.disabled = True
        self.disconnect_button.disabled = False
        self.leaving = False
        request_data = client.params.request_data
        if start is None and self.transport_kind == "websocket":  # a WebSocket session
            request_data["transport"] = "websocket"
        try:
            if start is None:
                self.log(
                    "connect()",
                    {"base_url": client.params.base_url, "transport": self.transport_kind},
                    kind="call",
                )
                await client.connect()
            else:
                self.log(
                    "start_bot_and_connect()",
                    {
                        "endpoint": start_endpoint.public_url(start.url),
                        "transport": self.transport_kind,
                        "headers": start_endpoint.field_names(start.headers),  # names only
                    },
                    kind="call",
                )
                await client.start_bot_and_connect(start.url, start.body, start.headers)
        except Exception as exc:
            logger.warning("connect failed: %r", exc)
            if isinstance(exc, AbortError) and self.leaving:
                set_text(self.connect_time, "cancelled")
            else:
                self.report_failure(exc, start)
                set_text(self.connect_time, "failed")
            self.ctx.refresh()
        finally:
            request_data.pop("transport", None)  # only the connect request carries it

    def report_failure(self, exc: BaseException, start: StartEndpoint | None) -> None:
        """A failed connect's banner; a failed start request says what to check about it."""
        problem = None
        if start is not None:
            problem = start_endpoint.start_problem(exc, start.url, page_origin())
        if problem is not None:
            self.banner.show(problem)
        else:
            self.ctx.report(exc)

    async def disconnect(self) -> None:
        self.leaving = True
        self.log("disconnect()", None, kind="call")
        self.disconnect_button.disabled = True
        await self.client.disconnect()
        self.ctx.refresh()

    async def ask_bot_to_leave(self) -> None:
        self.leaving = True  # asked for: the bot leaving is no surprise
        self.log("disconnect_bot()", None, kind="call")
        self.leave_button.disabled = True
        try:
            self.client.disconnect_bot()
        except Exception as exc:
            self.leaving = False
            self.ctx.report(exc)
            self.ctx.refresh()

    # --- what the client reports ---------------------------------------------------------------

    def on_state(self, state: Any) -> None:
        self.state.dataset.state = str(state)
        set_text(self.state, str(state))
        self.ctx.refresh()

    def on_bot_ready(self, data: Any) -> None:
        version = data.get("version") if isinstance(data, dict) else None
        self.ready.dataset.ready = "true"
        set_text(self.ready, "ready")
        set_text(self.version, f"RTVI {version}" if version else "unknown")
        if self.connect_started is not None:
            set_text(self.connect_time, model.format_ms(now_ms() - self.connect_started))
        self.ctx.refresh()

    def on_bot_disconnected(self, *_args: Any) -> None:
        # A banner already up (e.g. the fatal "connection lost" error) says more: keep it.
        if not self.leaving and self.client.state not in IDLE_STATES and not self.banner.shown:
            self.banner.show(model.BOT_LEFT)

    def on_disconnected(self) -> None:
        self.ready.dataset.ready = "false"
        set_text(self.ready, "not ready")
        self.ctx.refresh()

    def on_bot_error(self, message: Any) -> None:
        idle = self.client.state in IDLE_STATES
        problem = model.bot_error_problem(getattr(message, "data", message), idle=idle)
        if problem is not None:
            self.banner.show(problem)
