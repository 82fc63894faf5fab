"""Inbound dispatch: every event type, correlation, malformed input, helpers, robustness."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from rtvi import (
    CALLBACK_EVENTS,
    BotNotReadyError,
    ErrorResponse,
    MessageTooLargeError,
    RequestCancelledError,
    RequestTimeoutError,
    RTVIClient,
    RTVIClientHelper,
    RTVIError,
    RTVIEvent,
    RTVIMessage,
    TransportState,
)
from rtvi.transports.memory import BOT, FakeBot, MemoryTransport

from .conftest import WAIT, next_event

# message type → (event, data sent, args the event carries)
ROUTES: list[tuple[str, RTVIEvent, Any, tuple[Any, ...]]] = [
    ("user-started-speaking", RTVIEvent.USER_STARTED_SPEAKING, None, ()),
    ("user-stopped-speaking", RTVIEvent.USER_STOPPED_SPEAKING, None, ()),
    ("bot-started-speaking", RTVIEvent.BOT_STARTED_SPEAKING, None, ()),
    ("bot-stopped-speaking", RTVIEvent.BOT_STOPPED_SPEAKING, None, ()),
    ("user-mute-started", RTVIEvent.USER_MUTE_STARTED, None, ()),
    ("user-mute-stopped", RTVIEvent.USER_MUTE_STOPPED, None, ()),
    (
        "user-transcription",
        RTVIEvent.USER_TRANSCRIPT,
        {"text": "hi", "final": True, "timestamp": "t", "user_id": "u"},
        ({"text": "hi", "final": True, "timestamp": "t", "user_id": "u"},),
    ),
    ("bot-transcription", RTVIEvent.BOT_TRANSCRIPT, {"text": "a."}, ({"text": "a."},)),
    (
        "bot-output",
        RTVIEvent.BOT_OUTPUT,
        {"text": "a", "aggregated_by": "word"},
        ({"text": "a", "aggregated_by": "word"},),
    ),
    ("user-llm-text", RTVIEvent.USER_LLM_TEXT, {"text": "q"}, ({"text": "q"},)),
    ("bot-llm-text", RTVIEvent.BOT_LLM_TEXT, {"text": "tok"}, ({"text": "tok"},)),
    ("bot-llm-text", RTVIEvent.BOT_TEXT, {"text": "tok"}, ({"text": "tok"},)),
    ("bot-llm-started", RTVIEvent.BOT_LLM_STARTED, None, ()),
    ("bot-llm-stopped", RTVIEvent.BOT_LLM_STOPPED, None, ()),
    ("bot-tts-text", RTVIEvent.BOT_TTS_TEXT, {"text": "w"}, ({"text": "w"},)),
    ("bot-tts-started", RTVIEvent.BOT_TTS_STARTED, None, ()),
    ("bot-tts-stopped", RTVIEvent.BOT_TTS_STOPPED, None, ()),
    (
        "metrics",
        RTVIEvent.METRICS,
        {"ttfb": [{"processor": "p", "value": 0.1}]},
        ({"ttfb": [{"processor": "p", "value": 0.1}]},),
    ),
    ("server-message", RTVIEvent.SERVER_MESSAGE, {"any": 1}, ({"any": 1},)),
    (
        "storage-item-stored",
        RTVIEvent.STORAGE_ITEM_STORED,
        {"action": "a", "items": []},
        ({"action": "a", "items": []},),
    ),
    (
        "bot-llm-search-response",
        RTVIEvent.BOT_LLM_SEARCH_RESPONSE,
        {"origins": []},
        ({"origins": []},),
    ),
    (
        "llm-function-call-started",
        RTVIEvent.LLM_FUNCTION_CALL_STARTED,
        {"function_name": "f"},
        ({"function_name": "f"},),
    ),
    (
        "llm-function-call-in-progress",
        RTVIEvent.LLM_FUNCTION_CALL_IN_PROGRESS,
        {"tool_call_id": "c", "function_name": "f", "arguments": {}},
        ({"tool_call_id": "c", "function_name": "f", "arguments": {}},),
    ),
    (
        "llm-function-call-stopped",
        RTVIEvent.LLM_FUNCTION_CALL_STOPPED,
        {"tool_call_id": "c", "cancelled": False},
        ({"tool_call_id": "c", "cancelled": False},),
    ),
    (
        "llm-function-call",
        RTVIEvent.LLM_FUNCTION_CALL,
        {"function_name": "f", "tool_call_id": "c", "args": {}},
        ({"function_name": "f", "tool_call_id": "c", "args": {}},),
    ),
    ("llm-function-call-start", RTVIEvent.LLM_FUNCTION_CALL_START, {"function_name": "f"}, ("f",)),
    ("llm-json-completion", RTVIEvent.LLM_JSON_COMPLETION, '{"a":1}', ('{"a":1}',)),
    ("config", RTVIEvent.CONFIG, {"config": [1]}, ([1],)),
    ("config-available", RTVIEvent.CONFIG_DESCRIBE, {"config": []}, ({"config": []},)),
    ("actions-available", RTVIEvent.ACTIONS_AVAILABLE, {"actions": []}, ({"actions": []},)),
    ("server-response", RTVIEvent.SERVER_RESPONSE, {"t": "x", "d": 1}, ({"t": "x", "d": 1},)),
    ("ui-command", RTVIEvent.UI_COMMAND, {"command": "c"}, ({"command": "c"},)),
    ("some-future-type", RTVIEvent.GENERIC_MESSAGE, {"x": 1}, ({"x": 1},)),
]


@pytest.mark.parametrize(("msg_type", "event", "data", "args"), ROUTES)
async def test_each_message_type_fires_callback_and_event(
    make_client: Callable[..., RTVIClient],
    bot: FakeBot,
    msg_type: str,
    event: RTVIEvent,
    data: Any,
    args: tuple[Any, ...],
) -> None:
    callback_name = next(n for n, e in CALLBACK_EVENTS.items() if e is event)
    via_callback: list[tuple[Any, ...]] = []
    client = make_client(callbacks={callback_name: lambda *a: via_callback.append(a)})
    await client.connect()
    fired = next_event(client, event)
    bot.send(msg_type, data)
    assert await asyncio.wait_for(fired, WAIT) == args
    assert via_callback == [args]


async def test_error_message_accepts_error_and_message_keys(
    client: RTVIClient, bot: FakeBot
) -> None:
    for data in ({"error": "stt down", "fatal": False}, {"message": "tts down", "fatal": False}):
        fired = next_event(client, "error")
        bot.send("error", data)
        (msg,) = await asyncio.wait_for(fired, WAIT)
        assert isinstance(msg, RTVIMessage) and msg.data == data
    assert client.state == TransportState.READY


async def test_fatal_error_disconnects(client: RTVIClient, bot: FakeBot) -> None:
    gone = next_event(client, RTVIEvent.DISCONNECTED)
    bot.send("error", {"error": "pipeline crashed", "fatal": True})
    await asyncio.wait_for(gone, WAIT)
    assert client.state == TransportState.DISCONNECTED


@pytest.mark.parametrize(
    "raw",
    ["{not json", b"\xff", "[]", '{"label":"rtvi-ai","data":{}}', '{"label":"rtvi-ai","type":7}'],
)
async def test_malformed_message_fires_message_error_and_client_carries_on(
    client: RTVIClient, bot: FakeBot, raw: str | bytes
) -> None:
    bad = next_event(client, RTVIEvent.MESSAGE_ERROR)
    bot.send_raw(raw)
    (msg,) = await asyncio.wait_for(bad, WAIT)
    assert msg.type == "error-response" and msg.data["error"]
    assert msg.data["fatal"] is False
    # still fully working
    assert await client.get_config()


async def test_foreign_label_is_ignored_quietly(client: RTVIClient, bot: FakeBot) -> None:
    errors: list[Any] = []
    generic: list[Any] = []
    client.on("messageError", errors.append)
    client.on("genericMessage", generic.append)
    bot.send_raw('{"label":"something-else","type":"bot-ready"}')
    fired = next_event(client, "metrics")
    bot.send("metrics", {})
    await asyncio.wait_for(fired, WAIT)
    assert errors == [] and generic == []


async def test_raising_callbacks_never_break_dispatch(
    make_client: Callable[..., RTVIClient], bot: FakeBot, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*_: Any) -> None:
        raise RuntimeError("user bug")

    async def async_boom(*_: Any) -> None:
        raise RuntimeError("async user bug")

    client = make_client(
        callbacks={
            "on_bot_ready": boom,
            "on_transport_state_changed": boom,
            "on_metrics": async_boom,
        }
    )
    client.on("botReady", boom)
    with caplog.at_level(logging.ERROR, logger="rtvi"):
        assert (await client.connect())["version"]
        fired = next_event(client, "metrics")
        bot.send("metrics", {"x": 1})
        await asyncio.wait_for(fired, WAIT)
        # the coroutine callback was scheduled; wait for it (its failure is only logged)
        await asyncio.wait_for(asyncio.gather(*client._tasks, return_exceptions=True), WAIT)
    assert "user bug" in caplog.text and "async user bug" in caplog.text
    assert client.state == TransportState.READY


async def test_async_callbacks_are_scheduled_not_awaited(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    gate = asyncio.Event()
    finished = asyncio.Event()

    async def slow(data: Any) -> None:
        await gate.wait()
        finished.set()

    client = make_client(callbacks={"on_metrics": slow})
    await client.connect()
    seen = next_event(client, "metrics")
    bot.send("metrics", {})
    await asyncio.wait_for(seen, WAIT)  # the event fired although the callback is still waiting
    assert not finished.is_set()
    gate.set()
    await asyncio.wait_for(finished.wait(), WAIT)


async def test_transport_events_reach_callbacks(
    client: RTVIClient, transport: MemoryTransport
) -> None:
    left = next_event(client, RTVIEvent.BOT_DISCONNECTED)
    await client.disconnect_bot()
    assert await asyncio.wait_for(left, WAIT) == (BOT,)
    mic = next_event(client, RTVIEvent.MIC_UPDATED)
    await client.update_mic("memory-mic")
    assert (await asyncio.wait_for(mic, WAIT))[0].device_id == "memory-mic"
    assert [d.device_id for d in await client.get_all_mics()] == ["memory-mic"]
    assert await client.get_all_cams() == []
    assert client.selected_mic is not None and client.selected_cam is None
    assert client.selected_speaker is not None
    assert [d.kind for d in await client.get_all_speakers()] == ["audiooutput"]
    client.enable_mic(False)
    assert not client.is_mic_enabled and not client.is_cam_enabled
    client.enable_cam(True)
    assert client.is_cam_enabled
    assert client.tracks().local.audio is None
    assert not client.is_sharing_screen
    with pytest.raises(RTVIError, match="screen share is not supported"):
        client.enable_screen_share(True)
    assert client.transport_expiry is None
    transport.callbacks.on_local_audio_level(0.5)


# --- requests -------------------------------------------------------------------------------


async def test_request_timeout_is_typed(client: RTVIClient, bot: FakeBot) -> None:
    bot.reply_delay = 10
    with pytest.raises(RequestTimeoutError, match="get-config") as info:
        await client.get_config(timeout=0.05)
    assert info.value.request_type == "get-config" and info.value.timeout == 0.05


async def test_disconnect_cancels_pending_requests(client: RTVIClient, bot: FakeBot) -> None:
    bot.reply_delay = 10
    pending = asyncio.ensure_future(client.describe_actions())
    await bot.wait_for("describe-actions")
    await client.disconnect()
    with pytest.raises(RequestCancelledError):
        await asyncio.wait_for(pending, WAIT)


async def test_error_response_rejects_the_matching_request(
    client: RTVIClient, bot: FakeBot
) -> None:
    message_errors = next_event(client, RTVIEvent.MESSAGE_ERROR)
    with pytest.raises(ErrorResponse, match="Action tts:say not registered") as info:
        await client.action("tts", "say", [{"name": "text", "value": "hi"}])
    assert info.value.rtvi_message is not None and info.value.rtvi_message.type == "error-response"
    (msg,) = await asyncio.wait_for(message_errors, WAIT)
    assert msg.data == {"error": "Action tts:say not registered"}


async def test_ready_gated_methods_raise_when_not_ready(
    make_client: Callable[..., RTVIClient],
) -> None:
    client = make_client()
    with pytest.raises(BotNotReadyError):
        await client.get_config()
    with pytest.raises(BotNotReadyError):
        await client.describe_config()
    with pytest.raises(BotNotReadyError):
        client.send_client_message("x")
    with pytest.raises(BotNotReadyError):
        client.send_text("hi")
    with pytest.raises(BotNotReadyError):
        await client.disconnect_bot()
    with pytest.raises(BotNotReadyError):
        client.send_message(RTVIMessage("x"))
    with pytest.raises(BotNotReadyError):
        _ = client.transport_expiry


async def test_message_too_large(make_client: Callable[..., RTVIClient], bot: FakeBot) -> None:
    client = make_client(transport=MemoryTransport(bot, max_message_size=300))
    await client.connect()
    with pytest.raises(MessageTooLargeError) as info:
        client.send_client_message("big", "x" * 400)
    assert info.value.max_size == 300 and info.value.size > 400
    with pytest.raises(MessageTooLargeError):
        await client.send_client_request("big", "x" * 400)
    assert client.state == TransportState.READY
    assert len(client._dispatcher) == 0  # the failed request left nothing pending


async def test_bot_version_parsed_for_old_bots(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    bot.protocol_version = "0.3.0"
    client = make_client()
    data = await client.connect()
    assert client.bot_version == (0, 3, 0)
    assert data["config"][0]["service"] == "tts"  # 0.3 bots include their config


async def test_version_unknown_error_response_does_not_break_connect(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    """pipecat ≥1.0 answers a version-less client-ready with error-response, then bot-ready."""
    original = bot._on_client_ready

    def warn_then_ready(data: Any, msg_id: Any) -> None:
        bot._reply("error-response", {"error": "Client version unknown."}, msg_id)
        original(data, msg_id)

    bot._on_client_ready = warn_then_ready  # type: ignore[method-assign]
    client = make_client()
    errors = next_event(client, RTVIEvent.MESSAGE_ERROR)
    assert (await client.connect())["version"] == "1.0.0"
    assert (await asyncio.wait_for(errors, WAIT))[0].data["error"] == "Client version unknown."


# --- helpers --------------------------------------------------------------------------------


class EchoHelper(RTVIClientHelper):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[RTVIMessage] = []

    def get_message_types(self) -> list[str]:
        return ["custom-thing"]

    def handle_message(self, message: RTVIMessage) -> None:
        self.seen.append(message)


async def test_helpers_get_their_types_before_generic(client: RTVIClient, bot: FakeBot) -> None:
    helper = EchoHelper()
    assert client.register_helper("echo", helper) is helper
    assert helper.client is client and helper.service == "echo"
    assert client.get_helper("echo") is helper
    with pytest.raises(RTVIError, match="already registered"):
        client.register_helper("echo", EchoHelper())
    with pytest.raises(TypeError):
        client.register_helper("bad", object())  # type: ignore[arg-type]
    generic: list[Any] = []
    client.on("genericMessage", generic.append)
    done = next_event(client, "metrics")
    bot.send("custom-thing", {"n": 1})
    bot.send("other-thing", {"n": 2})
    bot.send("metrics", {})
    await asyncio.wait_for(done, WAIT)
    assert [m.data for m in helper.seen] == [{"n": 1}]
    assert generic == [{"n": 2}]
    client.unregister_helper("echo")
    assert client.get_helper("echo") is None and helper.client is None
    done = next_event(client, "metrics")
    bot.send("custom-thing", {"n": 3})
    bot.send("metrics", {})
    await asyncio.wait_for(done, WAIT)
    assert generic == [{"n": 2}, {"n": 3}]
