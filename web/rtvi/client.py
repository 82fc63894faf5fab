"""``RTVIClient``: the realtime-ai 0.2 client API, in Python.

The client owns the protocol: the connect flow (auth request → transport → ``client-ready`` →
``bot-ready``), request/reply correlation, event dispatch, config/action/helper APIs and the
RTVI 1.x message types. Everything that touches the network is delegated to a
:class:`~rtvi.transport.Transport` and an :class:`~rtvi.http.base.HTTPAdapter`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import platform
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from . import config as config_helpers
from . import messages as m
from ._version import RTVI_PROTOCOL_VERSION, __version__
from .abort import AbortController, AbortSignal
from .dispatcher import DEFAULT_REQUEST_TIMEOUT, Dispatcher, is_unsupported_type
from .errors import (
    AbortError,
    ActionEndpointError,
    ActionEndpointNotSetError,
    BotAlreadyStartedError,
    BotNotReadyError,
    ConfigUpdateError,
    ConnectionTimeoutError,
    ErrorResponse,
    InvalidMessageError,
    MessageTooLargeError,
    RequestCancelledError,
    RTVIError,
    RTVIMessageError,
    StartBotError,
    TransportStartError,
    UnsupportedFeatureError,
    error_text,
)
from .events import CALLBACK_EVENTS, EventEmitter, Handler, call_handler, normalize_callbacks
from .helpers.base import RTVIClientHelper
from .helpers.llm import FunctionCallHandler, FunctionCallParams
from .http.base import HTTPAdapter, HTTPError, HTTPResponse
from .log import LogLevel, set_log_level
from .messages import MessageType, RTVIMessage
from .params import RTVIClientParams
from .sse import SSEParser, decode_event_data
from .state import CONNECTED_STATES, STARTED_STATES, TransportState
from .transport import (
    DeviceInfo,
    Participant,
    Tracks,
    Transport,
    TransportCallbacks,
    TransportOptions,
)

logger = logging.getLogger("rtvi")

H = TypeVar("H", bound=Callable[..., Any])

#: ``(params, timeout, abort_signal) -> auth bundle`` (sync or async).
CustomConnectHandler = Callable[[RTVIClientParams, "float | None", AbortSignal], Any]

#: Events with a fixed payload: message type → (callback, pass ``data``?).
_SIMPLE_ROUTES: dict[str, tuple[str, bool]] = {
    MessageType.USER_STARTED_SPEAKING: ("on_user_started_speaking", False),
    MessageType.USER_STOPPED_SPEAKING: ("on_user_stopped_speaking", False),
    MessageType.BOT_STARTED_SPEAKING: ("on_bot_started_speaking", False),
    MessageType.BOT_STOPPED_SPEAKING: ("on_bot_stopped_speaking", False),
    MessageType.USER_MUTE_STARTED: ("on_user_mute_started", False),
    MessageType.USER_MUTE_STOPPED: ("on_user_mute_stopped", False),
    MessageType.USER_TRANSCRIPTION: ("on_user_transcript", True),
    MessageType.BOT_TRANSCRIPTION: ("on_bot_transcript", True),
    MessageType.BOT_OUTPUT: ("on_bot_output", True),
    MessageType.USER_LLM_TEXT: ("on_user_llm_text", True),
    MessageType.BOT_LLM_STARTED: ("on_bot_llm_started", False),
    MessageType.BOT_LLM_STOPPED: ("on_bot_llm_stopped", False),
    MessageType.BOT_TTS_TEXT: ("on_bot_tts_text", True),
    MessageType.BOT_TTS_STARTED: ("on_bot_tts_started", False),
    MessageType.BOT_TTS_STOPPED: ("on_bot_tts_stopped", False),
    MessageType.METRICS: ("on_metrics", True),
    MessageType.SERVER_MESSAGE: ("on_server_message", True),
    MessageType.STORAGE_ITEM_STORED: ("on_storage_item_stored", True),
    MessageType.BOT_LLM_SEARCH_RESPONSE: ("on_bot_llm_search_response", True),
    MessageType.LLM_FUNCTION_CALL_STARTED: ("on_llm_function_call_started", True),
    MessageType.LLM_FUNCTION_CALL_STOPPED: ("on_llm_function_call_stopped", True),
    "ui-command": ("on_ui_command", True),
    "ui-job-group": ("on_ui_job_group", True),
}


def _about() -> dict[str, Any]:
    is_pyodide = sys.platform == "emscripten"
    return {
        "library": "pyrtvi",
        "library_version": __version__,
        "platform": "Pyodide" if is_pyodide else platform.python_implementation(),
        "platform_version": platform.python_version(),
    }


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _swallow(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


@dataclass
class _ConnectAttempt:
    abort: AbortController
    bot_ready: asyncio.Future[Any]
    task: asyncio.Task[Any] | None = None
    interrupted: bool = False
    phase: str = "init"  # init → auth → transport → ready


class _ClientTransportCallbacks(TransportCallbacks):
    """Turns transport reports into user callbacks + events (and client bookkeeping)."""

    def __init__(self, client: RTVIClient) -> None:
        self._client = client

    def on_transport_state_changed(self, state: TransportState) -> None:
        self._client._on_transport_state(state)

    def on_connected(self) -> None:
        self._client._fire("on_connected")

    def on_disconnected(self) -> None:
        self._client._fire("on_disconnected")

    def on_bot_connected(self, participant: Participant) -> None:
        self._client._fire("on_bot_connected", participant)

    def on_bot_disconnected(self, participant: Participant) -> None:
        self._client._fire("on_bot_disconnected", participant)

    def on_participant_joined(self, participant: Participant) -> None:
        self._client._fire("on_participant_joined", participant)

    def on_participant_left(self, participant: Participant) -> None:
        self._client._fire("on_participant_left", participant)

    def on_track_started(self, track: Any, participant: Participant | None = None) -> None:
        self._client._fire("on_track_started", track, participant)

    def on_track_stopped(self, track: Any, participant: Participant | None = None) -> None:
        self._client._fire("on_track_stopped", track, participant)

    def on_screen_track_started(self, track: Any, participant: Participant | None = None) -> None:
        self._client._fire("on_screen_track_started", track, participant)

    def on_screen_track_stopped(self, track: Any, participant: Participant | None = None) -> None:
        self._client._fire("on_screen_track_stopped", track, participant)

    def on_screen_share_error(self, message: str) -> None:
        self._client._fire("on_screen_share_error", message)

    def on_local_audio_level(self, level: float) -> None:
        self._client._fire("on_local_audio_level", level)

    def on_remote_audio_level(self, level: float, participant: Participant) -> None:
        self._client._fire("on_remote_audio_level", level, participant)

    def on_available_mics_updated(self, devices: list[DeviceInfo]) -> None:
        self._client._fire("on_available_mics_updated", devices)

    def on_available_cams_updated(self, devices: list[DeviceInfo]) -> None:
        self._client._fire("on_available_cams_updated", devices)

    def on_available_speakers_updated(self, devices: list[DeviceInfo]) -> None:
        self._client._fire("on_available_speakers_updated", devices)

    def on_mic_updated(self, device: DeviceInfo) -> None:
        self._client._fire("on_mic_updated", device)

    def on_cam_updated(self, device: DeviceInfo) -> None:
        self._client._fire("on_cam_updated", device)

    def on_speaker_updated(self, device: DeviceInfo) -> None:
        self._client._fire("on_speaker_updated", device)

    def on_device_error(self, error: Exception) -> None:
        self._client._fire("on_device_error", error)

    def on_error(self, message: RTVIMessage) -> None:
        self._client._on_error_message(message)


@dataclass
class _FunctionCalls:
    handlers: dict[str, FunctionCallHandler] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)  # tool_call_ids already answered

    def first_time(self, tool_call_id: str) -> bool:
        if not tool_call_id:
            return True
        if tool_call_id in self.seen:
            return False
        self.seen.append(tool_call_id)
        del self.seen[:-256]
        return True


class RTVIClient:
    """An RTVI client session.

    Args:
        transport: the :class:`~rtvi.transport.Transport` carrying messages and media.
        params: :class:`~rtvi.params.RTVIClientParams` or a mapping of the same keys.
        callbacks: ``{"on_bot_ready": fn, ...}`` (JS ``onBotReady`` spellings accepted) or an
            object with ``on_*`` methods. Each callback also emits its ``RTVIEvent``.
        timeout: seconds; bounds the whole ``connect()`` until ``bot-ready``.
        enable_mic, enable_cam: initial media flags passed to the transport.
        custom_connect_handler: ``(params, timeout, abort_signal)`` → auth bundle; replaces
            the connect POST.
        http: the HTTP adapter (default: ``fetch`` in Pyodide, asyncio streams in CPython).
        request_timeout: default timeout (seconds) of every request to the bot.
    """

    def __init__(
        self,
        transport: Transport,
        params: RTVIClientParams | Mapping[str, Any] | None = None,
        callbacks: Mapping[str, Handler] | object | None = None,
        timeout: float | None = None,
        enable_mic: bool = True,
        enable_cam: bool = False,
        custom_connect_handler: CustomConnectHandler | None = None,
        *,
        http: HTTPAdapter | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        if not isinstance(transport, Transport):
            raise TypeError(f"transport must be a rtvi.Transport, got {type(transport).__name__}")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.params = RTVIClientParams.coerce(params)
        self.timeout = timeout
        self.custom_connect_handler = custom_connect_handler
        self._callbacks = normalize_callbacks(callbacks)
        self._emitter = EventEmitter()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dispatcher = Dispatcher(request_timeout)
        self._helpers: dict[str, RTVIClientHelper] = {}
        self._functions = _FunctionCalls()
        self._attempt: _ConnectAttempt | None = None
        self._bot_ready_data: Any = None
        self._bot_version: tuple[int, ...] | None = None
        if http is None:
            from .http import default_adapter

            http = default_adapter()
        self._http: HTTPAdapter = http
        self._transport = transport
        transport.initialize(
            TransportOptions(
                params=self.params,
                callbacks=_ClientTransportCallbacks(self),
                enable_mic=enable_mic,
                enable_cam=enable_cam,
                http=http,
            ),
            self._handle_message,
        )

    # ==========================================================================================
    # properties
    # ==========================================================================================

    @property
    def version(self) -> str:
        """The client library version (sent as ``rtvi_client_version``)."""
        return __version__

    @property
    def protocol_version(self) -> str:
        """The RTVI protocol version announced in ``client-ready``."""
        return RTVI_PROTOCOL_VERSION

    @property
    def state(self) -> TransportState:
        return self._transport.state

    @property
    def connected(self) -> bool:
        """True in the ``connected`` and ``ready`` states."""
        return self._transport.state in CONNECTED_STATES

    @property
    def transport(self) -> Transport:
        """The transport. Drive the lifecycle through the client, not through this object."""
        return self._transport

    @property
    def http(self) -> HTTPAdapter:
        return self._http

    @property
    def bot_ready_data(self) -> Any:
        """The ``data`` of the last ``bot-ready`` (``{"version", ...}``), or ``None``."""
        return self._bot_ready_data

    @property
    def bot_version(self) -> tuple[int, ...] | None:
        """The bot's RTVI protocol version from ``bot-ready``, e.g. ``(1, 2, 0)``."""
        return self._bot_version

    @property
    def transport_expiry(self) -> float | None:
        if self.state not in CONNECTED_STATES:
            raise BotNotReadyError()
        return self._transport.expiry

    @staticmethod
    def set_log_level(level: LogLevel | int) -> None:
        set_log_level(level)

    def construct_url(self, endpoint: str) -> str:
        """``base_url`` (trailing ``/`` stripped) + ``endpoints[endpoint]``."""
        if endpoint not in ("connect", "action"):
            raise ValueError(f"unknown endpoint {endpoint!r} (expected 'connect' or 'action')")
        path = self.params.endpoints[endpoint]
        if path is None:
            if endpoint == "action":
                raise ActionEndpointNotSetError()
            raise RTVIError("Connect endpoint is not set")
        if path.startswith(("http://", "https://")):
            return path
        if not self.params.base_url:
            raise RTVIError("Base URL not set. Please set params.base_url")
        return self.params.base_url.rstrip("/") + path

    # ==========================================================================================
    # events
    # ==========================================================================================

    @overload
    def on(self, event: str, handler: None = None) -> Callable[[H], H]: ...

    @overload
    def on(self, event: str, handler: H) -> H: ...

    def on(self, event: str, handler: Handler | None = None) -> Any:
        """Add an event handler (``RTVIEvent`` or its JS name); without one, a decorator."""
        return self._emitter.on(event, handler)

    def once(self, event: str, handler: H) -> H:
        return self._emitter.once(event, handler)

    def off(self, event: str, handler: Handler | None = None) -> None:
        self._emitter.off(event, handler)

    def remove_all_listeners(self, event: str | None = None) -> None:
        self._emitter.remove_all_listeners(event)

    def listener_count(self, event: str) -> int:
        return self._emitter.listener_count(event)

    def _fire(self, callback: str, *args: Any) -> None:
        """Call the user callback, then emit its event. Never raises."""
        handler = self._callbacks.get(callback)
        if handler is not None:
            call_handler(handler, *args, tasks=self._tasks)
        self._emitter.emit(CALLBACK_EVENTS[callback], *args)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._log_task_error)
        return task

    @staticmethod
    def _log_task_error(task: asyncio.Future[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    # ==========================================================================================
    # lifecycle
    # ==========================================================================================

    async def init_devices(self) -> None:
        await self._transport.init_devices()

    async def connect(self) -> Any:
        """Start the bot and connect; returns the ``bot-ready`` data.

        Raises :class:`BotAlreadyStartedError` when a session is starting or running,
        :class:`StartBotError` when the connect request fails, :class:`TransportStartError`
        when the transport cannot connect, :class:`ConnectionTimeoutError` when ``bot-ready``
        has not arrived within ``timeout``, :class:`AbortError` when ``disconnect()`` interrupts.
        """
        attempt = self._attempt
        if (attempt is not None and attempt.task is not None and not attempt.task.done()) or (
            self.state in STARTED_STATES
        ):
            raise BotAlreadyStartedError()
        loop = asyncio.get_running_loop()
        attempt = _ConnectAttempt(AbortController(), loop.create_future())
        attempt.bot_ready.add_done_callback(_swallow)
        self._attempt = attempt
        self._bot_ready_data = None
        self._bot_version = None
        attempt.task = asyncio.ensure_future(self._run_connect(attempt))
        attempt.task.add_done_callback(_swallow)
        try:
            async with asyncio.timeout(self.timeout) as scope:
                return await attempt.task
        except TimeoutError:
            if not scope.expired():
                raise
            await self._abandon(attempt, ConnectionTimeoutError())
            self._transport.state = TransportState.ERROR
            raise ConnectionTimeoutError() from None
        except asyncio.CancelledError:
            if attempt.interrupted and not _being_cancelled():
                raise AbortError("connect() was interrupted by disconnect()") from None
            if not attempt.interrupted:
                # Our caller was cancelled: do not leave a half-open session behind.
                self._spawn(self._abandon(attempt, AbortError("connect() was cancelled")))
            raise

    async def _run_connect(self, attempt: _ConnectAttempt) -> Any:
        transport = self._transport
        signal = attempt.abort.signal
        try:
            if transport.state == TransportState.DISCONNECTED:
                await self._wrap_transport_errors(transport.init_devices())
            attempt.phase = "auth"
            transport.state = TransportState.AUTHENTICATING
            bundle = await self._authenticate(signal)
            signal.throw_if_aborted()
            self._fire("on_bot_started", bundle)
            attempt.phase = "transport"
            await self._wrap_transport_errors(transport.connect(bundle, signal))
            signal.throw_if_aborted()
            ready = m.client_ready(RTVI_PROTOCOL_VERSION, _about())
            self._check_size(ready)
            await self._wrap_transport_errors(transport.send_ready_message(ready))
            attempt.phase = "ready"
            return await attempt.bot_ready
        except asyncio.CancelledError:
            raise
        except Exception:
            if attempt.phase in ("transport", "ready"):
                await self._safe_transport_disconnect()
            transport.state = TransportState.ERROR
            raise

    @staticmethod
    async def _wrap_transport_errors(step: Awaitable[None]) -> None:
        try:
            await step
        except (RTVIError, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise TransportStartError(f"Unable to connect to transport: {exc}") from exc

    async def _abandon(self, attempt: _ConnectAttempt, reason: RTVIError) -> None:
        """Stop an attempt that will not complete and disconnect the transport."""
        attempt.interrupted = True
        attempt.abort.abort(reason)
        task = attempt.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task])
        self._dispatcher.cancel_all(RequestCancelledError())
        await self._safe_transport_disconnect()

    async def _authenticate(self, signal: AbortSignal) -> Any:
        params = self.params
        if self.custom_connect_handler is not None:
            result = self.custom_connect_handler(params, self.timeout, signal)
            if inspect.isawaitable(result):
                result = await result
            return result
        if not params.base_url and not params.endpoints.connect:
            return None  # direct connect: nothing to authenticate against
        url = self.construct_url("connect")
        body = {
            "services": params.services,
            "config": params.config,
            **params.request_data,
            "rtvi_client_version": __version__,
        }
        headers = {"Content-Type": "application/json", **params.headers}
        try:
            response = await self._http.request(
                "POST", url, headers=headers, body=json.dumps(body), abort=signal
            )
        except HTTPError as exc:
            raise StartBotError(f"Connect request to {url} failed: {exc}") from exc
        if not response.ok:
            raise StartBotError(await _error_body_message(response), status=response.status)
        try:
            return await response.json()
        except ValueError:
            raise StartBotError(
                f"Connect endpoint {url} did not return JSON", status=response.status
            ) from None
        except HTTPError as exc:
            raise StartBotError(f"Connect reply from {url} broke off: {exc}") from exc

    async def disconnect(self) -> None:
        """End the session (also cancels an in-flight ``connect()``). Safe to call any time."""
        attempt = self._attempt
        if attempt is not None and attempt.task is not None and not attempt.task.done():
            attempt.interrupted = True
            attempt.abort.abort(AbortError("disconnect() called during connect()"))
            if attempt.task is not asyncio.current_task():
                attempt.task.cancel()
                await asyncio.wait([attempt.task])
        self._dispatcher.cancel_all(RequestCancelledError())
        await self._safe_transport_disconnect()

    async def _safe_transport_disconnect(self) -> None:
        try:
            await self._transport.disconnect()
        except Exception:
            logger.exception("transport.disconnect() failed")

    async def disconnect_bot(self) -> None:
        """Ask the bot to leave (``disconnect-bot``); the session itself stays up."""
        self._send(m.disconnect_bot(), ready=True)

    def _on_transport_state(self, state: TransportState) -> None:
        self._fire("on_transport_state_changed", state)
        if state in (TransportState.DISCONNECTING, TransportState.DISCONNECTED):
            self._dispatcher.cancel_all(
                RequestCancelledError("Request cancelled: transport closed")
            )
        attempt = self._attempt
        if (
            attempt is not None
            and attempt.phase in ("transport", "ready")
            and state
            in (TransportState.DISCONNECTING, TransportState.DISCONNECTED, TransportState.ERROR)
            and not attempt.bot_ready.done()
        ):
            attempt.bot_ready.set_exception(
                TransportStartError(f"The transport went {state} before the bot was ready")
            )

    # ==========================================================================================
    # sending
    # ==========================================================================================

    def _check_size(self, message: RTVIMessage) -> None:
        size = message.byte_size()
        limit = self._transport.max_message_size
        if size > limit:
            raise MessageTooLargeError(size, limit)

    def _send(self, message: RTVIMessage, *, ready: bool = False) -> None:
        if ready and self.state != TransportState.READY:
            raise BotNotReadyError()
        if not ready and not self.connected:
            raise BotNotReadyError("Transport is not connected")
        self._check_size(message)
        self._transport.send_message(message)

    async def _request(
        self, message: RTVIMessage, timeout: float | None = None, *, ready: bool = True
    ) -> RTVIMessage:
        return await self._dispatcher.request(
            message, lambda msg: self._send(msg, ready=ready), timeout
        )

    def send_message(self, message: RTVIMessage) -> None:
        """Send any RTVI message, fire-and-forget (requires ``ready``)."""
        self._send(message, ready=True)

    def send_client_message(self, msg_type: str, data: Any = None) -> None:
        """RTVI 1.x: send ``client-message {t, d}``, fire-and-forget."""
        self._send(m.client_message(msg_type, data), ready=True)

    async def send_client_request(
        self, msg_type: str, data: Any = None, timeout: float | None = None
    ) -> Any:
        """RTVI 1.x: send ``client-message {t, d}`` and return the ``d`` of the bot's
        ``server-response``. An ``error-response`` raises :class:`ErrorResponse` (or
        :class:`UnsupportedFeatureError` from bots without ``client-message``)."""
        reply = await self._request(m.client_message(msg_type, data), timeout)
        return reply.data.get("d") if isinstance(reply.data, dict) else None

    def send_text(
        self,
        content: str,
        *,
        run_immediately: bool | None = None,
        audio_response: bool | None = None,
    ) -> None:
        """RTVI 1.1: send typed user text (``send-text``)."""
        options: dict[str, Any] = {}
        if run_immediately is not None:
            options["run_immediately"] = run_immediately
        if audio_response is not None:
            options["audio_response"] = audio_response
        self._send(m.send_text(content, options), ready=True)

    async def append_to_context(
        self, role: str, content: Any, run_immediately: bool = False
    ) -> Any:
        """RTVI 1.0 (deprecated by ``send_text``): ``append-to-context``; returns its result."""
        message = RTVIMessage(
            MessageType.APPEND_TO_CONTEXT,
            {"role": role, "content": content, "run_immediately": run_immediately},
        )
        reply = await self._request(message)
        return reply.data.get("result") if isinstance(reply.data, dict) else None

    # ==========================================================================================
    # configuration (RTVI 0.x)
    # ==========================================================================================

    async def get_config(self, timeout: float | None = None) -> list[Any]:
        reply = await self._request(m.get_config(), timeout)
        data = reply.data if isinstance(reply.data, dict) else {}
        config = data.get("config")
        return config if isinstance(config, list) else []

    async def update_config(
        self,
        config: Sequence[Mapping[str, Any]],
        interrupt: bool = False,
        timeout: float | None = None,
    ) -> RTVIMessage:
        """Apply ``config`` on the bot; returns the bot's ``config`` reply.

        The bot refusing the update raises :class:`ConfigUpdateError`.
        """
        try:
            reply = await self._request(
                m.update_config([dict(c) for c in config], interrupt), timeout
            )
        except ErrorResponse as exc:
            raise ConfigUpdateError(exc.error or "The bot refused the config update") from exc
        self._fire("on_config_updated", reply.data)
        return reply

    async def describe_config(self, timeout: float | None = None) -> RTVIMessage:
        return await self._request(m.describe_config(), timeout)

    async def get_service_options_from_config(
        self, service_key: str, config: Sequence[Mapping[str, Any]] | None = None
    ) -> Any | None:
        if config is None:
            config = await self.get_config()
        return config_helpers.get_service_options(config, service_key)

    async def get_service_option_value_from_config(
        self, service_key: str, option: str, config: Sequence[Mapping[str, Any]] | None = None
    ) -> Any | None:
        if config is None:
            config = await self.get_config()
        return config_helpers.get_service_option_value(config, service_key, option)

    async def set_service_option_in_config(
        self,
        service_key: str,
        option: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        config: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[Any]:
        if config is None:
            config = await self.get_config()
        return config_helpers.set_service_option(config, service_key, option)

    async def set_config_options(
        self,
        config_options: Sequence[Mapping[str, Any]],
        config: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[Any]:
        if config is None:
            config = await self.get_config()
        return config_helpers.set_config_options(config, config_options)

    # ==========================================================================================
    # actions (RTVI 0.x)
    # ==========================================================================================

    async def describe_actions(self, timeout: float | None = None) -> RTVIMessage:
        return await self._request(m.describe_actions(), timeout)

    async def action(
        self,
        service: str | Mapping[str, Any],
        action: str | None = None,
        arguments: Sequence[Mapping[str, Any]] | None = None,
        *,
        timeout: float | None = None,
    ) -> RTVIMessage:
        """Run ``service:action``; returns the ``action-response`` message (``data.result``).

        Connected: over the transport. Otherwise a *disconnected action*: POST to the action
        endpoint, reading a ``text/event-stream`` reply incrementally (every event is handled
        as an inbound message) or a single JSON message.
        """
        name: Any = service
        if isinstance(service, Mapping):
            name, action = service.get("service"), service.get("action")
            arguments = service.get("arguments")
        if not isinstance(name, str) or not name or not isinstance(action, str) or not action:
            raise ValueError("action() needs a service and an action name")
        message = m.action(name, action, list(arguments or []))
        if self.connected:
            return await self._request(message, timeout, ready=False)
        return await self._http_action(message, timeout)

    async def _http_action(self, message: RTVIMessage, timeout: float | None) -> RTVIMessage:
        params = self.params
        if params.endpoints.action is None:
            raise ActionEndpointNotSetError()
        url = self.construct_url("action")
        body = {**params.request_data, "actions": [message.to_dict()]}
        headers = dict(params.headers)
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        headers.setdefault("Cache-Control", "no-cache")
        headers.setdefault("Connection", "keep-alive")
        future = self._dispatcher.register(message, timeout)
        reader: asyncio.Task[None] | None = None
        try:
            response = await self._http.request(
                "POST",
                url,
                headers=headers,
                body=json.dumps(body),
                timeout=timeout if timeout is not None else self._dispatcher.default_timeout,
            )
            if not response.ok:
                detail = await _error_body_message(response)
                error = RTVIMessage(
                    MessageType.ERROR_RESPONSE,
                    {"error": f"Action endpoint '{url}' returned an error response: {detail}"},
                    id=message.id,
                )
                self._fire("on_message_error", error)
                self._dispatcher.fail(
                    message.id,
                    ActionEndpointError(
                        f"Action endpoint '{url}' returned {response.status}: {detail}",
                        status=response.status,
                    ),
                )
            elif "text/event-stream" in response.content_type.lower():
                reader = self._spawn(self._read_action_stream(response, message.id, url))
            else:
                reader = self._spawn(self._read_action_json(response, message.id, url))
        except HTTPError as exc:
            self._dispatcher.fail(message.id, ActionEndpointError(f"Action request failed: {exc}"))
        except BaseException as exc:
            self._dispatcher.fail(message.id, exc)
            raise
        try:
            return await future
        finally:
            if reader is not None and (future.cancelled() or future.exception() is not None):
                reader.cancel()

    async def _read_action_stream(self, response: HTTPResponse, action_id: str, url: str) -> None:
        parser = SSEParser()
        try:
            async for chunk in response.iter_text():
                for data in parser.feed(chunk):
                    self._handle_stream_event(data)
            for data in parser.close():
                self._handle_stream_event(data)
        except HTTPError as exc:
            self._dispatcher.fail(
                action_id, ActionEndpointError(f"Action stream from {url} broke off: {exc}")
            )
            return
        finally:
            await response.aclose()
        self._dispatcher.fail(
            action_id,
            ActionEndpointError(f"Action stream from {url} ended without an action-response"),
        )

    def _handle_stream_event(self, data: str) -> None:
        try:
            obj = decode_event_data(data)
        except InvalidMessageError as exc:
            self._report_malformed(exc)
            return
        self._handle_message(obj)

    async def _read_action_json(self, response: HTTPResponse, action_id: str, url: str) -> None:
        try:
            text = await response.text()
        except HTTPError as exc:
            self._dispatcher.fail(action_id, ActionEndpointError(f"Action reply broke off: {exc}"))
            return
        try:
            message = m.parse_message(text)  # a foreign label is an error here, not noise
        except InvalidMessageError as exc:
            self._report_malformed(exc)
        else:
            self._route(message)
        self._dispatcher.fail(
            action_id,
            ActionEndpointError(f"Action endpoint {url} did not reply with the action-response"),
        )

    # ==========================================================================================
    # helpers and function calls
    # ==========================================================================================

    def register_helper(self, service: str, helper: RTVIClientHelper) -> RTVIClientHelper:
        if not isinstance(helper, RTVIClientHelper):
            raise TypeError("helper must be an RTVIClientHelper instance")
        if service in self._helpers:
            raise RTVIError(f"Helper with name '{service}' already registered")
        helper.service = service
        helper.client = self
        self._helpers[service] = helper
        return helper

    def get_helper(self, service: str) -> RTVIClientHelper | None:
        return self._helpers.get(service)

    def unregister_helper(self, service: str) -> None:
        helper = self._helpers.pop(service, None)
        if helper is not None:
            helper.client = None
            helper.service = None

    def register_function_call_handler(
        self, function_name: str, handler: FunctionCallHandler
    ) -> None:
        """RTVI 1.x: run ``handler(FunctionCallParams)`` when the bot calls ``function_name``;
        a non-``None`` result is sent back as ``llm-function-call-result``."""
        self._functions.handlers[function_name] = handler

    def unregister_function_call_handler(self, function_name: str) -> None:
        self._functions.handlers.pop(function_name, None)

    def unregister_all_function_call_handlers(self) -> None:
        self._functions.handlers.clear()

    def _start_function_call(
        self,
        handler: FunctionCallHandler,
        function_name: str,
        tool_call_id: str,
        arguments: Any,
        *,
        always_reply: bool,
    ) -> None:
        if not self._functions.first_time(tool_call_id):
            return
        self._spawn(
            self._run_function_call(handler, function_name, tool_call_id, arguments, always_reply)
        )

    async def _run_function_call(
        self,
        handler: FunctionCallHandler,
        function_name: str,
        tool_call_id: str,
        arguments: Any,
        always_reply: bool,
    ) -> None:
        params = FunctionCallParams(function_name, arguments, tool_call_id)
        try:
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            logger.exception("function call handler for %r failed", function_name)
            result = {"error": f"{type(exc).__name__}: {exc}"}
        if result is None and not always_reply:
            return
        try:
            self._send(
                m.llm_function_call_result(function_name, tool_call_id, arguments, result),
                ready=True,
            )
        except RTVIError as exc:
            logger.warning("could not send the result of %r: %s", function_name, exc)

    def _route_function_call(self, message: RTVIMessage, legacy: bool) -> bool:
        data = message.data if isinstance(message.data, dict) else {}
        name = str(data.get("function_name") or "")
        handler = self._functions.handlers.get(name)
        if handler is None:
            return False
        arguments = data.get("args") if legacy else data.get("arguments")
        if arguments is None:
            arguments = data.get("arguments", data.get("args"))
        self._start_function_call(
            handler, name, str(data.get("tool_call_id") or ""), arguments, always_reply=False
        )
        return True

    # ==========================================================================================
    # devices and media
    # ==========================================================================================

    async def get_all_mics(self) -> list[DeviceInfo]:
        return await self._transport.get_all_mics()

    async def get_all_cams(self) -> list[DeviceInfo]:
        return await self._transport.get_all_cams()

    async def get_all_speakers(self) -> list[DeviceInfo]:
        return await self._transport.get_all_speakers()

    async def update_mic(self, device_id: str) -> None:
        await self._transport.update_mic(device_id)

    async def update_cam(self, device_id: str) -> None:
        await self._transport.update_cam(device_id)

    async def update_speaker(self, device_id: str) -> None:
        await self._transport.update_speaker(device_id)

    @property
    def selected_mic(self) -> DeviceInfo | None:
        return self._transport.selected_mic

    @property
    def selected_cam(self) -> DeviceInfo | None:
        return self._transport.selected_cam

    @property
    def selected_speaker(self) -> DeviceInfo | None:
        return self._transport.selected_speaker

    def enable_mic(self, enable: bool) -> None:
        self._transport.enable_mic(enable)

    def enable_cam(self, enable: bool) -> None:
        self._transport.enable_cam(enable)

    def enable_screen_share(self, enable: bool) -> None:
        self._transport.enable_screen_share(enable)

    @property
    def is_mic_enabled(self) -> bool:
        return self._transport.is_mic_enabled

    @property
    def is_cam_enabled(self) -> bool:
        return self._transport.is_cam_enabled

    @property
    def is_sharing_screen(self) -> bool:
        return self._transport.is_sharing_screen

    def tracks(self) -> Tracks:
        return self._transport.tracks()

    # ==========================================================================================
    # inbound messages
    # ==========================================================================================

    def _report_malformed(self, exc: InvalidMessageError) -> None:
        logger.warning("malformed RTVI message: %s", exc.message)
        raw = exc.raw
        if isinstance(raw, bytes | bytearray):
            raw = bytes(raw[:200]).decode("utf-8", "replace")
        elif raw is not None and not isinstance(raw, str):
            raw = repr(raw)
        self._fire(
            "on_message_error",
            RTVIMessage(
                MessageType.ERROR_RESPONSE,
                {"error": exc.message, "fatal": False, "raw": (raw or "")[:200]},
                id="",
            ),
        )

    def _on_error_message(self, message: RTVIMessage) -> None:
        self._fire("on_error", message)
        data = message.data
        if isinstance(data, dict) and data.get("fatal"):
            text = error_text(data) or "fatal error"
            logger.error("fatal error: %s", text)
            attempt = self._attempt
            if attempt is not None and attempt.phase != "init" and not attempt.bot_ready.done():
                # connect() in progress: fail it with the reason; its cleanup disconnects.
                attempt.bot_ready.set_exception(RTVIMessageError(text, message))
            else:
                self._spawn(self.disconnect())

    def _handle_message(self, raw: str | bytes | Mapping[str, Any]) -> None:
        """The transport's message handler: validate, then route. Never raises."""
        try:
            message = m.parse_message(raw)
        except m.NotRTVIMessageError:
            logger.debug("ignoring a message not labelled rtvi-ai")
            return
        except InvalidMessageError as exc:
            self._report_malformed(exc)
            return
        try:
            self._route(message)
        except Exception:
            logger.exception("error handling RTVI message %r", message.type)

    def _route(self, message: RTVIMessage) -> None:
        msg_type = message.type
        data = message.data
        if msg_type == MessageType.BOT_READY:
            self._on_bot_ready(message)
        elif msg_type == MessageType.ERROR_RESPONSE:
            request_type = self._dispatcher.request_type(message.id)
            self._dispatcher.resolve(message)
            self._fire("on_message_error", message)
            text = error_text(data)
            if is_unsupported_type(text):
                self._fire(
                    "on_unsupported_feature",
                    UnsupportedFeatureError(
                        f"message type {request_type or '?'!r}", "the bot", text
                    ),
                )
        elif msg_type == MessageType.ERROR:
            self._on_error_message(message)
        elif msg_type == MessageType.CONFIG:
            self._dispatcher.resolve(message)
            config = data.get("config") if isinstance(data, dict) else None
            self._fire("on_config", config)
        elif msg_type == MessageType.CONFIG_AVAILABLE:
            self._dispatcher.resolve(message)
            self._fire("on_config_describe", data)
        elif msg_type == MessageType.ACTIONS_AVAILABLE:
            self._dispatcher.resolve(message)
            self._fire("on_actions_available", data)
        elif msg_type in (MessageType.ACTION_RESPONSE, MessageType.APPEND_TO_CONTEXT_RESULT):
            self._dispatcher.resolve(message)
        elif msg_type == MessageType.SERVER_RESPONSE:
            self._dispatcher.resolve(message)
            self._fire("on_server_response", data)
        elif msg_type == MessageType.BOT_LLM_TEXT:
            self._fire("on_bot_llm_text", data)
            self._fire("on_bot_text", data)
        elif msg_type == MessageType.LLM_FUNCTION_CALL_IN_PROGRESS:
            self._fire("on_llm_function_call_in_progress", data)
            self._route_function_call(message, legacy=False)
        elif msg_type == MessageType.LLM_FUNCTION_CALL:
            self._fire("on_llm_function_call", data)
            if not self._route_function_call(message, legacy=True):
                self._offer_to_helpers(message, generic=False)
        elif msg_type == MessageType.LLM_FUNCTION_CALL_START:
            self._fire(
                "on_llm_function_call_start",
                data.get("function_name") if isinstance(data, dict) else None,
            )
            self._offer_to_helpers(message, generic=False)
        elif msg_type == MessageType.LLM_JSON_COMPLETION:
            self._fire("on_llm_json_completion", data)
            self._offer_to_helpers(message, generic=False)
        elif msg_type in _SIMPLE_ROUTES:
            callback, with_data = _SIMPLE_ROUTES[msg_type]
            if with_data:
                self._fire(callback, data)
            else:
                self._fire(callback)
        else:
            self._offer_to_helpers(message, generic=True)

    def _offer_to_helpers(self, message: RTVIMessage, *, generic: bool) -> None:
        handled = False
        for helper in list(self._helpers.values()):
            try:
                if message.type in helper.get_message_types():
                    handled = True
                    call_handler(helper.handle_message, message, tasks=self._tasks)
            except Exception:
                logger.exception("helper %r failed", helper.service)
        if not handled and generic:
            self._fire("on_generic_message", message.data)

    def _on_bot_ready(self, message: RTVIMessage) -> None:
        data = message.data if message.data is not None else {}
        self._bot_ready_data = data
        version = data.get("version") if isinstance(data, dict) else None
        self._bot_version = m.parse_version(version)
        if self._bot_version is None:
            logger.warning("bot-ready without a usable protocol version: %r", version)
        attempt = self._attempt
        if attempt is not None and not attempt.bot_ready.done():
            attempt.bot_ready.set_result(data)
        self._fire("on_bot_ready", data)


async def _error_body_message(response: HTTPResponse) -> str:
    """The server's error text: JSON ``info``/``detail``/``error``/``message``, else the body."""
    try:
        text = await response.text()
    except HTTPError:
        text = ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("info", "detail", "error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if value:
                return json.dumps(value)
    snippet = text.strip()[:300]
    return snippet or response.reason or f"HTTP {response.status}"
