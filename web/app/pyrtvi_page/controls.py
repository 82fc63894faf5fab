"""The panels' control rules that need no browser: which session buttons a state enables, what
the connection settings' fields mean, the labels and meter values the panels show. Pure Python,
so it runs (and is tested) in CPython too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rtvi import TransportState

#: No session, nor one on its way: Connect may start one, the transport may change.
IDLE_STATES = frozenset({TransportState.DISCONNECTED, TransportState.ERROR})

#: The transport picker's values; the first is the default.
TRANSPORT_KINDS = ("webrtc", "websocket")

#: Meter scale: speech RMS sits around 0.02–0.3, so the bar is stretched to stay readable.
METER_GAIN = 3.0


@dataclass(frozen=True)
class SessionControls:
    """Which of the session panel's controls are enabled."""

    connect: bool
    disconnect: bool
    leave: bool
    #: The transport picker: the transport changes between sessions only.
    transport: bool


def session_controls(state: TransportState, *, leaving: bool) -> SessionControls:
    """The session controls in ``state``; ``leaving``: the person asked to disconnect, or the
    bot to leave (asking twice makes no sense)."""
    idle = state in IDLE_STATES
    return SessionControls(
        connect=idle,
        disconnect=not idle and state != TransportState.DISCONNECTING,
        leave=state == TransportState.READY and not leaving,
        transport=idle,
    )


def run_label(ready: bool) -> str:
    """An action's Run button: actions run in the session when it is ready, else over HTTP."""
    return "Run" if ready else "Run over HTTP"


def parse_timeout(text: Any) -> float | None:
    """The timeout field in seconds; ``None`` (no timeout) when empty, zero or not a number."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def parse_transport_kind(value: Any) -> str:
    """The picked transport: ``"webrtc"`` (the default) or ``"websocket"``."""
    text = str(value)
    return text if text in TRANSPORT_KINDS else TRANSPORT_KINDS[0]


def parse_base_url(text: Any, origin: str) -> str:
    """The server URL field; the page's own origin when it is blank."""
    return str(text).strip() or origin


def toggle_label(kind: str, on: bool) -> str:
    """The mic (``"mic"``) or camera switch's text."""
    if kind == "mic":
        return "Mic on" if on else "Mic muted"
    return "Camera on" if on else "Camera off"


def meter_value(level: Any) -> float:
    """An audio level (RMS, 0–1) as the meter shows it: stretched, capped at 1."""
    return round(min(1.0, float(level) * METER_GAIN), 3)


@dataclass(frozen=True)
class EarlyActions:
    """What the person did while Python loaded (boot.js queued it, in order)."""

    connect: bool
    #: Messages typed: (text, the mode picker's value).
    texts: tuple[tuple[str, str], ...]


def early_actions(actions: Iterable[Mapping[str, Any]]) -> EarlyActions:
    """boot.js's queue (``{"kind": "connect"}``, ``{"kind": "text", "text", "mode"}``) as what
    the console carries out: a typed message needs a session, so it connects too."""
    texts = []
    connect = False
    for action in actions:
        kind = action.get("kind")
        if kind == "connect":
            connect = True
        elif kind == "text":
            text = str(action.get("text") or "").strip()
            if text:
                texts.append((text, str(action.get("mode") or "auto")))
    return EarlyActions(connect=connect or bool(texts), texts=tuple(texts))
