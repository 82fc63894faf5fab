"""When the SmallWebRTC transport rebuilds a session's connection, and when it gives up.

``Recovery`` on a real ``Session`` (no browser object is made: the peer connection is a stand-in
with just the states ``Recovery`` reads, and ``rebuild`` is replaced).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from rtvi.errors import AbortError, TransportStartError
from rtvi.transports.liveness import LivenessTimings
from rtvi.transports.reconnect import ReconnectPolicy
from rtvi.transports.small_webrtc.offer_client import OfferClient
from rtvi.transports.small_webrtc.recovery import Recovery
from rtvi.transports.small_webrtc.session import Session, SessionEvents
from rtvi.transports.small_webrtc.signalling import ConnectionTarget

from .conftest import WAIT, FakeHTTP

TARGET = ConnectionTarget("/offer", [], False, None)
NO_EVENTS = SessionEvents(*(lambda *_: None for _ in range(6)))


class Setup:
    """One transport's worth: the current session, what was given up, the rebuilds made."""

    def __init__(self, *failures: BaseException, grace: float = 0.0) -> None:
        self.given_up: list[str] = []
        self.rebuilds = 0
        self.failures = list(failures)
        self.done = asyncio.Event()
        self.session = self.new_session()
        self.current: Session | None = self.session
        timings = LivenessTimings(media_timeout=None, grace=grace)
        self.recovery = Recovery(lambda: self.current, lambda: timings, self.give_up)

    def new_session(self) -> Session:
        session = Session(
            TARGET,
            OfferClient(FakeHTTP(), "/offer"),
            NO_EVENTS,
            reconnect=ReconnectPolicy(attempts=3, delay=0),
        )
        session.pc = cast(Any, SimpleNamespace(iceConnectionState="new", connectionState="new"))
        session.rebuild = self.rebuild  # type: ignore[method-assign]
        return session

    def establish(self) -> None:
        self.session.channel_open = asyncio.get_running_loop().create_future()
        self.session.channel_open.set_result(None)

    async def rebuild(self) -> None:
        self.rebuilds += 1
        if self.failures:
            raise self.failures.pop(0)
        self.done.set()

    async def give_up(self, session: Session, text: str) -> None:
        assert session is self.session
        self.given_up.append(text)
        self.done.set()

    async def settle(self) -> None:
        await asyncio.wait_for(self.done.wait(), WAIT)
        await self.session.tasks.wait()

    def ice(self, state: str) -> None:
        cast(Any, self.session.pc).iceConnectionState = state
        self.recovery.on_ice_state(self.session)


def failed(status: int | None = None) -> TransportStartError:
    return TransportStartError("POST /offer failed", status=status)


async def test_nothing_is_rebuilt_while_connecting() -> None:
    setup = Setup()
    setup.recovery.schedule(setup.session)  # connect() reports its own failure
    setup.session.channel_open = asyncio.get_running_loop().create_future()
    setup.recovery.schedule(setup.session)
    assert len(setup.session.tasks) == 0 and not setup.session.reconnecting


async def test_nothing_is_rebuilt_for_a_closed_or_replaced_session() -> None:
    setup = Setup()
    setup.establish()
    setup.current = None
    setup.recovery.schedule(setup.session)
    setup.current = setup.session
    setup.session.closed = True
    setup.recovery.schedule(setup.session)
    assert len(setup.session.tasks) == 0


async def test_a_4xx_gives_up_after_one_rebuild() -> None:
    setup = Setup(failed(410))
    setup.establish()
    setup.recovery.schedule(setup.session)
    setup.recovery.schedule(setup.session)  # already running: one run only
    await setup.settle()
    assert setup.rebuilds == 1
    assert setup.given_up == ["connection lost; the bot refused to reconnect (HTTP 410)"]
    assert not setup.session.reconnecting


async def test_three_failures_give_up() -> None:
    setup = Setup(failed(), failed(503), failed())
    setup.establish()
    setup.recovery.lost(setup.session, "no audio from the bot for 2.0 s")
    await setup.settle()
    assert setup.rebuilds == 3
    assert setup.given_up == ["connection lost; gave up after 3 reconnect attempts"]


async def test_a_rebuild_that_works_keeps_the_session() -> None:
    setup = Setup(failed())
    setup.establish()
    setup.recovery.schedule(setup.session)
    await setup.settle()
    assert setup.rebuilds == 2 and setup.given_up == []


async def test_an_abort_or_a_close_is_not_reported() -> None:
    setup = Setup(AbortError())
    setup.establish()
    setup.recovery.schedule(setup.session)
    await setup.session.tasks.wait()
    assert setup.rebuilds == 1 and setup.given_up == []
    closing = Setup(failed(), failed(), failed())
    closing.establish()
    closing.recovery.schedule(closing.session)
    closing.session.closed = True  # disconnect() while the attempts run
    await closing.session.tasks.wait()
    assert closing.given_up == []


async def test_ice_states() -> None:
    setup = Setup()
    setup.establish()
    setup.session.attempts.failed = 2
    setup.ice("connected")
    assert setup.session.attempts.failed == 0  # healthy: the next trouble gets every attempt
    setup.ice("failed")
    await setup.settle()
    assert setup.rebuilds == 1


async def test_ice_disconnected_is_given_the_grace_to_recover() -> None:
    recovered = Setup()
    recovered.establish()
    recovered.ice("disconnected")
    cast(Any, recovered.session.pc).iceConnectionState = "connected"
    await recovered.session.tasks.wait()
    assert recovered.rebuilds == 0
    lost = Setup()
    lost.establish()
    lost.ice("disconnected")
    await lost.settle()
    assert lost.rebuilds == 1


async def test_connection_failed_rebuilds() -> None:
    setup = Setup()
    setup.establish()
    setup.recovery.on_connection_state(setup.session)
    assert len(setup.session.tasks) == 0  # "new": nothing to do
    cast(Any, setup.session.pc).connectionState = "failed"
    setup.recovery.on_connection_state(setup.session)
    await setup.settle()
    assert setup.rebuilds == 1
