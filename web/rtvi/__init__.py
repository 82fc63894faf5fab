"""pyrtvi: an RTVI client (the realtime-ai 0.2 ``RTVIClient`` API) for Pyodide and CPython.

    from rtvi import RTVIClient, RTVIEvent
    from rtvi.transports import MemoryTransport, FakeBot

The core is I/O-injected, httpx style: the protocol rules are pure modules (``messages``,
``routing``, ``state``), the pipe is a ``Transport`` and HTTP an ``HTTPAdapter``, both handed
to the client. Nothing in the core imports ``js``.
"""

from __future__ import annotations

from ._version import RTVI_PROTOCOL_VERSION, __version__
from .abort import AbortController, AbortSignal
from .client import CustomConnectHandler, RTVIClient
from .config import ConfigOption, ServiceConfig
from .errors import (
    AbortError,
    ActionEndpointError,
    ActionEndpointNotSetError,
    BotAlreadyStartedError,
    BotNotReadyError,
    ConfigUpdateError,
    ConnectionTimeoutError,
    DeviceError,
    ErrorResponse,
    InvalidMessageError,
    InvalidTransportParamsError,
    MessageTooLargeError,
    RequestCancelledError,
    RequestTimeoutError,
    RTVIError,
    RTVIMessageError,
    StartBotError,
    TransportNotConnectedError,
    TransportStartError,
    TransportStateError,
    UnsupportedFeatureError,
)
from .events import CALLBACK_EVENTS, RTVIEvent
from .features import Feature
from .helpers import FunctionCallParams, LLMActionType, LLMHelper, RTVIClientHelper
from .http.base import BufferedHTTPResponse, HTTPAdapter, HTTPError, HTTPResponse
from .log import LogLevel
from .media_state import DeviceStatus, MediaState
from .messages import MESSAGE_LABEL, BotReady, MessageType, RTVIMessage
from .params import Endpoints, RTVIClientParams
from .start import FileUploadError
from .state import TransportState
from .transport import (
    BotTracks,
    DeviceInfo,
    LocalTracks,
    MessageHandler,
    Participant,
    Tracks,
    Transport,
    TransportCallbacks,
    TransportOptions,
)

__all__ = [
    "CALLBACK_EVENTS",
    "MESSAGE_LABEL",
    "RTVI_PROTOCOL_VERSION",
    "AbortController",
    "AbortError",
    "AbortSignal",
    "ActionEndpointError",
    "ActionEndpointNotSetError",
    "BotAlreadyStartedError",
    "BotNotReadyError",
    "BotReady",
    "BotTracks",
    "BufferedHTTPResponse",
    "ConfigOption",
    "ConfigUpdateError",
    "ConnectionTimeoutError",
    "CustomConnectHandler",
    "DeviceError",
    "DeviceInfo",
    "DeviceStatus",
    "Endpoints",
    "ErrorResponse",
    "Feature",
    "FileUploadError",
    "FunctionCallParams",
    "HTTPAdapter",
    "HTTPError",
    "HTTPResponse",
    "InvalidMessageError",
    "InvalidTransportParamsError",
    "LLMActionType",
    "LLMHelper",
    "LocalTracks",
    "LogLevel",
    "MediaState",
    "MessageHandler",
    "MessageTooLargeError",
    "MessageType",
    "Participant",
    "RTVIClient",
    "RTVIClientHelper",
    "RTVIClientParams",
    "RTVIError",
    "RTVIEvent",
    "RTVIMessage",
    "RTVIMessageError",
    "RequestCancelledError",
    "RequestTimeoutError",
    "ServiceConfig",
    "StartBotError",
    "Tracks",
    "Transport",
    "TransportCallbacks",
    "TransportNotConnectedError",
    "TransportOptions",
    "TransportStartError",
    "TransportState",
    "TransportStateError",
    "UnsupportedFeatureError",
    "__version__",
]
