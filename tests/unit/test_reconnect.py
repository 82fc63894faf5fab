"""The reconnect policy: attempts in a row, the delay between them, a 4xx ends them."""

from __future__ import annotations

import asyncio
import logging

import pytest
from rtvi.errors import AbortError, TransportStartError
from rtvi.transports.reconnect import ReconnectAttempts, ReconnectPolicy, reconnect

from .fake_clock import FakeClock


class Rebuild:
    """A rebuild whose attempts fail with the given errors, then succeed."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def refused(status: int | None) -> TransportStartError:
    return TransportStartError(f"POST /offer answered HTTP {status}", status=status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 499])
def test_a_4xx_refusal_ends_the_attempts(status: int) -> None:
    assert ReconnectPolicy().refusal(refused(status)) == (
        f"the bot refused to reconnect (HTTP {status})"
    )


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503, 399])
def test_other_failures_are_worth_another_attempt(status: int | None) -> None:
    assert ReconnectPolicy().refusal(refused(status)) is None
    assert ReconnectPolicy().refusal(OSError("Failed to fetch")) is None


async def test_gives_up_after_the_attempts_with_the_delay_between_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    attempts = ReconnectAttempts(ReconnectPolicy(attempts=3, delay=1.5))
    rebuild = Rebuild(*(refused(None) for _ in range(5)))
    with caplog.at_level(logging.INFO, logger="rtvi"):
        result = await reconnect(attempts, rebuild, sleep=clock.sleep)
    assert result.gave_up and result.reason == "gave up after 3 reconnect attempts"
    assert rebuild.calls == 3 and attempts.failed == 3 and attempts.exhausted
    assert clock.sleeps == [1.5, 1.5]  # between attempts, not after the last one
    assert attempts.running is False
    logged = [r.getMessage() for r in caplog.records]
    assert [m for m in logged if m.startswith("reconnecting")] == [
        "reconnecting, attempt 1 of 3",
        "reconnecting, attempt 2 of 3",
        "reconnecting, attempt 3 of 3",
    ]


async def test_a_later_attempt_that_works_ends_the_run() -> None:
    clock = FakeClock()
    attempts = ReconnectAttempts(ReconnectPolicy(attempts=3, delay=1.0))
    rebuild = Rebuild(refused(503))
    result = await reconnect(attempts, rebuild, sleep=clock.sleep)
    assert result.reconnected and not result.gave_up
    assert rebuild.calls == 2 and clock.sleeps == [1.0]


async def test_a_4xx_ends_the_run_at_the_first_attempt() -> None:
    clock = FakeClock()
    attempts = ReconnectAttempts(ReconnectPolicy(attempts=3))
    rebuild = Rebuild(refused(410), refused(410))
    result = await reconnect(attempts, rebuild, sleep=clock.sleep)
    assert result.reason == "the bot refused to reconnect (HTTP 410)"
    assert rebuild.calls == 1 and clock.sleeps == []


async def test_408_and_429_are_retried() -> None:
    clock = FakeClock()
    attempts = ReconnectAttempts(ReconnectPolicy(attempts=3))
    result = await reconnect(attempts, Rebuild(refused(408), refused(429)), sleep=clock.sleep)
    assert result.reconnected and attempts.failed == 3


async def test_an_abort_ends_the_run_quietly() -> None:
    clock = FakeClock()
    attempts = ReconnectAttempts(ReconnectPolicy(attempts=3))
    rebuild = Rebuild(AbortError(), refused(None))
    result = await reconnect(attempts, rebuild, sleep=clock.sleep)
    assert result.aborted and not result.gave_up and rebuild.calls == 1


async def test_closing_stops_the_attempts() -> None:
    clock = FakeClock()
    attempts = ReconnectAttempts(ReconnectPolicy(attempts=5))
    rebuild = Rebuild(*(refused(None) for _ in range(5)))
    result = await reconnect(
        attempts, rebuild, closed=lambda: rebuild.calls >= 2, sleep=clock.sleep
    )
    assert rebuild.calls == 2 and result.gave_up
    never = Rebuild()
    await reconnect(ReconnectAttempts(ReconnectPolicy()), never, closed=lambda: True)
    assert never.calls == 0


async def test_attempts_count_in_a_row_until_the_connection_is_healthy_again() -> None:
    clock = FakeClock()
    attempts = ReconnectAttempts(ReconnectPolicy(attempts=3, delay=0))
    assert (await reconnect(attempts, Rebuild(refused(None)), sleep=clock.sleep)).reconnected
    assert attempts.failed == 2  # the working attempt counts until the connection is healthy
    second = Rebuild(refused(None), refused(None))
    assert (await reconnect(attempts, second, sleep=clock.sleep)).gave_up
    assert second.calls == 1
    attempts.reset()
    assert attempts.failed == 0 and not attempts.exhausted
    assert (await reconnect(attempts, Rebuild(refused(None)), sleep=clock.sleep)).reconnected


async def test_one_run_at_a_time_and_running_is_cleared_on_cancel() -> None:
    attempts = ReconnectAttempts(ReconnectPolicy())
    assert attempts.begin() is True
    assert attempts.begin() is False
    hold = asyncio.Event()

    async def hang() -> None:
        await hold.wait()

    task = asyncio.ensure_future(reconnect(attempts, hang))
    await asyncio.sleep(0)
    assert attempts.running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert attempts.running is False and attempts.begin() is True
