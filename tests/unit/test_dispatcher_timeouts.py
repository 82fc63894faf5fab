"""The dispatcher's request timeouts share one loop timer (rtvi.dispatcher): each request still
times out at its own deadline, answered requests cost no timer each, a cancelled wait is
forgotten."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rtvi.dispatcher import Dispatcher
from rtvi.errors import RequestTimeoutError
from rtvi.messages import RTVIMessage


def reply_to(message: RTVIMessage) -> RTVIMessage:
    return RTVIMessage("server-response", {"d": 1}, id=message.id)


def count_timers(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays of the loop timers made from now on."""
    loop = asyncio.get_running_loop()
    made: list[float] = []
    call_at = loop.call_at

    def counting(when: float, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        made.append(when - loop.time())
        return call_at(when, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counting)
    return made


async def test_each_request_times_out_at_its_own_deadline() -> None:
    dispatcher = Dispatcher(default_timeout=0.3)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    slow = asyncio.ensure_future(dispatcher.request(RTVIMessage("a"), lambda m: None))
    fast = asyncio.ensure_future(dispatcher.request(RTVIMessage("b"), lambda m: None, 0.1))
    never = asyncio.ensure_future(dispatcher.request(RTVIMessage("c"), lambda m: None, 0))
    with pytest.raises(RequestTimeoutError) as first:
        await fast
    assert 0.09 <= loop.time() - t0 < 0.25 and not slow.done()
    assert first.value.request_type == "b" and first.value.timeout == 0.1
    with pytest.raises(RequestTimeoutError) as second:
        await slow
    assert 0.29 <= loop.time() - t0 < 0.5 and second.value.timeout == 0.3
    assert len(dispatcher) == 1 and not never.done()
    never.cancel()
    with pytest.raises(asyncio.CancelledError):
        await never
    assert len(dispatcher) == 0  # a cancelled wait is forgotten


async def test_answered_requests_share_one_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    made = count_timers(monkeypatch)
    dispatcher = Dispatcher(default_timeout=10)
    for _ in range(20):
        sent: list[RTVIMessage] = []
        request = asyncio.ensure_future(dispatcher.request(RTVIMessage("q"), sent.append))
        await asyncio.sleep(0)
        assert dispatcher.resolve(reply_to(sent[0]))
        assert (await request).data == {"d": 1}
    assert len(made) == 1 and len(dispatcher) == 0
    # A shorter timeout than the armed one re-arms; it still expires on time.
    with pytest.raises(RequestTimeoutError):
        await dispatcher.request(RTVIMessage("q"), lambda m: None, 0.05)
    assert len(made) == 2 and made[1] == pytest.approx(0.05, abs=0.01)


async def test_a_cancelled_registered_request_is_forgotten() -> None:
    dispatcher = Dispatcher()
    message = RTVIMessage("q")
    future = dispatcher.register(message, 0.05)
    future.cancel()
    await asyncio.sleep(0)
    assert message.id not in dispatcher
    await asyncio.sleep(0.1)  # its deadline passes: nothing to expire, nothing raised
    again = dispatcher.register(message, 5)  # the id may be used again
    assert dispatcher.resolve(reply_to(message)) and (await again).id == message.id
