"""The session panel: Connect/Disconnect/Ask the bot to leave, the connection settings, and the
transport state, bot-ready and timing pills."""

from __future__ import annotations

from typing import Any

import js  # type: ignore[import-not-found]
from rtvi import TransportState

from .dom import by_id, set_text

IDLE_STATES = frozenset({TransportState.DISCONNECTED, TransportState.ERROR})

#: The transport picker's values.
TRANSPORT_KINDS = ("webrtc", "websocket")


def server_url() -> str:
    """The server that served this page: its origin and the path it is mounted at."""
    base = js.document.documentElement.getAttribute("data-pyrtvi-base")
    return str(js.location.origin) + str(base or "")


class SessionPanel:
    def __init__(self) -> None:
        self.connect = by_id("connect")
        self.disconnect = by_id("disconnect")
        self.leave = by_id("bot-leave")
        self.state = by_id("transport-state")
        self.ready = by_id("bot-ready")
        self.version = by_id("bot-version")
        self.connect_time = by_id("connect-time")
        self.base_url_input = by_id("base-url")
        self.timeout_input = by_id("timeout")
        self.start_mic = by_id("start-mic")
        self.transport_input = by_id("transport-kind")
        self.base_url_input.value = server_url()

    # --- settings ------------------------------------------------------------------------------

    def base_url(self) -> str:
        return str(self.base_url_input.value).strip() or server_url()

    def timeout(self) -> float | None:
        """The timeout field in seconds; ``None`` (no timeout) when empty, zero or not a number."""
        try:
            value = float(self.timeout_input.value)
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None

    def transport_kind(self) -> str:
        """The picked transport: ``"webrtc"`` (the default) or ``"websocket"``."""
        value = str(self.transport_input.value)
        return value if value in TRANSPORT_KINDS else "webrtc"

    @property
    def mic_at_start(self) -> bool:
        return bool(self.start_mic.checked)

    @mic_at_start.setter
    def mic_at_start(self, on: bool) -> None:
        self.start_mic.checked = on

    # --- what the session is doing -------------------------------------------------------------

    def show_connecting(self) -> None:
        set_text(self.connect_time, "…")
        self.connect.disabled = True
        self.disconnect.disabled = False

    def show_connect_time(self, text: str) -> None:
        set_text(self.connect_time, text)

    def show_state(self, state: Any) -> None:
        self.state.dataset.state = str(state)
        set_text(self.state, str(state))

    def show_ready(self, version: str | None) -> None:
        self.ready.dataset.ready = "true"
        set_text(self.ready, "ready")
        set_text(self.version, f"RTVI {version}" if version else "unknown")

    def show_not_ready(self) -> None:
        self.ready.dataset.ready = "false"
        set_text(self.ready, "not ready")

    def disable_disconnect(self) -> None:
        self.disconnect.disabled = True

    def disable_leave(self) -> None:
        self.leave.disabled = True

    def update_buttons(self, state: TransportState, *, leaving: bool) -> None:
        idle = state in IDLE_STATES
        self.connect.disabled = not idle
        self.transport_input.disabled = not idle  # the transport changes between sessions only
        self.disconnect.disabled = idle or state == TransportState.DISCONNECTING
        self.leave.disabled = state != TransportState.READY or leaving
