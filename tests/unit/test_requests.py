"""Config, connected actions, RTVI 1.x messaging, function calls and LLMHelper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from rtvi import (
    BotNotReadyError,
    ConfigUpdateError,
    ErrorResponse,
    FunctionCallParams,
    LLMHelper,
    RTVIClient,
    RTVIError,
    RTVIEvent,
    UnsupportedFeatureError,
)
from rtvi.transports.memory import FakeBot

from .conftest import CONFIG, WAIT, next_event


async def test_get_update_describe_config(client: RTVIClient, bot: FakeBot) -> None:
    config_events = next_event(client, RTVIEvent.CONFIG)
    assert await client.get_config() == CONFIG
    assert (await asyncio.wait_for(config_events, WAIT)) == (CONFIG,)
    updated = next_event(client, RTVIEvent.CONFIG_UPDATED)
    new = await client.set_service_option_in_config("tts", {"name": "voice", "value": "v2"})
    reply = await client.update_config(new, interrupt=True)
    assert reply.type == "config"
    assert (await asyncio.wait_for(updated, WAIT))[0]["config"][0]["options"][0]["value"] == "v2"
    sent = await bot.wait_for("update-config")
    assert sent["data"]["interrupt"] is True
    assert await client.get_service_option_value_from_config("tts", "voice") == "v2"
    llm = await client.get_service_options_from_config("llm")
    assert llm is not None and llm["service"] == "llm"
    assert (
        await client.get_service_option_value_from_config("llm", "model", CONFIG) == "llama-3.1-8b"
    )
    both = await client.set_config_options(
        [{"service": "llm", "options": [{"name": "model", "value": "m2"}]}]
    )
    assert both[0]["options"][0]["value"] == "v2" and both[1]["options"][0]["value"] == "m2"
    described = await client.describe_config()
    assert described.type == "config-available"
    assert described.data["config"][0]["name"] == "tts"


async def test_update_config_refused_is_config_update_error(client: RTVIClient) -> None:
    with pytest.raises(ConfigUpdateError, match="Unknown service stt") as info:
        await client.update_config([{"service": "stt", "options": []}])
    assert info.value.status == 400
    assert isinstance(info.value.__cause__, ErrorResponse)


async def test_connected_action_and_describe_actions(client: RTVIClient, bot: FakeBot) -> None:
    bot.add_action(
        "llm",
        "run",
        lambda args: {"ran": args["interrupt"]},
        arguments=[{"name": "interrupt", "type": "bool"}],
    )
    reply = await client.action("llm", "run", [{"name": "interrupt", "value": True}])
    assert reply.type == "action-response" and reply.data == {"result": {"ran": True}}
    # the JS object form works too
    reply = await client.action(
        {"service": "llm", "action": "run", "arguments": [{"name": "interrupt", "value": False}]}
    )
    assert reply.data["result"] == {"ran": False}
    sent = await bot.wait_for("action")
    assert sent["data"] == {
        "service": "llm",
        "action": "run",
        "arguments": [{"name": "interrupt", "value": True}],
    }
    available = next_event(client, RTVIEvent.ACTIONS_AVAILABLE)
    actions = await client.describe_actions()
    assert actions.data["actions"][0]["action"] == "run"
    assert (await asyncio.wait_for(available, WAIT))[0] == actions.data
    with pytest.raises(ValueError, match="service and an action"):
        await client.action("llm", "")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_config(),
        lambda c: c.update_config([]),
        lambda c: c.describe_config(),
        lambda c: c.describe_actions(),
        lambda c: c.action("llm", "run"),
    ],
)
async def test_pipecat_1x_unsupported_types_fail_fast(
    make_client: Callable[..., RTVIClient], bot: FakeBot, call: Callable[[RTVIClient], Any]
) -> None:
    bot.supports_config_actions = False
    client = make_client(request_timeout=30)  # the answer, not the timeout, must end it
    await client.connect()
    unsupported = next_event(client, RTVIEvent.UNSUPPORTED_FEATURE)
    with pytest.raises(UnsupportedFeatureError, match="Unsupported type"):
        await asyncio.wait_for(call(client), WAIT)
    (exc,) = await asyncio.wait_for(unsupported, WAIT)
    assert isinstance(exc, UnsupportedFeatureError)


async def test_client_message_and_request(client: RTVIClient, bot: FakeBot) -> None:
    bot.on_client_message("add", lambda d: d["a"] + d["b"])

    def refuse(d: Any) -> Any:
        raise ValueError("not allowed")

    bot.on_client_message("refuse", refuse)
    assert await client.send_client_request("add", {"a": 2, "b": 3}) == 5
    with pytest.raises(ErrorResponse, match="not allowed"):
        await client.send_client_request("refuse")
    responses = next_event(client, RTVIEvent.SERVER_RESPONSE)
    assert await client.send_client_request("add", {"a": 1, "b": 1}) == 2
    assert (await asyncio.wait_for(responses, WAIT)) == ({"t": "add", "d": 2},)
    client.send_client_message("note", {"x": 1})
    sent = await bot.wait_for("client-message", lambda o: o["data"]["t"] == "note")
    assert sent["data"] == {"t": "note", "d": {"x": 1}}


async def test_client_request_to_an_old_bot_fails_fast(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    bot._on_client_message = None  # type: ignore[assignment,method-assign]  # RTVI 0.3 bot
    client = make_client(request_timeout=30)
    await client.connect()
    with pytest.raises(UnsupportedFeatureError, match="client-message"):
        await asyncio.wait_for(client.send_client_request("x"), WAIT)


async def test_send_text_and_bot_output(client: RTVIClient, bot: FakeBot) -> None:
    output = next_event(client, RTVIEvent.BOT_OUTPUT)
    client.send_text("hello", run_immediately=True, audio_response=False)
    (data,) = await asyncio.wait_for(output, WAIT)
    assert data["text"] == "You said: hello"
    assert bot.texts == [
        {"content": "hello", "options": {"run_immediately": True, "audio_response": False}}
    ]
    client.send_text("plain")
    await bot.wait_for("send-text", lambda o: o["data"] == {"content": "plain"})


async def test_append_to_context(client: RTVIClient, bot: FakeBot) -> None:
    def on_append(data: Any, msg_id: Any) -> None:
        bot._reply("append-to-context-result", {"result": data["role"] == "user"}, msg_id)

    bot._on_append_to_context = on_append  # type: ignore[attr-defined]
    assert await client.append_to_context("user", "hi", run_immediately=True) is True


async def test_disconnect_bot_message(client: RTVIClient, bot: FakeBot) -> None:
    await client.disconnect_bot()
    assert (await bot.wait_for("disconnect-bot"))["data"] == {}


@pytest.mark.parametrize("legacy", [True, False])
async def test_registered_function_call_handler(
    client: RTVIClient, bot: FakeBot, legacy: bool
) -> None:
    calls: list[FunctionCallParams] = []

    async def weather(params: FunctionCallParams) -> Any:
        calls.append(params)
        return {"temp": 21}

    client.register_function_call_handler("get_weather", weather)
    call_id = bot.call_function("get_weather", {"city": "Paris"}, legacy=legacy)
    result = await bot.wait_for("llm-function-call-result")
    assert result["data"] == {
        "function_name": "get_weather",
        "tool_call_id": call_id,
        "arguments": {"city": "Paris"},
        "result": {"temp": 21},
    }
    assert calls == [FunctionCallParams("get_weather", {"city": "Paris"}, call_id)]


async def test_function_call_handler_edge_cases(client: RTVIClient, bot: FakeBot) -> None:
    def fails(params: FunctionCallParams) -> Any:
        raise KeyError("no such city")

    client.register_function_call_handler("fails", fails)
    client.register_function_call_handler("silent", lambda p: None)
    # 1.x bots send both the legacy call and in-progress for the same tool call: run once
    tool = "call_same"
    bot.send("llm-function-call", {"function_name": "fails", "tool_call_id": tool, "args": {}})
    bot.send(
        "llm-function-call-in-progress",
        {"function_name": "fails", "tool_call_id": tool, "arguments": {}},
    )
    result = await bot.wait_for("llm-function-call-result")
    assert "no such city" in result["data"]["result"]["error"]
    bot.call_function("silent", {}, legacy=False)  # None → no result sent
    client.unregister_function_call_handler("fails")
    client.unregister_all_function_call_handlers()
    bot.on_client_message("sync", lambda d: "ok")
    assert await client.send_client_request("sync") == "ok"  # the bot has processed everything
    assert len(bot.function_results) == 1


async def test_llm_helper_actions_and_function_calls(client: RTVIClient, bot: FakeBot) -> None:
    context = {"messages": [{"role": "system", "content": "hi"}]}
    bot.add_action("llm", "get_context", lambda a: context)
    bot.add_action("llm", "set_context", lambda a: bool(a["messages"]) and not a["interrupt"])
    bot.add_action("llm", "append_to_messages", lambda a: a["run_immediately"])
    bot.add_action("llm", "run", lambda a: "ran")
    starts: list[Any] = []
    completions: list[Any] = []
    helper_calls: list[Any] = []
    llm = LLMHelper(
        callbacks={
            "on_llm_function_call_start": starts.append,
            "on_llm_json_completion": completions.append,
            "on_llm_function_call": helper_calls.append,
        }
    )
    client.register_helper("llm", llm)
    assert await llm.get_context() == context
    assert await llm.set_context(context) is True
    assert await llm.append_to_messages({"role": "user", "content": "x"}, run_immediately=True)
    assert await llm.run(interrupt=True) == "ran"
    sent = await bot.wait_for("action", lambda o: o["data"]["action"] == "append_to_messages")
    assert sent["data"]["arguments"] == [
        {"name": "messages", "value": [{"role": "user", "content": "x"}]},
        {"name": "run_immediately", "value": True},
    ]

    llm.handle_function_call(lambda p: f"{p.function_name}:{p.arguments['q']}")
    client_event = next_event(client, RTVIEvent.LLM_FUNCTION_CALL)
    call_id = bot.call_function("lookup", {"q": "x"})
    result = await bot.wait_for("llm-function-call-result")
    assert result["data"]["result"] == "lookup:x" and result["data"]["tool_call_id"] == call_id
    assert (await asyncio.wait_for(client_event, WAIT))[0]["function_name"] == "lookup"
    assert helper_calls[0]["function_name"] == "lookup"
    done = next_event(client, "metrics")
    bot.send("llm-function-call-start", {"function_name": "lookup"})
    bot.send("llm-json-completion", '{"a": 1}')
    bot.send("metrics", {})
    await asyncio.wait_for(done, WAIT)
    assert starts == ["lookup"] and completions == ['{"a": 1}']


async def test_llm_helper_requires_registration_and_ready(
    make_client: Callable[..., RTVIClient],
) -> None:
    llm = LLMHelper()
    with pytest.raises(RTVIError, match="not registered"):
        await llm.get_context()
    client = make_client()
    client.register_helper("llm", llm)
    with pytest.raises(BotNotReadyError):
        await llm.run()
    with pytest.raises(BotNotReadyError):
        await llm.set_context({"messages": []})
