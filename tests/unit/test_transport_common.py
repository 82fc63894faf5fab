"""The pieces both transport facades share (``rtvi.transports.common``), in CPython."""

from __future__ import annotations

import asyncio

import pytest
from rtvi.abort import AbortController
from rtvi.errors import AbortError, TransportStartError, UnsupportedFeatureError
from rtvi.transport import DeviceInfo, Participant, TransportCallbacks
from rtvi.transports.common import (
    find_device,
    level_reporter,
    open_or_abort,
    report_device_lists,
    report_levels,
    switch_speaker,
)

from .fake_clock import FakeClock

MIC = DeviceInfo(device_id="m1", label="Mic", kind="audioinput")
SPEAKER = DeviceInfo(device_id="s1", label="Speaker", kind="audiooutput")


class Recorder(TransportCallbacks):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def on_available_mics_updated(self, devices: list[DeviceInfo]) -> None:
        self.calls.append(("mics", devices))

    def on_available_cams_updated(self, devices: list[DeviceInfo]) -> None:
        self.calls.append(("cams", devices))

    def on_available_speakers_updated(self, devices: list[DeviceInfo]) -> None:
        self.calls.append(("speakers", devices))

    def on_speaker_updated(self, device: DeviceInfo) -> None:
        self.calls.append(("speaker", device))

    def on_device_error(self, error: Exception) -> None:
        self.calls.append(("device_error", str(error)))

    def on_local_audio_level(self, level: float) -> None:
        self.calls.append(("local", level))

    def on_remote_audio_level(self, level: float, participant: Participant) -> None:
        self.calls.append(("bot", level))


async def listed(kind: str) -> list[DeviceInfo]:
    return {"audioinput": [MIC], "audiooutput": [SPEAKER]}.get(kind, [])


async def unlisted(kind: str) -> list[DeviceInfo]:
    raise RuntimeError("enumerateDevices denied")


def run_open(opening: object, *, abort_first: bool = False) -> tuple[BaseException | None, int]:
    cleaned = 0

    async def cleanup() -> None:
        nonlocal cleaned
        cleaned += 1

    async def main() -> BaseException | None:
        controller = AbortController()
        coro = opening() if callable(opening) else opening
        if abort_first:
            asyncio.get_running_loop().call_soon(controller.abort)
        try:
            await open_or_abort(coro, controller.signal, cleanup=cleanup, what="Test")  # type: ignore[arg-type]
        except BaseException as exc:
            return exc
        return None

    return asyncio.run(main()), cleaned


def test_open_or_abort_opens_fails_clearly_or_aborts_and_cleans_up() -> None:
    async def fine() -> None:
        await asyncio.sleep(0)

    async def broken() -> None:
        raise OSError("socket refused")

    async def forever() -> None:
        await asyncio.Event().wait()

    assert run_open(fine) == (None, 0)
    error, cleaned = run_open(broken)
    assert isinstance(error, TransportStartError) and cleaned == 1
    assert error.message == "Test connection failed: socket refused"
    error, cleaned = run_open(forever, abort_first=True)
    assert isinstance(error, AbortError) and cleaned == 1

    async def refused() -> None:
        raise TransportStartError("HTTP 404", status=404)

    error, cleaned = run_open(refused)
    assert isinstance(error, TransportStartError) and error.message == "HTTP 404"


def test_levels_are_kept_and_reported_until_stopped() -> None:
    callbacks, store = Recorder(), dict[str, float]()
    ticks = iter([True, True, False])
    levels = {"local": 0.25, "bot": None}
    clock = FakeClock()
    asyncio.run(
        report_levels(
            levels.get,
            store,
            0.1,
            lambda: next(ticks),
            callbacks.on_local_audio_level,
            lambda level: callbacks.on_remote_audio_level(level, Participant(id="bot")),
            clock,
        )
    )
    assert callbacks.calls == [("local", 0.25), ("local", 0.25)]
    assert store == {"local": 0.25}


def test_a_level_reading_from_js_is_kept_and_reported_as_floats() -> None:
    callbacks, store = Recorder(), dict[str, float]()
    report = level_reporter(
        store,
        callbacks.on_local_audio_level,
        lambda level: callbacks.on_remote_audio_level(level, Participant(id="bot")),
    )
    report(0, 0.5)  # a JS number with no fraction arrives as an int
    report(None, 0.25)  # the mic is not measured
    assert callbacks.calls == [("local", 0.0), ("bot", 0.5), ("bot", 0.25)]
    assert [type(level) for _, level in callbacks.calls] == [float] * 3
    assert store == {"local": 0.0, "bot": 0.25}


def test_device_lists_are_reported_or_one_device_error() -> None:
    callbacks = Recorder()
    asyncio.run(report_device_lists(listed, callbacks, ("audioinput", "audiooutput")))
    assert callbacks.calls == [("mics", [MIC]), ("speakers", [SPEAKER])]
    failing = Recorder()
    asyncio.run(report_device_lists(unlisted, failing, ("audioinput", "videoinput")))
    assert failing.calls == [("device_error", "enumerateDevices denied")]


def test_switch_speaker_reports_the_listed_device_or_the_failure() -> None:
    sinks: list[str] = []

    async def set_sink(device_id: str) -> None:
        sinks.append(device_id)

    callbacks = Recorder()
    assert asyncio.run(switch_speaker(set_sink, listed, callbacks, "s1", "T")) == SPEAKER
    assert asyncio.run(find_device(unlisted, "audiooutput", "s9")) == DeviceInfo(
        device_id="s9", kind="audiooutput"
    )
    assert sinks == ["s1"] and callbacks.calls == [("speaker", SPEAKER)]

    async def no_sink(device_id: str) -> None:
        raise NotImplementedError("setSinkId is not supported")

    with pytest.raises(UnsupportedFeatureError):
        asyncio.run(switch_speaker(no_sink, listed, Recorder(), "s1", "T"))

    async def bad_sink(device_id: str) -> None:
        raise RuntimeError("NotFoundError")

    failing = Recorder()
    with pytest.raises(RuntimeError):
        asyncio.run(switch_speaker(bad_sink, listed, failing, "s1", "T"))
    assert failing.calls == [("device_error", "NotFoundError")]
