"""Typed errors. Every failure of the client surfaces as a subclass of :class:`RTVIError`.

The first block mirrors the JS client's classes (same names, same default messages); the second
block is what pyrtvi adds so that no request is ever left pending: a reply that never comes is a
:class:`RequestTimeoutError`, an ``error-response`` is an :class:`ErrorResponse`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .messages import RTVIMessage


class RTVIError(Exception):
    """Base class of every pyrtvi error. ``status`` is an HTTP-like code when one applies."""

    default_message = "RTVI error"

    def __init__(self, message: str | None = None, status: int | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.status = status
        super().__init__(self.message)


class ConnectionTimeoutError(RTVIError):
    """``connect()`` did not receive ``bot-ready`` within the client's ``timeout``."""

    default_message = "Bot did not enter ready state within the specified timeout period."


class StartBotError(RTVIError):
    """The connect (start bot) request failed: non-2xx reply, network error or bad reply body."""

    default_message = "Failed to start the bot"

    def __init__(
        self,
        message: str | None = None,
        status: int | None = 500,
        error: str = "invalid-request-error",
    ) -> None:
        super().__init__(message, status)
        self.error = error


class TransportStartError(RTVIError):
    """The transport could not connect (join failure, rejected offer, missing URL...)."""

    default_message = "Unable to connect to transport"


class InvalidTransportParamsError(RTVIError, ValueError, TypeError):
    """``connect(transport_params)`` or ``start_bot(request)`` got something the transport
    cannot use (not a mapping, URL or APIRequest; a relative URL...). Also a ``ValueError`` and a
    ``TypeError``, what pyrtvi raised for these before."""

    default_message = "Invalid transport connection parameters"


#: client-js ``DeviceErrorType``: why a device could not be opened.
DEVICE_ERROR_TYPES = (
    "in-use",
    "permissions",
    "undefined-mediadevices",
    "not-found",
    "constraints",
    "unknown",
)

#: client-js's ``DeviceErrorType`` → ``DeviceErrorReason`` (the words ``media_state`` uses).
DEVICE_ERROR_REASONS = {
    "in-use": "already-in-use",
    "permissions": "blocked",
    "not-found": "not-found",
    "undefined-mediadevices": "not-supported",
    "constraints": "invalid-constraints",
    "unknown": "unknown",
}


