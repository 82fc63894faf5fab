"""One WebSocket session's open and reconnects (``websocket.socket.SocketSession``), in CPython.

The socket is a stand-in that opens (or closes) on the next loop turn, the router a recorder, the
clock fake: a lost socket is reopened after the policy's delay with ``client-ready`` sent again,
a close the bot meant ends the session at once, and the attempts run out into ``give_up``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from rtvi.errors import MessageTooLargeError, TransportNotConnectedError, TransportStartError
from rtvi.messages import RTVIMessage
from rtvi.transports._browser import WebSocket
from rtvi.transports.reconnect import ReconnectPolicy
from rtvi.transports.websocket.protobuf import MessageFrame, decode_frame
from rtvi.transports.websocket.socket import SocketEvents, SocketSession

from .conftest import WAIT
from .fake_clock import FakeClock

READY = RTVIMessage("client-ready", {"version": "2.2.0"})


class FakeSocket:
    """Fires ``open`` (or ``close`` with ``refuse``) on the next loop turn."""

    def __init__(self, url: str, refuse: int | None) -> None:
        self.url = url
        self.readyState = WebSocket.CONNECTING
        self.sent: list[bytes | str] = []
        self.handlers: dict[str, Any] = {}
        self.listeners = SimpleNamespace(clear=self.handlers.clear)
        self.closed_with: tuple[int, str] | None = None
        loop = asyncio.get_running_loop()
        loop.call_soon(self.drop, refuse) if refuse else loop.call_soon(self.open)

    def addEventListener(self, kind: str, handler: Any) -> None:
        self.handlers[kind] = handler

    def open(self) -> None:
        self.readyState = WebSocket.OPEN
        self.handlers["open"](None)

    def drop(self, code: int, reason: str = "") -> None:
        """The other end (or the network) closes the socket."""
        self.readyState = 3
        handler = self.handlers.get("close")
        if handler is not None:
            handler(SimpleNamespace(code=code, reason=reason))

    def send(self, data: bytes | str) -> None:
        self.sent.append(data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.handlers.clear()
        self.closed_with = (code, reason)
        self.readyState = 3


class FakeRouter:
    def __init__(self) -> None:
        self.ready = self.disposed = False

    def set_ready(self) -> None:
        self.ready = True

    def flush(self) -> None: ...

    def set_quiet(self, types: Iterable[str]) -> None: ...

    def stats(self) -> dict[str, Any]:
        return {}

    def dispose(self) -> None:
        self.disposed = True


class Setup:
    def __init__(self, *refusals: int, policy: ReconnectPolicy | None = None) -> None:
        self.refusals = list(refusals)  # close codes of the next sockets, before they open
        self.sockets: list[FakeSocket] = []
        self.routers: list[FakeRouter] = []
        self.given_up: list[str] = []
        self.done = asyncio.Event()
        self.clock = FakeClock()
        self.session = SocketSession(
            "ws://bot/ws",
            SocketEvents(wire=self.wire, give_up=self.give_up),
            policy=policy or ReconnectPolicy(attempts=3, delay=0.5, max_delay=4.0),
            max_message_size=200,
            new_socket=self.new_socket,
            clock=self.clock,
        )

    def new_socket(self, url: str) -> WebSocket:
        socket = FakeSocket(url, self.refusals.pop(0) if self.refusals else None)
        self.sockets.append(socket)
        return cast(WebSocket, socket)

    def wire(self, session: SocketSession, ws: WebSocket) -> FakeRouter:
        router = FakeRouter()
        self.routers.append(router)
        self.done.set()
        return router

    async def give_up(self, session: SocketSession, text: str) -> None:
        self.given_up.append(text)
        session.close()
        self.done.set()

    async def settle(self) -> None:
        self.done.clear()
        await asyncio.wait_for(self.done.wait(), WAIT)
        await asyncio.sleep(0)


def sent_messages(socket: FakeSocket) -> list[str]:
    frames = [decode_frame(data) for data in socket.sent if isinstance(data, bytes)]
    return [frame.data for frame in frames if isinstance(frame, MessageFrame)]


async def test_a_lost_socket_is_reopened_and_ready_sent_again() -> None:
    setup = Setup()
    session = setup.session
    await session.open()
    session.send_ready(READY)
    assert setup.routers[0].ready and len(sent_messages(setup.sockets[0])) == 1
    setup.sockets[0].drop(1006)
    assert session.reconnecting
    await setup.settle()
    assert setup.clock.sleeps == [0.5]  # the policy's delay before the first attempt
    assert setup.routers[0].disposed and setup.routers[1].ready
    assert sent_messages(setup.sockets[1]) == [READY.to_json()]
    assert not session.reconnecting and session.attempts.failed == 0 and setup.given_up == []


async def test_the_attempts_run_out_into_give_up_with_backoff() -> None:
    setup = Setup(0, 1006, 1006, 1006)  # the first socket opens, then three fail
    session = setup.session
    await session.open()
    setup.sockets[0].drop(1006, "gone")
    await setup.settle()
    assert setup.clock.sleeps == [0.5, 1.0, 2.0]
    assert setup.given_up == ["connection lost; gave up after 3 reconnect attempts"]
    assert len(setup.sockets) == 4 and session.closed


async def test_a_close_the_bot_meant_ends_the_session_at_once() -> None:
    setup = Setup()
    await setup.session.open()
    setup.sockets[0].drop(1000, "bye")
    await setup.settle()
    assert setup.given_up == ["the bot closed the connection (code 1000, bye)"]
    assert setup.clock.sleeps == [] and len(setup.sockets) == 1


async def test_a_socket_that_closes_before_opening_fails_the_open() -> None:
    setup = Setup(4404)
    with pytest.raises(TransportStartError, match="closed with code 4404"):
        await setup.session.open()
    assert setup.given_up == []


async def test_sending_needs_an_open_socket_and_a_small_message() -> None:
    setup = Setup()
    session = setup.session
    with pytest.raises(TransportNotConnectedError, match="WebSocket is not open"):
        session.send(READY)
    await session.open()
    with pytest.raises(MessageTooLargeError):
        session.send(RTVIMessage("client-message", {"d": "x" * 500}))
    session.close()
    assert setup.sockets[0].closed_with == (1000, "client disconnect")
    assert setup.routers[0].disposed
    with pytest.raises(TransportNotConnectedError):
        session.send(READY)
