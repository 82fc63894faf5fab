"""``RTVIClient``: the realtime-ai 0.2 client API, in Python.

The client owns the session: the connect flow (auth request → transport → ``client-ready`` →
``bot-ready``), request/reply correlation, events and the public config/action/helper API. It is
I/O-injected, httpx style: the protocol rules are pure modules (:mod:`rtvi.messages`,
:mod:`rtvi.routing`, :mod:`rtvi.state`), and every byte goes through the injected
:class:`~rtvi.transport.Transport` and :class:`~rtvi.http.base.HTTPAdapter` (the connect request
in :mod:`rtvi.auth`, disconnected actions in :mod:`rtvi.disconnected`).

This module holds the constructor, the session's read-only properties and the connect driver.
Every field of the client is declared in :class:`~rtvi.core.ClientCore` (with ``on``/``off``
and the send, request and disconnect primitives); the other public methods come in groups over
it, one module each: :mod:`rtvi.inbound`, :mod:`rtvi.sending`, :mod:`rtvi.config`,
:mod:`rtvi.devices`, :mod:`rtvi.helpers.base` (why: :mod:`rtvi.core`)."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Mapping
from typing import Any

from . import messages as m
from ._version import RTVI_PROTOCOL_VERSION, __version__, about
from .abort import AbortSignal
from .attempt import ConnectAttempt, being_cancelled, swallow, transport_step
from .auth import CustomConnectHandler, authenticate, uses_connect_endpoint
from .client_callbacks import ClientTransportCallbacks
from .compat import Done
from .config import ConfigMethods
from .devices import DeviceMethods
from .disconnected import ActionEndpoint
from .dispatcher import DEFAULT_REQUEST_TIMEOUT, Dispatcher
from .embedding import call_active, connect_active
from .errors import (
    AbortError,
    BotAlreadyStartedError,
    BotNotReadyError,
    ConnectionTimeoutError,
    RequestCancelledError,
    RTVIError,
)
from .events import EventEmitter, Handler, normalize_callbacks
from .features import validate_protocol_version
from .functions import FunctionCalls
from .helpers.base import HelperMethods
from .http.base import HTTPAdapter
from .inbound import InboundMethods
from .log import LogLevel, set_log_level
from .media_state import MediaStateTracker
from .overlap import AuthKind, AuthStep, plan_connect, send_before_devices
from .params import RTVIClientParams
from .sending import MessageMethods
from .start import StartReply, StartRequest, is_api_request, post_start
from .start import transport_params as start_transport_params
from .state import (
    CLOSING_STATES,
    CONNECTED_STATES,
    STARTED_STATES,
    ConnectPhase,
    TransportState,
    check_transition,
)
from .timings import ConnectTimings
from .transport import Transport, TransportOptions
from .ui_agent.methods import UIAgentMethods

__all__ = ["CustomConnectHandler", "RTVIClient"]

logger = logging.getLogger("rtvi")


class RTVIClient(
    InboundMethods, MessageMethods, HelperMethods, ConfigMethods, DeviceMethods, UIAgentMethods
):
    """An RTVI client session.

    Args:
        transport: the :class:`~rtvi.transport.Transport` carrying messages and media.
        params: :class:`~rtvi.params.RTVIClientParams` or a mapping of the same keys.
        callbacks: ``{"on_bot_ready": fn, ...}`` (JS ``onBotReady`` spellings accepted) or an
            object with ``on_*`` methods. Each callback also emits its ``RTVIEvent``.
        timeout: seconds; bounds the whole ``connect()`` until ``bot-ready``.
        enable_mic, enable_cam: initial media flags passed to the transport.
        enable_screen_share: the session can share the screen (client-js
            ``enableScreenShare``; SmallWebRTC adds its screen transceiver).
        disconnect_on_bot_disconnect: end the session when the bot leaves (default, as
            client-js); False keeps it up and only fires ``on_bot_disconnected``.
        custom_connect_handler: ``(params, timeout, abort_signal)`` → auth bundle; replaces
            the connect POST.
        http: the HTTP adapter (default: ``fetch`` in Pyodide, asyncio streams in CPython).
        request_timeout: default timeout (seconds) of every request to the bot.
        protocol_version: the RTVI version announced in ``client-ready`` (default
            :data:`~rtvi.RTVI_PROTOCOL_VERSION`, 2.2.0); e.g. ``"1.0.0"`` to be served as a
            legacy client by pipecat 1.x.
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
        enable_screen_share: bool = False,
        disconnect_on_bot_disconnect: bool = True,
        http: HTTPAdapter | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        protocol_version: str = RTVI_PROTOCOL_VERSION,
    ) -> None:
        if not isinstance(transport, Transport):
            raise TypeError(f"transport must be a rtvi.Transport, got {type(transport).__name__}")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        # Every field is declared, with its type, in ClientCore.
        self.params = RTVIClientParams.coerce(params)
        self._protocol_version = validate_protocol_version(protocol_version)
        self._start = None
        self.timeout = timeout
        self.custom_connect_handler = custom_connect_handler
        self._callbacks = normalize_callbacks(callbacks)
        self._uncalled = None
        self._emitter = EventEmitter()
        self._tasks = set()
        self._dispatcher = Dispatcher(request_timeout)
        self._helpers = {}
        self._ui_stream = None
        self.function_calls = FunctionCalls(lambda msg: self._send(msg, ready=True), self._spawn)
        self._attempt = None
        self._bot_ready = None
        if http is None:
            from .http import default_adapter

            http = default_adapter()
        self._http = http
        self._actions = ActionEndpoint(
            http,
            self._dispatcher,
            self._handle_message,
            self._report_malformed,
            lambda error: self._fire("on_message_error", error),
            self._spawn,
        )
        self._media = MediaStateTracker(lambda state: self._fire("on_media_state_changed", state))
        self._transport = transport
        self._attach(
            transport, enable_mic, enable_cam, enable_screen_share, disconnect_on_bot_disconnect
        )

    def _attach(
        self,
        transport: Transport,
        enable_mic: bool,
        enable_cam: bool,
        enable_screen_share: bool,
        disconnect_on_bot_disconnect: bool,
    ) -> None:
        callbacks_ = ClientTransportCallbacks(
            self._fire, self._on_transport_state, self._on_error_message, self._media
        )
        options = TransportOptions(
            self.params,
            callbacks_,
            enable_mic,
            enable_cam,
            self._http,
            enable_screen_share=enable_screen_share,
            disconnect_on_bot_disconnect=disconnect_on_bot_disconnect,
        )
        transport.initialize(options, self._handle_message)
        self._told_unheard = self._unheard_events()
        transport.set_unheard_events(self._told_unheard)
        self._emitter.changed = self._listeners_changed

    def set_transport(self, transport: Transport) -> None:
        """Use ``transport`` from the next ``connect()`` on (a page's transport picker).

        Only between sessions (``disconnected`` or ``error``, no connect in flight), else
        :class:`~rtvi.errors.BotAlreadyStartedError`. The new transport starts with the current
        one's mic and camera flags; the old one is let go (it is disconnected already).
        """
        if not isinstance(transport, Transport):
            raise TypeError(f"transport must be a rtvi.Transport, got {type(transport).__name__}")
        idle = (TransportState.DISCONNECTED, TransportState.ERROR)
        if self._connecting or self.state not in idle:
            raise BotAlreadyStartedError("disconnect() before changing the transport")
        old = self._transport
        was = old.options
        self._attach(
            transport,
            old.is_mic_enabled,
            old.is_cam_enabled,
            was.enable_screen_share,
            was.disconnect_on_bot_disconnect,
        )
        self._transport = transport

    # --- properties ---------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The client library version (sent as ``rtvi_client_version``)."""
        return __version__

    @property
    def protocol_version(self) -> str:
        """The RTVI protocol version announced in ``client-ready``."""
        return self._protocol_version

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
        return self._bot_ready.data if self._bot_ready else None

    @property
    def bot_version(self) -> tuple[int, ...] | None:
        """The bot's RTVI protocol version from ``bot-ready``, e.g. ``(1, 2, 0)``."""
        return self._bot_ready.version if self._bot_ready else None

    @property
    def bot_capabilities(self) -> dict[str, Any]:
        """RTVI 2.2: what the bot does in this session, from ``bot-ready`` (``{audio_in,
        audio_out, video_in, screen_in, video_out, metrics}``); ``{}`` before bot-ready or
        from older bots."""
        return dict(self._bot_ready.capabilities) if self._bot_ready else {}

    @property
    def bot_about(self) -> dict[str, Any]:
        """The bot's ``about`` from ``bot-ready`` (``{library, library_version}``), or ``{}``."""
        return dict(self._bot_ready.about) if self._bot_ready else {}

    @property
    def connect_timings(self) -> ConnectTimings | None:
        """When the last ``connect()`` entered each phase and got ``bot-ready`` (an immutable
        record; its ``split_ms()`` is each phase's duration), or ``None`` before any."""
        return self._attempt.timings if self._attempt is not None else None

    @property
    def start_reply(self) -> Any:
        """The reply of the last ``start_bot`` (``{sessionId, iceConfig, ...}``), or ``None``."""
        return self._start.data if self._start else None

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
        return self.params.endpoint_url(endpoint)

    # --- lifecycle ----------------------------------------------------------------------------------

    async def connect(self, transport_params: Any = None) -> Any:
        """Connect the transport and wait for ``bot-ready``; returns its data.

        Which flow runs (docs/api-mapping.md, "connect()"):

        - ``params.base_url`` set (or an absolute ``endpoints.connect``, or a
          ``custom_connect_handler``): the 0.x flow: the connect request built from ``params``,
          its reply handed to the transport;
        - else, client-js 1.x: no request; the transport connects with ``transport_params``:
          a start reply ``{"sessionId", "iceConfig"}`` (the offer URL derived from the last
          ``start_bot`` endpoint, whose headers the offer reuses), ``{"webrtcUrl": ...}``,
          ``{"webrtcRequestParams": {...}}``, ``{"wsUrl": ...}``, an offer URL string, or
          nothing (the transport's own ``offer_url`` / ``ws_url``);
        - an ``APIRequest`` mapping (``{"endpoint", ...}``, deprecated in client-js too):
          :meth:`start_bot_and_connect` with it, with a ``DeprecationWarning``.

        Raises :class:`BotAlreadyStartedError` when a session is starting or running,
        :class:`StartBotError` when the connect request fails, :class:`DeviceError` when the
        mic or camera cannot be opened, :class:`TransportStartError` when the transport cannot
        connect, :class:`InvalidTransportParamsError` for unusable ``transport_params``,
        :class:`ConnectionTimeoutError` when ``bot-ready`` has not arrived within ``timeout``,
        :class:`AbortError` when ``disconnect()`` interrupts, :class:`TransportStateError` (at
        once, nothing started) while the transport is still initializing or disconnecting.
        """
        if is_api_request(transport_params):
            warnings.warn(
                "connect(APIRequest) is deprecated (as in client-js): use "
                "start_bot_and_connect(...)",
                DeprecationWarning,
                stacklevel=2,
            )
            return await self.start_bot_and_connect(transport_params)
        self._check_can_start()  # before the start reply is touched (again in _connect)
        if transport_params is None and uses_connect_endpoint(
            self.params, self.custom_connect_handler
        ):
            self._start = None  # a session of params' endpoint: no start reply applies
            kind = AuthKind.REQUEST if self.custom_connect_handler is None else AuthKind.CUSTOM
            return await self._connect(AuthStep(kind, self._request_bundle, self._authenticated))
        if transport_params is None:
            bundle = None  # the transport's own URL
            self._start = None
        else:
            bundle = self._transport_params(transport_params)
            if self._start is not None and not self._start.same_session(transport_params):
                self._start = None

        async def given(signal: AbortSignal) -> Any:
            return bundle

        return await self._connect(AuthStep(AuthKind.NONE, given))

    def _transport_params(self, params: Any) -> Any:
        return start_transport_params(params, self._start.endpoint if self._start else None)

    async def _request_bundle(self, signal: AbortSignal) -> Any:
        bundle = await authenticate(
            self.params, self._http, signal, self.custom_connect_handler, self.timeout
        )
        signal.throw_if_aborted()
        return bundle

    def _authenticated(self, bundle: Any) -> Any:
        self._fire("on_bot_started", bundle)
        return bundle

    async def start_bot(
        self,
        endpoint: str | Mapping[str, Any],
        request_data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """client-js 1.x ``startBot``: POST ``request_data`` (the JSON body, as is) to
        ``endpoint``; returns the start reply (fires ``on_bot_started`` with it). The transport
        state is left as it is; ``connect(reply)`` connects to the session (its offer requests
        carry these ``headers`` too).

        ``endpoint`` may be client-js's ``APIRequest`` instead: ``{"endpoint", "headers",
        "requestData", "timeout"}`` (``timeout`` in seconds).

        Raises :class:`BotAlreadyStartedError` while a session is starting or running and
        :class:`StartBotError` when the request fails.
        """
        if self._connecting or self.state in STARTED_STATES:
            raise BotAlreadyStartedError()
        request = StartRequest.coerce(endpoint, request_data, headers, timeout)
        return await self._start_bot(request, AbortSignal())

    async def _start_bot(self, request: StartRequest, signal: AbortSignal) -> Any:
        reply = await self._post_start(request, signal)
        self._bot_started(request, reply)
        return reply

    async def _post_start(self, request: StartRequest, signal: AbortSignal) -> Any:
        self._start = None
        # client-js: the transport knows how the bot was started (its offer reuses the headers).
        self._transport.start_bot_params = request
        reply = await post_start(request, self._http, signal)
        signal.throw_if_aborted()
        return reply

    def _bot_started(self, request: StartRequest, reply: Any) -> StartReply:
        self._start = StartReply.parse(reply, request.endpoint)
        self._fire("on_bot_started", reply)
        return self._start

    async def start_bot_and_connect(
        self,
        endpoint: str | Mapping[str, Any],
        request_data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """client-js 1.x ``startBotAndConnect``: :meth:`start_bot`, then connect the transport
        to the session it started; returns the ``bot-ready`` data. ``endpoint`` may be an
        ``APIRequest`` mapping, as for :meth:`start_bot`. The same errors as :meth:`connect`
        (the start request failing is a :class:`StartBotError`)."""
        request = StartRequest.coerce(endpoint, request_data, headers, timeout)
        return await self._connect(
            AuthStep(
                AuthKind.REQUEST,
                lambda signal: self._post_start(request, signal),
                lambda reply: self._bot_started(request, reply).transport_params(),
            )
        )

    def _check_can_start(self) -> None:
        if self._connecting or self.state in STARTED_STATES:
            raise BotAlreadyStartedError()
        if self.state != TransportState.DISCONNECTED:  # e.g. init_devices() or disconnect() running
            check_transition(self.state, TransportState.AUTHENTICATING)

    async def _connect(self, auth: AuthStep) -> Any:
        self._check_can_start()
        self._bot_ready = None
        attempt = self._attempt = ConnectAttempt(lambda a: self._run_connect(a, auth))
        call_active(self, True)
        connect_active(self, True)
        attempt.task.add_done_callback(lambda _: self._connect_over())
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
            if attempt.interrupted and not being_cancelled():
                raise AbortError("connect() was interrupted by disconnect()") from None
            if not attempt.interrupted:
                # Our caller was cancelled: do not leave a half-open session behind.
                self._spawn(self._abandon(attempt, AbortError("connect() was cancelled")))
            raise

    async def _run_connect(self, attempt: ConnectAttempt, auth: AuthStep) -> Any:
        """One connect, overlapped as :mod:`rtvi.overlap` says: the request may go out while
        the devices open, and the transport prepares while it is in flight; the states and
        events keep their order."""
        transport = self._transport
        signal = attempt.abort.signal
        devices = transport.state == TransportState.DISCONNECTED
        plan = plan_connect(devices_pending=devices, auth=auth.kind)
        request: asyncio.Future[Any] | None = None
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            if plan.request_with_devices:
                request = asyncio.ensure_future(self._early_request(auth, signal, opened))
                request.add_done_callback(swallow)  # the devices may fail first
            if devices:
                await transport_step(self.init_devices())
            opened.set_result(None)
            attempt.phase = ConnectPhase.AUTH
            transport.state = TransportState.AUTHENTICATING
            if plan.prepare_transport:
                transport.prepare_connect()
            reply = await (request if request is not None else auth.send(signal))
            signal.throw_if_aborted()
            bundle = auth.finish(reply)
            attempt.phase = ConnectPhase.TRANSPORT
            ready = m.client_ready(self._protocol_version, about())
            transport.when_connected(lambda: self._ready_when_connected(attempt, ready))
            await transport_step(transport.connect(bundle, signal))
            signal.throw_if_aborted()
            if attempt.phase is not ConnectPhase.READY:  # not sent as the transport connected
                self._check_size(ready)
                await transport_step(transport.send_ready_message(ready))
                attempt.phase = ConnectPhase.READY
            return await attempt.bot_ready
        except asyncio.CancelledError:
            raise
        except Exception:
            if attempt.phase.uses_transport:
                await self._safe_transport_disconnect()
            transport.state = TransportState.ERROR
            raise
        finally:
            if request is not None and not request.done():
                request.cancel()  # the devices failed, or the connect was stopped
            opened.cancel()
            transport.when_connected(None)
            transport.drop_prepared()  # connect() took it, or nobody will

    def _ready_when_connected(self, attempt: ConnectAttempt, ready: m.RTVIMessage) -> None:
        """The transport just entered ``connected`` (maybe in the pipe's open event,
        ``Transport.connected_now``): ``client-ready`` now, if it can send it synchronously;
        else, or on any trouble, :meth:`_run_connect` sends it (and raises) once resumed."""
        if self._attempt is not attempt or attempt.phase is not ConnectPhase.TRANSPORT:
            return
        if attempt.abort.signal.aborted:
            return
        try:
            self._check_size(ready)
            sent = self._transport.send_ready_now(ready)
        except Exception as exc:
            logger.debug("client-ready not sent as the transport connected: %s", exc)
            return
        if sent:
            attempt.phase = ConnectPhase.READY

    async def _early_request(
        self, auth: AuthStep, signal: AbortSignal, opened: asyncio.Future[None]
    ) -> Any:
        """``auth.send`` while the devices open, if the browser will ask the user nothing
        (:func:`~rtvi.overlap.send_before_devices`); else once they are open, as before."""
        if not send_before_devices(await self._transport.devices_granted()):
            await opened
        return await auth.send(signal)

    async def _abandon(self, attempt: ConnectAttempt, reason: RTVIError) -> None:
        """Stop an attempt that will not complete and disconnect the transport."""
        await attempt.stop(reason)
        self._dispatcher.cancel_all(RequestCancelledError())
        await self._safe_transport_disconnect()

    def disconnect_bot(self) -> Done[None]:
        """Ask the bot to leave (``disconnect-bot``); the session itself stays up. Returns at
        once (it was a coroutine: ``await client.disconnect_bot()`` still works, deprecated)."""
        self._send(m.disconnect_bot(), ready=True)
        return Done(None, "disconnect_bot()")

    def _connect_over(self) -> None:
        """The attempt ended (bot-ready or not): the page's call gate if it left no session,
        then its connect gate."""
        self._call_over_if_idle()
        connect_active(self, False)

    def _call_over_if_idle(self) -> None:
        if self.state in (TransportState.DISCONNECTED, TransportState.ERROR):
            call_active(self, False)

    def _on_transport_state(self, state: TransportState) -> None:
        self._call_over_if_idle()
        self._fire("on_transport_state_changed", state)
        self._ui_stream_on_state(state)
        if state in CLOSING_STATES:
            self._dispatcher.cancel_all(
                RequestCancelledError("Request cancelled: transport closed")
            )
        if self._attempt is not None:
            self._attempt.on_transport_state(state)
