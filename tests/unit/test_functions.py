"""FunctionCalls: handlers by name, one run per tool_call_id, sync or async, the reply."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

import pytest
from rtvi import BotNotReadyError, RTVIMessage
from rtvi.functions import SEEN_LIMIT, FunctionCalls
from rtvi.messages import FunctionCallParams


class Wire:
    """The injected I/O: sent messages, and the spawned coroutines (run by the test)."""

    def __init__(self, fail_send: Exception | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.spawned: list[Coroutine[Any, Any, None]] = []
        self.fail_send = fail_send

    def send(self, message: RTVIMessage) -> None:
        if self.fail_send is not None:
            raise self.fail_send
        self.sent.append(message.to_dict())

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.spawned.append(coro)

    async def run_all(self) -> None:
        while self.spawned:
            await self.spawned.pop(0)


def call(
    name: str = "get_weather", tool_call_id: str = "c1", arguments: Any = None
) -> FunctionCallParams:
    return FunctionCallParams(
        name, {"city": "Oslo"} if arguments is None else arguments, tool_call_id
    )


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def calls(wire: Wire) -> FunctionCalls:
    return FunctionCalls(wire.send, wire.spawn)


async def test_sync_handler_result_is_sent_back(wire: Wire, calls: FunctionCalls) -> None:
    seen: list[FunctionCallParams] = []

    def handler(params: FunctionCallParams) -> Any:
        seen.append(params)
        return {"temp": 21}

    calls.register("get_weather", handler)
    assert calls.dispatch(call()) is True
    await wire.run_all()
    assert seen == [call()]
    assert [(m["type"], m["data"]) for m in wire.sent] == [
        (
            "llm-function-call-result",
            {
                "function_name": "get_weather",
                "tool_call_id": "c1",
                "arguments": {"city": "Oslo"},
                "result": {"temp": 21},
            },
        )
    ]


async def test_async_handler_is_awaited(wire: Wire, calls: FunctionCalls) -> None:
    async def handler(params: FunctionCallParams) -> Any:
        return "done"

    calls.register("get_weather", handler)
    calls.dispatch(call())
    await wire.run_all()
    assert wire.sent[0]["data"]["result"] == "done"


async def test_each_tool_call_id_runs_once(wire: Wire, calls: FunctionCalls) -> None:
    runs: list[str] = []

    def handler(params: FunctionCallParams) -> str:
        runs.append(params.tool_call_id)
        return "ok"

    calls.register("get_weather", handler)
    for tool_call_id in ("a", "a", "b", "a", "b"):
        calls.dispatch(call(tool_call_id=tool_call_id))
    await wire.run_all()
    assert runs == ["a", "b"]
    assert len(wire.sent) == 2


async def test_calls_without_an_id_are_never_deduplicated(wire: Wire, calls: FunctionCalls) -> None:
    calls.register("get_weather", lambda p: "ok")
    assert calls.dispatch(call(tool_call_id=""))
    assert calls.dispatch(call(tool_call_id=""))
    await wire.run_all()
    assert len(wire.sent) == 2


def test_memory_of_ids_is_bounded(calls: FunctionCalls) -> None:
    assert calls.first_time("old")
    for i in range(SEEN_LIMIT):
        assert calls.first_time(f"id{i}")
    assert calls.first_time("old")  # forgotten: the oldest id fell out
    assert not calls.first_time(f"id{SEEN_LIMIT - 1}")


async def test_none_result_means_no_reply_unless_always_reply(
    wire: Wire, calls: FunctionCalls
) -> None:
    calls.register("get_weather", lambda p: None)
    calls.dispatch(call(tool_call_id="x"))
    await wire.run_all()
    assert wire.sent == []
    assert calls.start(lambda p: None, call(tool_call_id="y"), always_reply=True)
    await wire.run_all()
    assert [m["data"]["result"] for m in wire.sent] == [None]


async def test_raising_handler_answers_with_the_error(
    wire: Wire, calls: FunctionCalls, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(params: FunctionCallParams) -> Any:
        raise ValueError("no such city")

    calls.register("get_weather", handler)
    with caplog.at_level(logging.ERROR, logger="rtvi"):
        calls.dispatch(call())
        await wire.run_all()
    assert wire.sent[0]["data"]["result"] == {"error": "ValueError: no such city"}
    assert "get_weather" in caplog.text


async def test_a_reply_that_cannot_be_sent_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wire = Wire(fail_send=BotNotReadyError())
    calls = FunctionCalls(wire.send, wire.spawn)
    calls.register("get_weather", lambda p: "ok")
    with caplog.at_level(logging.WARNING, logger="rtvi"):
        calls.dispatch(call())
        await wire.run_all()
    assert "could not send the result of 'get_weather'" in caplog.text


def test_dispatch_without_a_handler_or_a_call(wire: Wire, calls: FunctionCalls) -> None:
    assert calls.dispatch(call()) is False
    assert calls.dispatch(None) is False
    calls.register("get_weather", lambda p: "ok")
    calls.unregister("get_weather")
    calls.unregister("never-registered")
    assert calls.dispatch(call()) is False
    calls.register("a", lambda p: 1)
    calls.register("b", lambda p: 2)
    calls.clear()
    assert calls.handlers == {} and wire.spawned == []
