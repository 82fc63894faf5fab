"""The connection settings (under *Connection settings* in the session panel) and the
transport they name. Read at each connect, and before an action over HTTP."""

from __future__ import annotations

import js  # type: ignore[import-not-found]
from rtvi import RTVIClient, Transport
from rtvi.transports.small_webrtc import SmallWebRTCTransport

from . import controls
from .dom import by_id


def server_url() -> str:
    """The server that served this page: its origin and the path it is mounted at."""
    base = js.document.documentElement.getAttribute("data-pyrtvi-base")
    return str(js.location.origin) + str(base or "")


class ConnectionSettings:
    """The transport picker, server URL, timeout and "mic on at start" fields."""

    def __init__(self) -> None:
        self.base_url_input = by_id("base-url")
        self.timeout_input = by_id("timeout")
        self.start_mic = by_id("start-mic")
        self.transport_input = by_id("transport-kind")
        if not str(self.base_url_input.value).strip():  # boot.js filled it (or the person did)
            self.base_url_input.value = server_url()

    def base_url(self) -> str:
        return controls.parse_base_url(self.base_url_input.value, server_url())

    def timeout(self) -> float | None:
        """The timeout in seconds; ``None`` (no timeout) when empty, zero or not a number."""
        return controls.parse_timeout(self.timeout_input.value)

    def transport_kind(self) -> str:
        """The picked transport: ``"webrtc"`` (the default) or ``"websocket"``."""
        return controls.parse_transport_kind(self.transport_input.value)

    @property
    def mic_at_start(self) -> bool:
        return bool(self.start_mic.checked)

    @mic_at_start.setter
    def mic_at_start(self, on: bool) -> None:
        self.start_mic.checked = on

    def apply(self, client: RTVIClient) -> None:
        """The client uses the server URL and timeout as they are now in the form."""
        client.params.base_url = self.base_url()
        client.timeout = self.timeout()


def build_transport(kind: str) -> Transport:
    """The transport the picker names, playing the bot in the page's ``#bot-audio``."""
    if kind == "websocket":
        from rtvi.transports.websocket.transport import WebSocketTransport

        return WebSocketTransport(audio_element=by_id("bot-audio"))
    return SmallWebRTCTransport(audio_element=by_id("bot-audio"))
