"""The transport state table: every legal move is taken, every illegal one refused loudly."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest
from rtvi import RTVIMessage, Transport, TransportCallbacks, TransportOptions, TransportState
from rtvi.abort import AbortSignal
from rtvi.errors import RTVIError, TransportStateError
from rtvi.params import RTVIClientParams
from rtvi.state import TRANSITIONS, ConnectPhase, check_transition, is_legal

S = TransportState

#: The moves the client and the shipped transports make, written out once more by hand: the table
#: must allow exactly these (a new move is a deliberate change to both).
LEGAL = {
    (S.DISCONNECTED, S.INITIALIZING),  # init_devices()
    (S.DISCONNECTED, S.AUTHENTICATING),  # connect() on a transport without device states
    (S.DISCONNECTED, S.ERROR),  # the client after a failed/timed-out connect was torn down
    (S.INITIALIZING, S.INITIALIZED),
    (S.INITIALIZING, S.DISCONNECTING),  # disconnect() during init_devices()
    (S.INITIALIZING, S.ERROR),  # init_devices() failed
    (S.INITIALIZED, S.INITIALIZING),  # init_devices() again
    (S.INITIALIZED, S.AUTHENTICATING),
    (S.INITIALIZED, S.DISCONNECTING),
    (S.INITIALIZED, S.ERROR),
    (S.AUTHENTICATING, S.CONNECTING),
    (S.AUTHENTICATING, S.DISCONNECTING),
    (S.AUTHENTICATING, S.ERROR),  # the connect request failed
    (S.CONNECTING, S.CONNECTED),
    (S.CONNECTING, S.DISCONNECTING),
    (S.CONNECTING, S.ERROR),  # the transport could not connect
    (S.CONNECTED, S.READY),  # client-ready sent
    (S.CONNECTED, S.DISCONNECTING),
    (S.CONNECTED, S.ERROR),
    (S.READY, S.DISCONNECTING),
    (S.READY, S.ERROR),
    (S.DISCONNECTING, S.DISCONNECTED),
    (S.DISCONNECTING, S.ERROR),  # a disconnect that failed half-way
    (S.ERROR, S.INITIALIZING),
    (S.ERROR, S.AUTHENTICATING),  # connect() again after an error
    (S.ERROR, S.DISCONNECTING),
}

ALL_MOVES = [(a, b) for a, b in itertools.product(TransportState, repeat=2) if a != b]


def test_table_has_a_row_per_state_and_no_self_moves() -> None:
    assert set(TRANSITIONS) == set(TransportState)
    assert all(state not in targets for state, targets in TRANSITIONS.items())


def test_table_is_exactly_the_documented_moves() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == LEGAL


def test_error_is_reachable_from_every_state() -> None:
    assert all(is_legal(state, S.ERROR) for state in TransportState)


def test_staying_in_a_state_is_not_a_move() -> None:
    for state in TransportState:
        assert is_legal(state, state)
        check_transition(state, state)


class Recorder(TransportCallbacks):
    def __init__(self) -> None:
        self.states: list[TransportState] = []

    def on_transport_state_changed(self, state: TransportState) -> None:
        self.states.append(state)


class Bare(Transport):
    """A transport whose state the test sets by hand."""

    async def init_devices(self) -> None: ...

    async def connect(self, auth_bundle: Any, abort: AbortSignal) -> None: ...

    async def disconnect(self) -> None: ...

    def send_message(self, message: RTVIMessage) -> None: ...


def bare_in(state: TransportState) -> tuple[Bare, Recorder]:
    transport = Bare()
    transport._state = state  # the starting point of the move under test
    recorder = Recorder()
    transport.initialize(TransportOptions(RTVIClientParams(), recorder), lambda raw: None)
    return transport, recorder


@pytest.mark.parametrize(("old", "new"), sorted(LEGAL))
def test_legal_move_is_taken_and_reported(old: TransportState, new: TransportState) -> None:
    transport, recorder = bare_in(old)
    transport.state = new
    assert transport.state == new
    assert recorder.states == [new]


@pytest.mark.parametrize(("old", "new"), [m for m in ALL_MOVES if m not in LEGAL])
def test_illegal_move_is_refused_loudly(
    old: TransportState, new: TransportState, caplog: pytest.LogCaptureFixture
) -> None:
    transport, recorder = bare_in(old)
    with (
        caplog.at_level(logging.WARNING, logger="rtvi"),
        pytest.raises(TransportStateError) as info,
    ):
        transport.state = new
    assert isinstance(info.value, RTVIError)
    assert (info.value.old, info.value.new) == (old, new)
    assert f"{old} -> {new}" in info.value.message
    assert transport.state == old  # not taken
    assert recorder.states == []  # nobody was told about a move that did not happen
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert f"{old} -> {new}" in caplog.records[0].getMessage()


def test_state_accepts_its_string_value_and_rejects_unknown_names() -> None:
    transport, recorder = bare_in(S.DISCONNECTED)
    transport.state = "initializing"  # type: ignore[assignment]
    assert transport.state is S.INITIALIZING and recorder.states == [S.INITIALIZING]
    with pytest.raises(ValueError):
        transport.state = "flying"  # type: ignore[assignment]


def test_a_full_session_walks_the_table() -> None:
    transport, recorder = bare_in(S.DISCONNECTED)
    path = [
        S.INITIALIZING,
        S.INITIALIZED,
        S.AUTHENTICATING,
        S.CONNECTING,
        S.CONNECTED,
        S.READY,
        S.DISCONNECTING,
        S.DISCONNECTED,
    ]
    for state in path:
        transport.state = state
    assert recorder.states == path


@pytest.mark.parametrize(
    ("phase", "uses_transport", "started"),
    [
        (ConnectPhase.INIT, False, False),
        (ConnectPhase.AUTH, False, True),
        (ConnectPhase.TRANSPORT, True, True),
        (ConnectPhase.READY, True, True),
    ],
)
def test_connect_phases(phase: ConnectPhase, uses_transport: bool, started: bool) -> None:
    assert phase.uses_transport is uses_transport
    assert phase.started is started


def test_connect_phases_are_in_order_with_the_old_names() -> None:
    assert [str(p) for p in ConnectPhase] == ["init", "auth", "transport", "ready"]
