"""The connection settings (under *Connection settings* in the session panel) and the
transport they name. Read at each connect, and before an action over HTTP.

The bot is the page's server's (``connect()`` through its ``/connect``), or, in the "start
endpoint" mode, any bot by its start URL (``start_bot_and_connect``; the fields' rules are in
:mod:`.start_endpoint`)."""

from __future__ import annotations

from typing import Any

import js  # type: ignore[import-not-found]
from rtvi import RTVIClient, Transport
from rtvi.transports.small_webrtc import SmallWebRTCTransport

from . import controls, start_endpoint
from .dom import Bindings, by_id, set_text
from .start_endpoint import SettingsError, StartEndpoint


def page_origin() -> str:
    """This page's origin (what a start endpoint's CORS answer must allow)."""
    return str(js.location.origin)


def server_url() -> str:
    """The server that served this page: its origin and the path it is mounted at."""
    base = js.document.documentElement.getAttribute("data-pyrtvi-base")
    return str(js.location.origin) + str(base or "")


class ConnectionSettings:
    """The transport picker, server URL, timeout and "mic on at start" fields, and the bot
    picker with the start endpoint's URL, body and headers."""

    def __init__(self) -> None:
        self.base_url_input = by_id("base-url")
        self.timeout_input = by_id("timeout")
        self.start_mic = by_id("start-mic")
        self.transport_input = by_id("transport-kind")
        self.mode_input = by_id("connect-mode")
        self.start_url_input = by_id("start-url")
        self.start_body_input = by_id("start-body")
        self.start_headers_input = by_id("start-headers")
        if not str(self.base_url_input.value).strip():  # boot.js filled it (or the person did)
            self.base_url_input.value = server_url()

    def watch(self, bind: Bindings) -> None:
        """Check the body and headers as they are typed (their status lines say what is wrong)."""
        for element in (self.start_body_input, self.start_headers_input):
            bind.on(element, "input", lambda _e, el=element: self._check(el))
            self._check(element)

    def _check(self, element: Any) -> None:
        self._mark(element, start_endpoint.field_status(str(element.id), element.value))

    def _mark(self, element: object, problem: str) -> None:
        """``problem`` in the field's status line ('' clears it); ``aria-invalid`` follows."""
        field: Any = element
        status = by_id(f"{field.id}-status")
        set_text(status, problem)
        status.dataset.status = "error" if problem else ""
        field.setAttribute("aria-invalid", "true" if problem else "false")

    def mode(self) -> str:
        """``"server"`` (this server's bot) or ``"start"`` (a start endpoint)."""
        return start_endpoint.parse_mode(self.mode_input.value)

    def start_request(self) -> StartEndpoint:
        """The start endpoint's fields as one request; raises :class:`SettingsError` (and says
        so in the field's status line, focused) when one cannot be used."""
        try:
            return start_endpoint.read_start(
                self.start_url_input.value,
                self.start_body_input.value,
                self.start_headers_input.value,
                transport=self.transport_kind(),
            )
        except SettingsError as exc:
            field = by_id(exc.field)
            if exc.field != "start-url":
                self._mark(field, exc.message)
            field.focus()
            raise

    def endpoint(self) -> str:
        """Where the bot is started: the start URL in that mode, else the server URL."""
        if self.mode() == "start":
            return str(self.start_url_input.value).strip()
        return self.base_url()

    def lock(self, locked: bool) -> None:
        """The bot picker and the start fields change between sessions only."""
        for element in (
            self.mode_input,
            self.start_url_input,
            self.start_body_input,
            self.start_headers_input,
        ):
            element.disabled = locked

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
