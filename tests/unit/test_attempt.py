"""ConnectAttempt: when the transport's state fails a connect, completing, failing, stopping."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rtvi import AbortError, TransportStartError, TransportState
from rtvi.attempt import ConnectAttempt, transport_step
from rtvi.state import ConnectPhase

from .conftest import WAIT


async def waiting(attempt: ConnectAttempt) -> Any:
    return await attempt.bot_ready


@pytest.mark.parametrize("phase", list(ConnectPhase))
@pytest.mark.parametrize("state", list(TransportState))
async def test_transport_state_fails_the_attempt_only_once_the_transport_is_involved(
    phase: ConnectPhase, state: TransportState
) -> None:
    attempt = ConnectAttempt(waiting)
    attempt.phase = phase
    attempt.on_transport_state(state)
    closing = state in (
        TransportState.DISCONNECTING,
        TransportState.DISCONNECTED,
        TransportState.ERROR,
    )
    assert attempt.bot_ready.done() is (closing and phase.uses_transport)
    if attempt.bot_ready.done():
        with pytest.raises(TransportStartError, match=f"went {state} before the bot was ready"):
            await asyncio.wait_for(attempt.task, WAIT)
    else:
        attempt.complete({"version": "1.0.0"})
        assert await asyncio.wait_for(attempt.task, WAIT) == {"version": "1.0.0"}


async def test_first_outcome_wins() -> None:
    attempt = ConnectAttempt(waiting)
    attempt.complete("ready")
    assert attempt.fail(RuntimeError("late")) is False
    attempt.complete("again")
    assert await asyncio.wait_for(attempt.task, WAIT) == "ready"
    assert not attempt.running


async def test_stop_aborts_cancels_and_waits() -> None:
    attempt = ConnectAttempt(waiting)
    await asyncio.sleep(0)
    assert attempt.running and not attempt.interrupted
    await attempt.stop(AbortError("bye"))
    assert attempt.interrupted and not attempt.running and attempt.task.cancelled()
    assert attempt.abort.signal.aborted


async def test_transport_step_wraps_foreign_errors_only() -> None:
    async def raising(exc: BaseException) -> None:
        raise exc

    with pytest.raises(TransportStartError, match="Unable to connect to transport: boom") as info:
        await transport_step(raising(OSError("boom")))
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(AbortError):  # an RTVIError passes as it is
        await transport_step(raising(AbortError()))
    with pytest.raises(asyncio.CancelledError):
        await transport_step(raising(asyncio.CancelledError()))
