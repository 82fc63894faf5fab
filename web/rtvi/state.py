"""Transport states, in lifecycle order, with the same string values as the JS client."""

from __future__ import annotations

from enum import StrEnum


class TransportState(StrEnum):
    """The nine 0.x transport states.

    Normal order: ``disconnected → initializing → initialized → authenticating → connecting →
    connected → ready → disconnecting → disconnected``. ``error`` can follow authenticating
    (auth failure or timeout), connecting (join failure) or any fatal transport error.

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
