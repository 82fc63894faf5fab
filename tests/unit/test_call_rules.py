"""The controls panel's rules (web/app/pyrtvi_page/call_rules.py): which control the bot and the
transport take, the hints, the volume slider and the file's MIME type."""

from __future__ import annotations

import pytest
from pyrtvi_page import call_rules
from rtvi import TransportState
from rtvi.features import DTMF_BUTTONS_VERSION
from rtvi.sending import DTMF_KEYS

READY = TransportState.READY


def controls(
    state: TransportState = READY,
    version: tuple[int, ...] | None = (2, 2, 0),
    kind: str = "webrtc",
    capabilities: dict[str, object] | None = None,
) -> call_rules.CallControls:
    return call_rules.call_controls(
        state, bot_version=version, transport_kind=kind, capabilities=capabilities or {}
    )


def test_keypad_is_what_send_dtmf_takes() -> None:
    assert set(call_rules.KEYPAD) == DTMF_KEYS == call_rules.KEYPAD_KEYS
    assert len(call_rules.KEYPAD) == 12
    assert DTMF_BUTTONS_VERSION > (2, 0)  # 2.0 bots still take the keypad (one key a message)


def test_a_modern_bot_takes_everything() -> None:
    now = controls()
    assert (now.dtmf.enabled, now.file.enabled, now.screen.enabled) == (True, True, True)
    assert (now.dtmf.hint, now.file.hint, now.screen.hint) == ("", "", "")


@pytest.mark.parametrize(
    ("version", "dtmf", "file"),
    [
        ((1, 2, 0), False, False),
        ((2, 0, 0), True, False),
        ((2, 1, 0), True, False),
        (None, False, False),
    ],
)
def test_older_bots_disable_what_they_cannot_take(
    version: tuple[int, ...] | None, dtmf: bool, file: bool
) -> None:
    now = controls(version=version)
    assert (now.dtmf.enabled, now.file.enabled) == (dtmf, file)
    if not file:
        have = ".".join(map(str, version)) if version else "an unknown version"
        assert now.file.hint == f"This bot speaks RTVI {have}; send a file needs RTVI 2.2 or later."
    if not dtmf:
        assert "needs RTVI 2.0 or later" in now.dtmf.hint


@pytest.mark.parametrize("state", [TransportState.DISCONNECTED, TransportState.CONNECTED])
def test_nothing_is_sent_before_the_bot_is_ready(state: TransportState) -> None:
    now = controls(state)
    assert not (now.dtmf.enabled or now.file.enabled or now.screen.enabled)
    assert now.file.hint.startswith("Connect to a bot that speaks RTVI 2.2")
    assert now.screen.hint == "Connect to share your screen with the bot."


def test_screen_share_needs_webrtc_and_a_bot_that_takes_it() -> None:
    assert not controls(kind="websocket").screen.enabled
    assert "WebSocket" in controls(kind="websocket").screen.hint
    assert not controls(capabilities={"screen_in": False}).screen.enabled
    assert controls(capabilities={"screen_in": True}).screen.enabled
    assert controls(version=(1, 2, 0)).screen.enabled  # no capabilities: not refused


@pytest.mark.parametrize(
    ("raw", "level", "label"),
    [("100", 1.0, "100 %"), ("35", 0.35, "35 %"), ("0", 0.0, "0 %"), (150, 1.0, "100 %"),
     (-5, 0.0, "0 %"), ("x", 1.0, "100 %"), (None, 1.0, "100 %"), (float("nan"), 1.0, "100 %")],
)  # fmt: skip
def test_volume(raw: object, level: float, label: str) -> None:
    assert call_rules.volume(raw) == level
    assert call_rules.volume_label(raw) == label


def test_file_format() -> None:
    assert call_rules.file_format("text/plain", "a.txt") == "text/plain"
    assert call_rules.file_format("", "notes.MD") == "text/markdown"
    assert call_rules.file_format(None, "data") == "application/octet-stream"
    assert call_rules.file_format("", "x.bin") == "application/octet-stream"
