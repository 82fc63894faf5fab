"""Transport states, the one table of legal moves between them, and the connect phases.

Pure: no I/O, no asyncio. :class:`~rtvi.transport.Transport` checks every assignment of its
``state`` against :data:`TRANSITIONS`; an illegal move is logged as a warning and raised as a
:class:`~rtvi.errors.TransportStateError`, and the state stays where it was.

To add a state (or a move), add it to :class:`TransportState` and give it a row in
:data:`TRANSITIONS`; ``tests/unit/test_state.py`` walks every pair of states.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from .errors import TransportStateError


class TransportState(StrEnum):
    """The nine 0.x transport states.

    Normal order: ``disconnected → initializing → initialized → authenticating → connecting →
    connected → ready → disconnecting → disconnected``. ``error`` can follow any state (auth
    failure, connect timeout, join failure, a fatal transport error).

    The client sets ``authenticating`` and ``error``; the transport sets every other state.
    ``ready`` means the transport has sent ``client-ready``; ``RTVIClient.connect()`` itself only
    returns once the bot has answered with ``bot-ready``.
    """

    DISCONNECTED = "disconnected"
    INITIALIZING = "initializing"
    INITIALIZED = "initialized"
    AUTHENTICATING = "authenticating"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    READY = "ready"
    DISCONNECTING = "disconnecting"
    ERROR = "error"


S = TransportState

#: Every legal move: state → the states it may go to. Assigning the current state again is
#: always allowed and does nothing (it is not a move).
TRANSITIONS: Mapping[TransportState, frozenset[TransportState]] = {
    # init_devices() before the first connect; connect() without init_devices() (a transport
    # whose init_devices sets no state).
    S.DISCONNECTED: frozenset({S.INITIALIZING, S.AUTHENTICATING, S.ERROR}),
    S.INITIALIZING: frozenset({S.INITIALIZED, S.DISCONNECTING, S.ERROR}),
    # init_devices() again; connect(); disconnect() before connecting.
    S.INITIALIZED: frozenset({S.INITIALIZING, S.AUTHENTICATING, S.DISCONNECTING, S.ERROR}),
    S.AUTHENTICATING: frozenset({S.CONNECTING, S.DISCONNECTING, S.ERROR}),
    S.CONNECTING: frozenset({S.CONNECTED, S.DISCONNECTING, S.ERROR}),
    S.CONNECTED: frozenset({S.READY, S.DISCONNECTING, S.ERROR}),
    S.READY: frozenset({S.DISCONNECTING, S.ERROR}),
    S.DISCONNECTING: frozenset({S.DISCONNECTED, S.ERROR}),
    # connect() again straight from error (devices are still initialized), init_devices(),
    # or the disconnect that cleans up after the failure.
    S.ERROR: frozenset({S.INITIALIZING, S.AUTHENTICATING, S.DISCONNECTING}),
}

del S


def is_legal(old: TransportState, new: TransportState) -> bool:
    """Whether ``old → new`` is in :data:`TRANSITIONS` (or no move at all)."""
    return old == new or new in TRANSITIONS[old]


def check_transition(old: TransportState, new: TransportState) -> None:
    """Raise :class:`~rtvi.errors.TransportStateError` when ``old → new`` is not legal."""
    if not is_legal(old, new):
        raise TransportStateError(old, new, sorted(TRANSITIONS[old]))


#: States in which ``RTVIClient.connected`` is true.
CONNECTED_STATES = frozenset({TransportState.CONNECTED, TransportState.READY})

#: States in which a connect is in progress or established (a second ``connect()`` is refused).
STARTED_STATES = frozenset(
    {
        TransportState.AUTHENTICATING,
        TransportState.CONNECTING,
        TransportState.CONNECTED,
        TransportState.READY,
    }
)

#: States that end a session: pending requests are cancelled when the transport enters one.
CLOSING_STATES = frozenset({TransportState.DISCONNECTING, TransportState.DISCONNECTED})


class ConnectPhase(StrEnum):
    """Where one ``RTVIClient.connect()`` is, in order: ``init → auth → transport → ready``.

    ``init``: ``init_devices()``; ``auth``: the connect request (or custom handler);
    ``transport``: ``transport.connect()`` and ``client-ready``; ``ready``: waiting for
    ``bot-ready``.
    """

    INIT = "init"
    AUTH = "auth"
    TRANSPORT = "transport"
    READY = "ready"

    @property
    def uses_transport(self) -> bool:
        """The transport has been asked to connect: a failure must disconnect it, and the
        transport going down fails the attempt."""
        return self in (ConnectPhase.TRANSPORT, ConnectPhase.READY)

    @property
    def started(self) -> bool:
        """Past ``init``: a fatal ``error`` from the bot fails the attempt itself."""
        return self is not ConnectPhase.INIT
