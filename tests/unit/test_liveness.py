"""The liveness watch: keepalive, media stall and the consent grace, on a fake clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from rtvi.transports.liveness import (
    LivenessTimings,
    LivenessWatch,
    LoopClock,
    PacketSample,
    PacketStall,
)

from .fake_clock import FakeClock


def test_a_stall_is_packets_not_growing_for_the_timeout() -> None:
    pc = object()
    stall = PacketStall(2.0)
    assert stall.observe(pc, 10, 0.0) is None
    assert stall.observe(pc, 20, 1.0) is None  # growing
    assert stall.observe(pc, 20, 2.5) is None  # 1.5 s without a packet
    assert stall.observe(pc, 20, 3.0) == 2.0
    # Reported once: the watch starts afresh.
    assert stall.observe(pc, 20, 3.5) is None
    assert stall.observe(pc, 20, 5.4) is None
    assert stall.observe(pc, 20, 5.5) == 2.0


def test_no_stall_before_the_first_packet() -> None:
    pc = object()
    stall = PacketStall(1.0)
    assert [stall.observe(pc, 0, t) for t in (0.0, 5.0, 50.0)] == [None, None, None]


def test_a_new_source_or_forget_restarts_the_watch() -> None:
    old, new = object(), object()
    stall = PacketStall(1.0)
    stall.observe(old, 5, 0.0)
    assert stall.observe(new, 5, 10.0) is None  # a rebuilt connection counts anew
    assert stall.observe(new, 5, 10.5) is None
    stall.forget()
    assert stall.observe(new, 5, 20.0) is None
    assert stall.observe(new, 5, 21.0) == 1.0


def make_watch(
    clock: FakeClock,
    lost: list[str],
    *,
    keepalive_interval: float = 1.0,
    media_timeout: float | None = 2.0,
    grace: float = 2.0,
) -> LivenessWatch:
    timings = LivenessTimings(keepalive_interval, media_timeout, grace)
    return LivenessWatch(timings, lost.append, clock=clock)


def countdown(n: int) -> Iterator[bool]:
    yield from [True] * n
    while True:
        yield False


async def test_keepalive_pings_every_interval_and_survives_a_failing_ping(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    pings: list[float] = []

    def ping() -> None:
        pings.append(clock.time())
        if len(pings) == 2:
            raise RuntimeError("channel closing")

    running = countdown(4)
    with caplog.at_level(logging.DEBUG, logger="rtvi"):
        await make_watch(clock, [], keepalive_interval=0.5).keepalive(ping, lambda: next(running))
    assert pings == [100.0, 100.5, 101.0, 101.5]
    assert "keepalive send failed: channel closing" in caplog.text


async def test_media_stall_is_reported_and_gaps_reset_the_watch() -> None:
    clock = FakeClock()
    lost: list[str] = []
    pc = object()
    samples: list[PacketSample | Exception] = [
        (pc, 10),
        (pc, 20),
        None,  # reconnecting: nothing to measure
        (pc, 20),
        RuntimeError("getStats failed"),  # skipped
        (pc, 20),
        (pc, 20),
        (pc, 20),
        (pc, 20),
    ]

    async def sample() -> PacketSample:
        value = samples.pop(0)
        if isinstance(value, Exception):
            raise value
        return value

    lost_at: list[float] = []

    def on_lost(reason: str) -> None:
        lost.append(reason)
        lost_at.append(clock.time())

    watch = LivenessWatch(LivenessTimings(media_timeout=2.0), on_lost, clock=clock)
    await watch.watch_packets(sample, lambda: bool(samples), "audio from the bot")
    assert clock.sleeps == [0.5] * 9  # polls at min(0.5, timeout / 2)
    # The gap (t=101.5) restarted the count at t=102.0: lost at t=104.0, once.
    assert lost == ["no audio from the bot for 2.0 s"] and lost_at == [104.0]


async def test_media_watch_off() -> None:
    async def sample() -> PacketSample:
        raise AssertionError("never sampled")

    lost: list[str] = []
    await make_watch(FakeClock(), lost, media_timeout=None).watch_packets(sample, lambda: True)
    assert lost == []


@pytest.mark.parametrize(
    ("recovered", "expected"), [(False, ["ICE disconnected for 2 s"]), (True, [])]
)
async def test_consent_grace(recovered: bool, expected: list[str]) -> None:
    clock = FakeClock()
    lost: list[str] = []
    await make_watch(clock, lost, grace=2.0).confirm_lost(lambda: not recovered, "ICE disconnected")
    assert clock.sleeps == [2.0] and lost == expected


async def test_loop_clock() -> None:
    clock = LoopClock()
    start = clock.time()
    await clock.sleep(0.01)
    assert clock.time() >= start
