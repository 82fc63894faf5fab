"""``ClientCore``: every field of an :class:`~rtvi.client.RTVIClient`, declared once, and the
few primitives all of its methods share: fire a callback, spawn a task, send, request,
disconnect (and ``on``/``off``, the other side of firing).

``RTVIClient`` is this class plus groups of methods, one module each: the constructor and the
connect driver (:mod:`rtvi.client`), inbound messages (:mod:`rtvi.inbound`), messages to the bot
(:mod:`rtvi.sending`), 0.x config and actions (:mod:`rtvi.config`), devices
(:mod:`rtvi.devices`) and helpers (:mod:`rtvi.helpers.base`). Each group subclasses
``ClientCore``, so it is type-checked against these declarations and re-declares nothing.

Why a base class and not one state object behind ``self._state``: the fields stay where the
client's users and tests have always found them (``client.params``, ``client.function_calls``),
and the method groups read as plain methods. Why groups at all: the public API is some sixty
methods (the JS client's, in Python); one class holding them all would be some nine hundred lines.
``RTVIClient.__init__`` assigns every field declared here and nothing else
(``tests/unit/test_client_core.py`` holds it to that).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, overload

from .dispatcher import Dispatcher
from .errors import AbortError, BotNotReadyError, MessageTooLargeError, RequestCancelledError
from .events import CALLBACK_EVENTS, EventEmitter, H, Handler, RTVIEvent, call_handler
from .messages import serialized_once
from .state import CONNECTED_STATES, TransportState

if TYPE_CHECKING:
    from .attempt import ConnectAttempt
    from .auth import CustomConnectHandler
    from .disconnected import ActionEndpoint
    from .functions import FunctionCalls
    from .helpers.base import RTVIClientHelper
    from .http.base import HTTPAdapter
    from .media_state import MediaStateTracker
    from .messages import BotReady, RTVIMessage
    from .params import RTVIClientParams
    from .start import StartReply
    from .transport import Transport
    from .ui_agent.methods import UISnapshotStreamer

logger = logging.getLogger("rtvi")


class ClientCore:
    """The state of one client session and the primitives over it (see the module doc)."""

    # --- public, as in the JS client --------------------------------------------------------------
    params: RTVIClientParams
    #: Seconds; bounds the whole ``connect()`` until ``bot-ready``.
    timeout: float | None
    custom_connect_handler: CustomConnectHandler | None
    #: Function-call handlers by name (also used by ``LLMHelper``).
    function_calls: FunctionCalls

    #: Per-device media state (``media_state``, ``needs_init()``).
    _media: MediaStateTracker

    # --- what the session runs on -----------------------------------------------------------------
    _transport: Transport
    _http: HTTPAdapter
    #: Disconnected actions (HTTP), sharing the dispatcher below.
    _actions: ActionEndpoint
    #: The RTVI version announced in ``client-ready``.
    _protocol_version: str

    # --- the session ------------------------------------------------------------------------------
    #: The ``connect()`` in flight or last run.
    _attempt: ConnectAttempt | None
    #: The last ``bot-ready``; ``None`` until it arrives (reset by each connect).
    _bot_ready: BotReady | None
    #: The last ``start_bot`` reply, while it applies to the session.
    _start: StartReply | None
    #: Requests to the bot awaiting their reply, by id.
    _dispatcher: Dispatcher
    #: Registered helpers by service name.
    _helpers: dict[str, RTVIClientHelper]
    #: The UI snapshot stream, while one runs (``start_ui_snapshot_stream``).
    _ui_stream: UISnapshotStreamer | None

    # --- callbacks, events, background tasks ------------------------------------------------------
    #: Constructor callbacks by snake_case name.
    _callbacks: dict[str, Handler]
    #: The events no constructor callback hears (computed once), and the unheard events the
    #: transport was last told of (``InboundMethods._unheard_events``).
    _uncalled: frozenset[RTVIEvent] | None
    _told_unheard: frozenset[RTVIEvent]
    _emitter: EventEmitter
    _tasks: set[asyncio.Task[Any]]

    # --- state ------------------------------------------------------------------------------------

    @property
    def state(self) -> TransportState:
        return self._transport.state

    @property
    def connected(self) -> bool:
        """True in the ``connected`` and ``ready`` states."""
        return self._transport.state in CONNECTED_STATES

    @property
    def _connecting(self) -> bool:
        """A ``connect()`` is in flight."""
        return self._attempt is not None and self._attempt.running

    # --- events -----------------------------------------------------------------------------------

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
        task.add_done_callback(_log_task_error)
        return task

    # --- the session's end ------------------------------------------------------------------------

    async def disconnect(self) -> None:
        """End the session (also cancels an in-flight ``connect()``). Safe to call any time."""
        if self._attempt is not None and self._attempt.running:
            await self._attempt.stop(AbortError("disconnect() called during connect()"))
        self._dispatcher.cancel_all(RequestCancelledError())
        await self._safe_transport_disconnect()

    async def _safe_transport_disconnect(self) -> None:
        try:
            await self._transport.disconnect()
        except Exception:
            logger.exception("transport.disconnect() failed")

    # --- sending ----------------------------------------------------------------------------------

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
        with serialized_once(message):
            self._check_size(message)
            self._transport.send_message(message)

    async def _request(
        self, message: RTVIMessage, timeout: float | None = None, *, ready: bool = True
    ) -> RTVIMessage:
        return await self._dispatcher.request(
            message, lambda msg: self._send(msg, ready=ready), timeout
        )


def _log_task_error(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task failed", exc_info=task.exception())