class DeviceError(RTVIError):
    """A microphone or camera could not be opened (client-js ``DeviceError``).

    ``devices``: the affected ones (``"mic"``, ``"cam"``, ``"speaker"``); ``type``: one of
    :data:`DEVICE_ERROR_TYPES`; ``reason``: the same in ``media_state`` words (``"blocked"``,
    ``"already-in-use"``, ``"not-found"``...); ``details``: e.g. the browser's error name.
    """

    default_message = "Device error"

    def __init__(
        self,
        devices: Sequence[str],
        type: str,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        if type not in DEVICE_ERROR_TYPES:
            raise ValueError(f"unknown device error type {type!r}")
        super().__init__(message)
        self.devices = list(devices)
        self.type = type
        self.details = dict(details) if details is not None else None

    @property
    def reason(self) -> str:
        """The ``media_state`` reason: ``"blocked"``, ``"already-in-use"``, ``"not-found"``,
        ``"invalid-constraints"``, ``"not-supported"`` or ``"unknown"``."""
        return DEVICE_ERROR_REASONS[self.type]


class TransportNotConnectedError(RTVIError):
    """A message was sent while the transport's pipe is not open (e.g. during a reconnect).

    One class for every transport; the message names the pipe (data channel, WebSocket).
    """

    default_message = "The transport is not connected"


class BotNotReadyError(RTVIError):
    """A method that needs a ready session was called in another state."""

    default_message = "Attempt to call action on transport when not in 'ready' state."


class BotAlreadyStartedError(RTVIError):
    """``connect()`` was called while a connect is in progress or established."""

    default_message = (
        "Voice client has already been started. Please call disconnect() before starting again."
    )


class ConfigUpdateError(RTVIError):
    """The bot refused a configuration update."""

    default_message = "Unable to update configuration"

    def __init__(self, message: str | None = None, status: int | None = 400) -> None:
        super().__init__(message, status)


class ActionEndpointNotSetError(RTVIError):
    """A disconnected ``action()`` was attempted but ``params.endpoints.action`` is ``None``."""

    default_message = "Action endpoint is not set"


class MessageTooLargeError(RTVIError):
    """An outgoing message is larger than the transport's ``max_message_size``."""

    default_message = "Message data too large"

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(f"Message of {size} bytes exceeds the transport limit of {max_size} bytes")
        self.size = size
        self.max_size = max_size


class UnsupportedFeatureError(RTVIError):
    """The bot (or the transport) does not support what was asked.

    Raised e.g. when a pipecat ≥ 1.0 bot answers a config/action request with
    ``error-response "Unsupported type ..."``, or a transport has no screen share.
    """

    def __init__(self, feature: str, source: str | None = None, detail: str | None = None) -> None:
        text = f"{feature} is not supported"
        if source:
            text += f" by {source}"
        if detail:
            text += f": {detail}"
        super().__init__(text)
        self.feature = feature
        self.source = source
        self.detail = detail


# --- pyrtvi additions -------------------------------------------------------------------------


class InvalidMessageError(RTVIError):
    """An inbound message is not a valid RTVI envelope (bad JSON, wrong shape...)."""

    default_message = "Invalid RTVI message"

    def __init__(self, message: str | None = None, raw: Any = None) -> None:
        super().__init__(message)
        self.raw = raw


class RTVIMessageError(RTVIError):
    """A request failed with a message from the bot; ``rtvi_message`` is that message."""

    def __init__(self, message: str, rtvi_message: RTVIMessage | None = None) -> None:
        super().__init__(message)
        self.rtvi_message = rtvi_message


class ErrorResponse(RTVIMessageError):
    """The bot answered a request with ``error-response``; ``error`` is its text."""

    def __init__(self, rtvi_message: RTVIMessage) -> None:
        self.error = error_text(rtvi_message.data)
        super().__init__(self.error or "error-response", rtvi_message)


class RequestTimeoutError(RTVIError):
    """No reply arrived for a request within its timeout."""

    def __init__(self, request_type: str, request_id: str, timeout: float) -> None:
        super().__init__(
            f"Timed out after {timeout:g} s waiting for a reply to {request_type!r} (id {request_id})"
        )
        self.request_type = request_type
        self.request_id = request_id
        self.timeout = timeout


class RequestCancelledError(RTVIError):
    """A pending request was dropped because the session ended (disconnect)."""

    default_message = "Request cancelled: the client disconnected"


class AbortError(RTVIError):
    """The operation was aborted, e.g. ``disconnect()`` during ``connect()``."""

    default_message = "The operation was aborted"


class TransportStateError(RTVIError):
    """A transport tried a state move that is not in :data:`rtvi.state.TRANSITIONS`.

    A bug in the transport (or a call in the wrong order, e.g. ``init_devices()`` while
    connected): the state is left unchanged.
    """

    def __init__(self, old: str, new: str, allowed: Iterable[str] = ()) -> None:
        targets = ", ".join(str(s) for s in allowed) or "nothing"
        super().__init__(f"illegal transport state change {old} -> {new} (from {old}: {targets})")
        self.old = old
        self.new = new


class ActionEndpointError(RTVIError):
    """The disconnected action endpoint answered with an error or an unusable body."""

    default_message = "Action endpoint returned an error response"


#: Keys that carry an error's human text, in the order they are tried: RTVI/Pipecat (``error``),
#: the JS client and RTVI 1.0 docs (``message``), FastAPI/Starlette (``detail``), Pipecat's HTTP
#: endpoints (``info``).
ERROR_TEXT_KEYS = ("error", "message", "detail", "info")

#: The order for the body of a failed HTTP request to a bot-starting endpoint, as the JS client
#: reads it: ``info`` then ``detail`` describe the failure, while ``error`` there is often only a
#: code (``{"error": "invalid-request-error", "info": "..."}``).
HTTP_ERROR_TEXT_KEYS = ("info", "detail", "error", "message")


def error_text(data: Any, limit: int = 300, keys: Sequence[str] = ERROR_TEXT_KEYS) -> str:
    """The human text of an error payload or an HTTP error body, at most ``limit`` characters.

    ``data`` may be a decoded payload (a mapping, e.g. an ``error``/``error-response`` message's
    data), the text or bytes of an HTTP body (a JSON object is looked into, anything else is used
    as plain text), or None. The first of ``keys`` (:data:`ERROR_TEXT_KEYS` unless given) with a
    value wins (an ``error`` with a ``detail`` beside it reads "error: detail"); a value that is
    not a string is shown as JSON. Returns ``""`` when there is nothing to show.

    The one place where the client, the transports, the server and the page turn error bodies
    into text.
    """
    if isinstance(data, bytes | bytearray):
        data = bytes(data).decode("utf-8", errors="replace")
    if isinstance(data, str):
        text = data.strip()
        if not text.startswith("{"):
            return text[:limit]
        try:
            data = json.loads(text)
        except ValueError:
            return text[:limit]
    if isinstance(data, Mapping):
        for key in keys:
            text = _value_text(data.get(key))
            if not text:
                continue
            detail = _value_text(data.get("detail")) if key == "error" else ""
            if detail and detail != text:
                # pyrtvi's server answers `{"error": <short>, "detail": <why>}`: both are worth reading.
                text = f"{text}: {detail}"
            return text[:limit]
    return ""


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value) if value else ""
