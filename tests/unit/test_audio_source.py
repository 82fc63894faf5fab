"""``audio_source``: a caller's track sent as the mic (``LocalDevices``/``LocalMedia``), with fakes
for the browser's tracks; and the WAV reader of the virtual microphone."""

from __future__ import annotations

import struct
import wave
from io import BytesIO
from typing import Any

import pytest
from rtvi.state import TransportState
from rtvi.transport import TransportCallbacks
from rtvi.transports import devices, media
from rtvi.transports.virtual_mic import pcm_of


class FakeTrack:
    def __init__(self, name: str) -> None:
        self.name = name
        self.id = f"{name}-{id(self)}"
        self.label = name
        self.enabled = True
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def getSettings(self) -> dict[str, str]:
        return {}


class Host:
    def __init__(self) -> None:
        self.callbacks = TransportCallbacks()
        self.state = TransportState.INITIALIZING
        self.is_mic_enabled = True
        self.is_cam_enabled = False


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """getUserMedia replaced: each call returns a new FakeTrack named after the device."""
    calls: list[str] = []

    async def get_user_media_track(kind: str, device_id: str | None = None) -> Any:
        calls.append(device_id or "default")
        return FakeTrack(device_id or "default")

    monkeypatch.setattr(media, "get_user_media_track", get_user_media_track)
    return calls


def make(source: Any = None) -> tuple[devices.LocalDevices, list[tuple[str, Any]], list[Any]]:
    attached: list[tuple[str, Any]] = []
    metered: list[Any] = []

    async def attach(kind: str, track: Any) -> bool:
        attached.append((kind, track))
        return True

    local = devices.LocalDevices(
        Host(),
        attach=attach,
        watch_level=metered.append,
        spawn=lambda coro: coro.close(),
        kinds=("audio",),
        audio_source=source,
    )
    return local, attached, metered


async def test_the_source_is_the_mic_and_no_device_is_opened(opened: list[str]) -> None:
    source = FakeTrack("virtual")
    local, attached, metered = make(source)
    await local.acquire("audio")
    assert local.track("audio") is source
    assert opened == []
    assert attached == [("audio", source)] and metered == [source]
    local.set_enabled("audio", False)
    assert source.enabled is False  # mute works on it as on a mic
    local.release()
    assert not source.stopped  # the caller's track is never stopped


async def test_another_proxy_of_the_source_is_not_stopped(opened: list[str]) -> None:
    source = FakeTrack("virtual")
    local, _, _ = make(source)
    await local.acquire("audio")
    again = FakeTrack("again")
    again.id = source.id  # a second Pyodide proxy of the same JS track
    await local.set_audio_source(again)
    assert not source.stopped and not again.stopped and local.track("audio") is again


async def test_set_audio_source_replaces_the_mic_and_none_goes_back(opened: list[str]) -> None:
    local, attached, _ = make()
    await local.acquire("audio")
    mic = local.track("audio")
    first, second = FakeTrack("one"), FakeTrack("two")
    await local.set_audio_source(first)
    assert mic.stopped and local.track("audio") is first
    await local.set_audio_source(second)
    assert local.track("audio") is second and not first.stopped
    await local.set_audio_source(None)
    assert local.track("audio").name == "default" and not second.stopped
    assert [track for _, track in attached] == [mic, first, second, local.track("audio")]


async def test_update_mic_replaces_the_source(opened: list[str]) -> None:
    source = FakeTrack("virtual")
    local, _, _ = make(source)
    await local.acquire("audio")
    await local.switch("audio", "usb")
    assert local.track("audio").name == "usb" and local.audio_source is None
    assert not source.stopped


async def test_a_source_set_before_init_is_only_remembered(opened: list[str]) -> None:
    local, attached, _ = make()
    source = FakeTrack("virtual")
    await local.set_audio_source(source)
    assert attached == [] and local.track("audio") is None
    await local.acquire("audio")
    assert local.track("audio") is source and opened == []


def wav(rate: int, channels: int, frames: bytes) -> bytes:
    out = BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return out.getvalue()


def test_pcm_of_reads_wav_and_raw() -> None:
    frames = struct.pack("<4h", 1, -1, 2, -2)
    assert pcm_of(wav(16000, 2, frames)) == (frames, 16000, 2)
    assert pcm_of(frames, 8000) == (frames, 8000, 1)
    with pytest.raises(ValueError, match="sample_rate"):
        pcm_of(frames)
    with pytest.raises(ValueError, match="WAV"):
        pcm_of(b"RIFF\0\0\0\0JUNK")
