"""The session lifecycle both browser transports share (``rtvi.transports.lifecycle``), in CPython.

A stand-in transport whose sessions open on a fake clock: what ``connect``, ``disconnect``, a
failed or aborted open, the bot leaving and giving up report, and in which order.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any

import pytest
from rtvi import TransportNotConnectedError
from rtvi.abort import AbortController, AbortSignal
from rtvi.errors import AbortError, TransportStartError
from rtvi.messages import RTVIMessage
from rtvi.params import RTVIClientParams
from rtvi.state import TransportState
from rtvi.transport import Participant, TransportCallbacks, TransportOptions
from rtvi.transports.lifecycle import SessionTransport, TransportSession
from rtvi.transports.reconnect import ReconnectPolicy

from .fake_clock import FakeClock


class Events(TransportCallbacks):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_transport_state_changed(self, state: TransportState) -> None:
        self.seen.append(f"state:{state}")

    def on_connected(self) -> None:
        self.seen.append("connected")

    def on_disconnected(self) -> None:
        self.seen.append("disconnected")

    def on_bot_connected(self, participant: Participant) -> None:
        self.seen.append("bot-connected")

    def on_bot_disconnected(self, participant: Participant) -> None:
        self.seen.append("bot-disconnected")

    def on_error(self, message: RTVIMessage) -> None:
        self.seen.append(f"error:{message.data['message']}:{message.data['fatal']}")


class FakeSession(TransportSession):
    def __init__(self, target: str) -> None:
        super().__init__(ReconnectPolicy(), bot_id="bot", log=logging.getLogger("test"))
        self.target = target


class FakeTransport(SessionTransport[FakeSession]):
    """Opens after ``open_delay`` fake seconds (and ``gate``, when set), or fails with ``failure``."""

    pipe_name = "Fake"

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.open_delay = 1.0
        self.failure: BaseException | None = None
        self.gate: asyncio.Event | None = None
        self.open_event = False  # the pipe's "open" event comes before _open() returns
        self.sessions: list[FakeSession] = []
        self.closes: list[str] = []
        self.releases = 0

    async def init_devices(self) -> None: ...

    def send_message(self, message: RTVIMessage) -> None:
        raise TransportNotConnectedError()

    def _new_session(self, auth_bundle: Any) -> FakeSession:
        if not auth_bundle:
            raise TransportStartError("nowhere to connect")
        session = FakeSession(str(auth_bundle))
        self.sessions.append(session)
        return session

    async def _open(self, session: FakeSession) -> None:
        await self.clock.sleep(self.open_delay)
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        if self.open_event:
            self._pipe_opened(session)
            self._pipe_opened(session)  # e.g. a rebuilt connection opening: reported once
            assert isinstance(self.callbacks, Events)
            self.callbacks.seen.append("open returns")

    def _opened(self, session: FakeSession) -> None:
        assert isinstance(self.callbacks, Events)
        self.callbacks.seen.append("opened")

    async def _close_session(self, session: FakeSession) -> None:
        session.closed = True
        self.closes.append(session.target)
        await session.tasks.wait()

    def _release_devices(self) -> None:
        self.releases += 1


def setup() -> tuple[FakeTransport, Events]:
    events = Events()
    transport = FakeTransport(FakeClock())
    transport.initialize(TransportOptions(RTVIClientParams(), callbacks=events), lambda raw: None)
    return transport, events


async def connect(
    transport: FakeTransport, bundle: Any = "t1", signal: AbortSignal | None = None
) -> None:
    transport.state = TransportState.AUTHENTICATING
    await transport.connect(bundle, signal or AbortController().signal)


async def test_connect_then_disconnect_in_order() -> None:
    transport, events = setup()
    await connect(transport)
    assert events.seen[1:] == [
        "state:connecting",
        "opened",
        "state:connected",
        "connected",
        "bot-connected",
    ]
    with pytest.raises(TransportStartError, match="already connected"):
        await transport.connect("t2", AbortController().signal)
    events.seen.clear()
    await transport.disconnect()
    assert events.seen == ["state:disconnecting", "state:disconnected", "disconnected"]
    assert (transport.closes, transport.releases) == (["t1"], 1)
    await transport.disconnect()  # again: only the devices are released again
    assert events.seen[-1] == "disconnected" and len(events.seen) == 3
    assert transport.releases == 2


@pytest.mark.parametrize("open_event", [False, True])
async def test_connected_then_the_clients_hook_once_in_the_same_order(open_event: bool) -> None:
    transport, events = setup()
    transport.open_event = open_event
    transport.when_connected(lambda: events.seen.append("hook"))
    await connect(transport)
    reports = ["opened", "state:connected", "connected", "bot-connected", "hook"]
    # From the pipe's event, everything is reported before the opening coroutine returns.
    returns = ["open returns"] if open_event else []
    assert events.seen[1:] == ["state:connecting", *reports, *returns]
    transport._pipe_opened(transport.sessions[0])  # a later opening (a reconnect): nothing
    transport.connected_now()  # the hook ran once: cleared
    assert events.seen[1:] == ["state:connecting", *reports, *returns]


async def test_a_pipe_opening_after_an_abort_reports_nothing() -> None:
    transport, events = setup()
    transport.gate = asyncio.Event()
    controller = AbortController()
    task = asyncio.ensure_future(connect(transport, signal=controller.signal))
    await asyncio.sleep(0)
    controller.abort()
    transport._pipe_opened(transport.sessions[0])  # the event lands before the abort is seen
    with pytest.raises(AbortError):
        await task
    assert "connected" not in events.seen and transport.state is TransportState.CONNECTING


async def test_nowhere_to_connect_changes_nothing() -> None:
    transport, _ = setup()
    transport.state = TransportState.AUTHENTICATING
    with pytest.raises(TransportStartError, match="nowhere"):
        await transport.connect("", AbortController().signal)
    assert transport.state is TransportState.AUTHENTICATING and transport.sessions == []


async def test_a_failed_open_forgets_the_session() -> None:
    transport, _ = setup()
    transport.failure = RuntimeError("refused")
    with pytest.raises(TransportStartError, match="Fake connection failed: refused"):
        await connect(transport)
    assert transport.closes == ["t1"]
    await transport.disconnect()  # as the client does after a failed connect
    transport.failure = None
    await connect(transport, "t2")  # a new connect is possible: the session was forgotten
    assert transport.state is TransportState.CONNECTED


async def test_an_abort_during_the_open_closes_the_session() -> None:
    transport, events = setup()
    transport.gate = asyncio.Event()  # never set: the open hangs
    controller = AbortController()
    task = asyncio.ensure_future(connect(transport, signal=controller.signal))
    await asyncio.sleep(0)
    controller.abort()
    with pytest.raises(AbortError):
        await task
    assert transport.closes == ["t1"] and "connected" not in events.seen


async def test_disconnect_during_the_open_wins() -> None:
    transport, events = setup()
    transport.gate = asyncio.Event()
    task = asyncio.ensure_future(connect(transport))
    await asyncio.sleep(0)
    await transport.disconnect()
    transport.gate.set()  # the open finishes after disconnect() took the session
    with pytest.raises(AbortError):
        await task
    assert "connected" not in events.seen and transport.closes == ["t1"]


async def test_the_bot_leaving_is_reported_once_then_disconnects() -> None:
    transport, events = setup()
    await connect(transport)
    session = transport.sessions[0]
    transport._bot_left(session)
    transport._bot_left(session)  # e.g. peerLeft, then the channel closing
    await transport._background.wait()
    assert events.seen.count("bot-disconnected") == 1
    assert events.seen[-1] == "disconnected" and transport.state is TransportState.DISCONNECTED


async def test_giving_up_is_fatal_and_ends_only_the_current_session() -> None:
    transport, events = setup()
    await connect(transport)
    stale = FakeSession("old")
    await transport._give_up(stale, "connection lost; gave up after 3 reconnect attempts")
    assert transport.state is TransportState.CONNECTED
    events.seen.clear()
    await transport._give_up(transport.sessions[0], "connection lost; gave up")
    assert events.seen == [
        "error:connection lost; gave up:True",
        "bot-disconnected",
        "state:disconnecting",
        "state:disconnected",
        "disconnected",
    ]


def test_one_not_connected_error_under_every_old_name() -> None:
    from rtvi.errors import TransportNotConnectedError as from_errors
    from rtvi.transports.small_webrtc import TransportNotConnectedError as webrtc
    from rtvi.transports.small_webrtc.transport import TransportNotConnectedError as webrtc2
    from rtvi.transports.websocket.transport import TransportNotConnectedError as ws

    assert from_errors is webrtc is webrtc2 is ws is TransportNotConnectedError


def test_webrtc_takes_the_reconnect_policy_and_its_old_keywords_with_a_warning() -> None:
    from rtvi.transports.reconnect import ReconnectPolicy
    from rtvi.transports.small_webrtc import SmallWebRTCTransport

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SmallWebRTCTransport().reconnect_policy == ReconnectPolicy(3, 1.0)
        policy = ReconnectPolicy(attempts=5, delay=0.2, max_delay=2.0)
        assert SmallWebRTCTransport(reconnect=policy).reconnect_policy is policy
    with pytest.warns(DeprecationWarning, match="reconnect=ReconnectPolicy"):
        old = SmallWebRTCTransport(reconnect_attempts=1, reconnect_delay=0.25)
    assert old.reconnect_policy == ReconnectPolicy(attempts=1, delay=0.25)
    assert (old.reconnect_attempts, old.reconnect_delay) == (1, 0.25)
    with pytest.warns(DeprecationWarning):
        old.reconnect_attempts = 7
    assert old.reconnect_policy == ReconnectPolicy(attempts=7, delay=0.25)
