"""ConnectTimings (pure) and the client's record of when its last connect reached each phase."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from rtvi import RTVIClient, StartBotError
from rtvi.timings import BOT_READY, MARKS, ConnectTimings

from .conftest import FakeHTTP, json_response


def test_marks_split_and_total() -> None:
    timings = ConnectTimings()
    assert timings.split_ms() == {} and timings.total_ms is None and not timings.complete
    for name, at in zip(MARKS, (1.0, 1.010, 1.090, 1.5, 1.55), strict=True):
        timings = timings.mark(name, at)
    assert timings.split_ms() == {"init": 10.0, "auth": 80.0, "transport": 410.0, "ready": 50.0}
    assert timings.total_ms == 550.0 and timings.complete
    assert timings.at(BOT_READY) == 1.55 and timings.at("nothing") is None


def test_a_running_phase_is_not_in_the_split_and_marks_are_kept_once() -> None:
    timings = ConnectTimings().mark("init", 0.0).mark("auth", 0.25).mark("auth", 9.0)
    assert timings.split_ms() == {"init": 250.0}
    assert timings.at("auth") == 0.25 and timings.total_ms is None
    before = timings
    timings.mark("transport", 1.0)
    assert before.marks == timings.marks  # immutable: marking makes a new record


async def test_client_records_each_phase_of_its_last_connect(
    make_client: Callable[..., RTVIClient], http: FakeHTTP
) -> None:
    http.responder = lambda req: json_response({"room_url": "memory://1"})
    client = make_client(params={"base_url": "http://bots.example/api"})
    assert client.connect_timings is None
    await client.connect()
    timings = client.connect_timings
    assert timings is not None and timings.complete
    assert [name for name, _at in timings.marks] == list(MARKS)
    assert set(timings.split_ms()) == {"init", "auth", "transport", "ready"}
    assert timings.total_ms == pytest.approx(sum(timings.split_ms().values()), abs=0.5)
    await client.disconnect()
    assert client.connect_timings is timings  # kept after the session, until the next connect


async def test_a_failed_connect_keeps_the_phases_it_reached(
    make_client: Callable[..., RTVIClient], http: FakeHTTP
) -> None:
    async def slow_refusal(req: object) -> None:
        await asyncio.sleep(0.01)
        raise StartBotError("no", status=503)

    http.responder = slow_refusal
    client = make_client(params={"base_url": "http://bots.example/api"})
    with pytest.raises(StartBotError):
        await client.connect()
    timings = client.connect_timings
    assert timings is not None and not timings.complete
    assert [name for name, _at in timings.marks] == ["init", "auth"]
    assert list(timings.split_ms()) == ["init"]
