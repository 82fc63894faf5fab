"""``SocketSession``: one ``connect()``'s WebSocket to the bot, reopened when it is lost.

A session holds the current socket and what routes its messages (the transport's
:class:`~.audio_graph.Router`, made by ``SocketEvents.wire``), the ``client-ready`` message to
send again on a new socket, the reconnect attempts and the tasks it started. It opens (within
``open_timeout``), and when an open socket closes it reopens under the
:class:`~rtvi.transports.reconnect.ReconnectPolicy`, after the policy's delay, unless the close
code says the bot meant it (:meth:`~rtvi.transports.reconnect.ReconnectPolicy.is_final`): a new
socket is a new bot pipeline, so ``client-ready`` is sent again. When the attempts run out,
``SocketEvents.give_up(session, text)`` ends the session (the lifecycle's give-up).

The socket and the clock are handed in (``new_socket``, ``clock``), so the reconnect rules are
unit-tested in CPython with a fake socket and a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ...errors import MessageTooLargeError, TransportNotConnectedError, TransportStartError
from ...messages import RTVIMessage
from .._browser import WebSocket
from .._interop import js_error_text
from ..lifecycle import TransportSession
from ..liveness import Clock, LoopClock
from ..reconnect import ReconnectPolicy, reconnect
from .protobuf import MessageFrame, encode_frame

logger = logging.getLogger("rtvi.transports.websocket")


class Routing(Protocol):
    """What a session needs of the router on its socket (:class:`~.audio_graph.Router`)."""

    def set_ready(self) -> None: ...

    def flush(self) -> None: ...

    def set_quiet(self, types: Iterable[str]) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    def dispose(self) -> None: ...


@dataclass(frozen=True)
class SocketEvents:
    """What a session asks of its transport."""

    #: Route an open socket's messages (returns the router; it is disposed with the socket).
    wire: Callable[[SocketSession, WebSocket], Routing]
    #: The attempts ran out (or the bot closed for good): end the session with ``text``.
    give_up: Callable[[SocketSession, str], Coroutine[Any, Any, None]]


class SocketSession(TransportSession):
    """The WebSocket, its router and tasks of one ``connect()``."""

    def __init__(
        self,
        url: str,
        events: SocketEvents,
        *,
        policy: ReconnectPolicy,
        open_timeout: float = 10.0,
        max_message_size: int = 1 << 20,
        new_socket: Callable[[str], WebSocket] = WebSocket,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(policy, bot_id="bot", log=logger)
        self.url = url
        self.events = events
        self.open_timeout = open_timeout
        self.max_message_size = max_message_size
        self._new_socket = new_socket
        self._clock: Clock = clock or LoopClock()
        self.ws: WebSocket | None = None
        self.router: Routing | None = None
        self.opened: asyncio.Future[None] | None = None
        self.ready_message: RTVIMessage | None = None

    @property
    def is_open(self) -> bool:
        return self.ws is not None and self.ws.readyState == WebSocket.OPEN

    def send(self, message: RTVIMessage) -> None:
        """One RTVI message as a protobuf ``MessageFrame``; refused when closed or too large."""
        ws = self.ws
        if ws is None or not self.is_open:
            raise TransportNotConnectedError("The WebSocket is not open")
        data = encode_frame(MessageFrame(message.to_json()))
        if len(data) > self.max_message_size:
            raise MessageTooLargeError(len(data), self.max_message_size)
        ws.send(data)

    def send_ready(self, message: RTVIMessage) -> None:
        """``client-ready`` (kept for a reopened socket), then let the mic audio through."""
        self.ready_message = message
        self.send(message)
        if self.router is not None:
            self.router.set_ready()

    # --- opening --------------------------------------------------------------------------

    async def open(self) -> None:
        """A new socket, wired to a router; returns once it is open (``open_timeout``)."""
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.opened = opened
        ws = self._new_socket(self.url)
        self.ws = ws
        ws.addEventListener("open", lambda _e: _resolve(opened))
        ws.addEventListener("close", lambda event: self._on_close(ws, event))
        try:
            await asyncio.wait_for(asyncio.shield(opened), self.open_timeout)
        except TimeoutError:
            raise TransportStartError(
                f"the WebSocket did not open within {self.open_timeout:g} s"
            ) from None
        self.router = self.events.wire(self, ws)

    async def _reopen(self) -> None:
        """One reconnect attempt: a new socket; the bot starts a new pipeline, so ready again."""
        logger.info("reconnecting to %s", self.url)
        try:
            await self.open()
        except BaseException:
            self.drop_socket()
            raise
        if self.ready_message is not None:
            self.send_ready(self.ready_message)

    # --- a lost socket --------------------------------------------------------------------

    def _on_close(self, ws: WebSocket, event: Any) -> None:
        if self.ws is not ws or self.closed:
            return
        code, reason = int(event.code), str(event.reason or "")
        opened = self.opened
        if opened is not None and not opened.done():
            detail = f" ({reason})" if reason else ""
            opened.set_exception(
                TransportStartError(f"the WebSocket closed with code {code}{detail}")
            )
            return
        logger.info("WebSocket closed: code %d %s", code, reason)
        if self.attempts.begin():
            self.tasks.start(self._reconnect(code, reason))

    async def _reconnect(self, code: int, reason: str) -> None:
        why = f"the bot closed the connection (code {code}{', ' + reason if reason else ''})"
        try:
            self.drop_socket()
            if self.attempts.policy.is_final(code):
                result = None
            else:
                result = await reconnect(
                    self.attempts,
                    self._reopen,
                    closed=lambda: self.closed,
                    sleep=self._clock.sleep,
                    log=logger,
                    describe=js_error_text,
                    wait_first=True,
                )
        finally:
            self.attempts.running = False
        if result is not None:
            if result.reconnected:
                self.attempts.reset()
                return
            if result.aborted:
                return
            why = f"connection lost; {result.reason}"
        await self.events.give_up(self, why)

    # --- teardown -------------------------------------------------------------------------

    def drop_socket(self) -> None:
        """Release the socket, its listeners and the router (not the audio)."""
        if self.router is not None:
            self.router.dispose()
            self.router = None
        ws, self.ws = self.ws, None
        if ws is None:
            return
        if ws.readyState <= WebSocket.OPEN:
            ws.close(1000, "client disconnect")
        else:
            ws.listeners.clear()

    def close(self) -> None:
        """Cancel the tasks and drop the socket (await ``tasks.wait()``)."""
        self.closed = True
        self.tasks.cancel()
        if self.opened is not None and not self.opened.done():
            self.opened.cancel()
        self.drop_socket()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
