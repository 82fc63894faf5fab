"""The call controls' rules (DTMF keypad, send a file, screen share, bot volume) that need no
browser: which control the bot and the transport can take now, and why not when they cannot.
Pure Python, so it runs (and is tested) in CPython too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rtvi import TransportState
from rtvi.features import MIN_VERSION, Feature

#: The keypad's keys, in the phone's order. pipecat's ``KeypadEntry`` (what a bot validates
#: ``dtmf`` against) has no A–D, and ``send_dtmf`` refuses them, so neither does the keypad.
KEYPAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")

#: Typed keys the keypad takes while it has the focus (``*`` and ``#`` included).
KEYPAD_KEYS = frozenset(KEYPAD)

#: The volume slider's range (percent) and its start.
VOLUME_MAX = 100
VOLUME_DEFAULT = 100


@dataclass(frozen=True)
class Control:
    """One control's state: enabled or not, and the hint that says why not (or what it does)."""

    enabled: bool
    hint: str


@dataclass(frozen=True)
class CallControls:
    dtmf: Control
    file: Control
    screen: Control


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(v) for v in version)


def feature_control(
    feature: Feature, state: TransportState, bot_version: tuple[int, ...] | None, what: str
) -> Control:
    """A control that sends ``feature`` to the bot: it needs a ready session and a bot whose
    RTVI version serves it (``rtvi.features``: the client refuses it otherwise)."""
    need = _version_text(MIN_VERSION[feature])
    if state != TransportState.READY:
        return Control(False, f"Connect to a bot that speaks RTVI {need} or later to {what}.")
    if bot_version is None or bot_version < MIN_VERSION[feature]:
        have = _version_text(bot_version) if bot_version else "an unknown version"
        return Control(False, f"This bot speaks RTVI {have}; {what} needs RTVI {need} or later.")
    return Control(True, "")


def screen_control(
    state: TransportState, transport_kind: str, capabilities: Mapping[str, Any]
) -> Control:
    """Screen share needs a ready WebRTC session (the WebSocket transport carries no video),
    and a bot that does not say it takes no screen (RTVI 2.2 ``capabilities.screen_in``)."""
    if transport_kind == "websocket":
        return Control(False, "The WebSocket transport carries no video: use WebRTC to share.")
    if state != TransportState.READY:
        return Control(False, "Connect to share your screen with the bot.")
    if capabilities.get("screen_in") is False:
        return Control(False, "This bot says it takes no screen video (its capabilities).")
    return Control(True, "")


def call_controls(
    state: TransportState,
    *,
    bot_version: tuple[int, ...] | None,
    transport_kind: str,
    capabilities: Mapping[str, Any],
) -> CallControls:
    """Every call control in ``state`` with the bot of ``bot_version`` and ``capabilities``."""
    return CallControls(
        dtmf=feature_control(Feature.DTMF, state, bot_version, "send keypad tones (DTMF)"),
        file=feature_control(Feature.SEND_FILE, state, bot_version, "send a file"),
        screen=screen_control(state, transport_kind, capabilities),
    )


def volume(value: Any) -> float:
    """The slider's value (0–100) as the audio element's volume (0–1); bad input is full volume."""
    try:
        percent = float(value)
    except (TypeError, ValueError):
        return VOLUME_DEFAULT / VOLUME_MAX
    if percent != percent:  # NaN
        return VOLUME_DEFAULT / VOLUME_MAX
    return round(min(max(percent, 0.0), VOLUME_MAX) / VOLUME_MAX, 3)


def volume_label(value: Any) -> str:
    return f"{round(volume(value) * VOLUME_MAX)} %"


def file_format(mime: Any, name: str) -> str:
    """The MIME type ``send_file`` sends: the browser's, else one guessed from the name's
    extension for the formats a bot's LLM reads, else ``application/octet-stream``."""
    text = str(mime or "").strip()
    if "/" in text:
        return text
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return GUESSED_FORMATS.get(suffix, "application/octet-stream")


GUESSED_FORMATS = {
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "json": "application/json",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
