"""Pure modules: SSE parser, config helpers, states, events, params, errors."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import pytest
from rtvi import (
    CALLBACK_EVENTS,
    Endpoints,
    ErrorResponse,
    InvalidMessageError,
    RTVIClientParams,
    RTVIEvent,
    RTVIMessage,
    TransportState,
)
from rtvi import config as cfg
from rtvi.errors import error_text
from rtvi.events import EventEmitter, normalize_callbacks, snake_callback_name
from rtvi.sse import SSEParser, decode_event_data

from .conftest import CONFIG


def b64(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


# --- SSE ----------------------------------------------------------------------------------------


def test_sse_events_split_across_arbitrary_chunks() -> None:
    payloads = [b64({"n": i, "text": "x" * i}) for i in range(5)]
    stream = "".join(f"data: {p}\n\n" for p in payloads)
    for size in (1, 3, 7, len(stream)):
        parser = SSEParser()
        out: list[str] = []
        for i in range(0, len(stream), size):
            out += parser.feed(stream[i : i + size])
        out += parser.close()
        assert out == payloads


def test_sse_multiline_data_and_ignored_fields() -> None:
    payload = b64({"label": "rtvi-ai", "type": "bot-llm-text", "data": {"text": "hi"}})
    half = len(payload) // 2
    text = (
        ": a comment\r\n"
        "event: message\r\n"
        f"data: {payload[:half]}\r\n"
        f"data:{payload[half:]}\r\n"
        "id: 7\r\nretry: 100\r\n\r\n"
        "event: only-an-event\n\n"  # no data: no event
    )
    parser = SSEParser()
    assert parser.feed(text) == [payload]
    assert decode_event_data(payload)["type"] == "bot-llm-text"


def test_sse_crlf_split_between_chunks_and_unterminated_tail() -> None:
    parser = SSEParser()
    assert parser.feed("data: a\r") == []
    assert parser.feed("\n\r\n") == ["a"]
    assert parser.feed("data: b") == []
    assert parser.close() == ["b"]


def test_decode_event_data_accepts_json_and_rejects_garbage() -> None:
    assert decode_event_data('{"a": 1}') == {"a": 1}
    assert decode_event_data(b64({"a": 2}).rstrip("=")) == {"a": 2}
    with pytest.raises(InvalidMessageError, match="neither JSON nor base64"):
        decode_event_data("not base64 !!")
    with pytest.raises(InvalidMessageError, match="not JSON"):
        decode_event_data(base64.b64encode(b"hello").decode())
    with pytest.raises(InvalidMessageError, match="not valid JSON"):
        decode_event_data("{broken")


# --- config helpers -----------------------------------------------------------------------------


def test_config_getters() -> None:
    assert cfg.get_service_options(CONFIG, "tts") == CONFIG[0]
    assert cfg.get_service_options(CONFIG, "stt") is None
    assert cfg.get_service_option_value(CONFIG, "llm", "model") == "llama-3.1-8b"
    assert cfg.get_service_option_value(CONFIG, "llm", "nope") is None
    assert cfg.get_service_option_value(CONFIG, "nope", "model") is None


def test_config_setters_copy_and_replace_or_append() -> None:
    before = json.dumps(CONFIG)
    new = cfg.set_service_option(CONFIG, "tts", {"name": "voice", "value": "v2"})
    assert cfg.get_service_option_value(new, "tts", "voice") == "v2"
    assert json.dumps(CONFIG) == before  # input untouched
    new = cfg.set_service_option(CONFIG, "tts", [{"name": "speed", "value": 1.2}])
    assert [o["name"] for o in new[0]["options"]] == ["voice", "speed"]
    assert cfg.set_service_option(CONFIG, "absent", {"name": "a", "value": 1}) == CONFIG
    new = cfg.set_config_options(
        CONFIG,
        [
            {"service": "tts", "options": [{"name": "voice", "value": "v3"}]},
            {"service": "llm", "options": [{"name": "model", "value": "m2"}]},
        ],
    )
    assert cfg.get_service_option_value(new, "tts", "voice") == "v3"
    assert cfg.get_service_option_value(new, "llm", "model") == "m2"
    assert json.dumps(CONFIG) == before


def test_config_helpers_reject_bad_input() -> None:
    with pytest.raises(TypeError, match="list of service entries"):
        cfg.get_service_options({"service": "x"}, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a 'name'"):
        cfg.set_service_option(CONFIG, "tts", {"value": 1})
    with pytest.raises(TypeError, match="needs a 'service'"):
        cfg.set_config_options(CONFIG, [{"options": []}])


# --- states, events, params, errors -------------------------------------------------------------


def test_transport_states_in_order_with_js_values() -> None:
    assert [s.value for s in TransportState] == [
        "disconnected",
        "initializing",
        "initialized",
        "authenticating",
        "connecting",
        "connected",
        "ready",
        "disconnecting",
        "error",
    ]
    assert TransportState.READY == "ready"


def test_event_values_are_the_js_names() -> None:
    assert RTVIEvent.BOT_READY == "botReady"
    assert RTVIEvent.PARTICIPANT_CONNECTED == "participantConnected"
    assert RTVIEvent.LLM_FUNCTION_CALL_IN_PROGRESS == "llmFunctionCallInProgress"
    assert CALLBACK_EVENTS["on_participant_joined"] is RTVIEvent.PARTICIPANT_CONNECTED
    assert CALLBACK_EVENTS["on_media_state_changed"] is RTVIEvent.MEDIA_STATE_UPDATED
    assert CALLBACK_EVENTS["on_bot_llm_text"] is RTVIEvent.BOT_LLM_TEXT
    assert set(CALLBACK_EVENTS.values()) == set(RTVIEvent)


def test_callback_names_accept_js_spelling_and_reject_typos() -> None:
    assert snake_callback_name("onLLMFunctionCallInProgress") == "on_llm_function_call_in_progress"
    assert snake_callback_name("onUICommand") == "on_ui_command"

    def fn() -> None: ...

    assert normalize_callbacks({"onBotReady": fn, "on_metrics": fn, "on_error": None}) == {
        "on_bot_ready": fn,
        "on_metrics": fn,
    }

    class Obj:
        def on_bot_ready(self) -> None: ...

    assert list(normalize_callbacks(Obj())) == ["on_bot_ready"]
    with pytest.raises(TypeError, match="unknown callback 'on_bot_redy'"):
        normalize_callbacks({"on_bot_redy": fn})
    with pytest.raises(TypeError, match="not callable"):
        normalize_callbacks({"on_bot_ready": 3})


async def test_emitter_order_once_off_errors_and_async(caplog: pytest.LogCaptureFixture) -> None:
    emitter = EventEmitter()
    calls: list[str] = []
    done = asyncio.Event()

    def boom(*_: Any) -> None:
        raise RuntimeError("handler bug")

    async def later(value: int) -> None:
        calls.append(f"async{value}")
        done.set()

    emitter.on("metrics", lambda v: calls.append(f"a{v}"))
    emitter.on(RTVIEvent.METRICS, boom)
    emitter.once("metrics", lambda v: calls.append(f"once{v}"))
    emitter.on("metrics", later)

    @emitter.on("metrics")
    def decorated(v: int) -> None:
        calls.append(f"d{v}")

    with caplog.at_level(logging.ERROR, logger="rtvi"):
        emitter.emit("metrics", 1)
    assert calls == ["a1", "once1", "d1"]  # async one scheduled, not awaited inline
    await asyncio.wait_for(done.wait(), 5)
    assert calls[-1] == "async1"
    assert "handler bug" in caplog.text
    emitter.off("metrics", decorated)
    emitter.emit("metrics", 2)
    assert "once2" not in calls and "d2" not in calls and "a2" in calls
    assert emitter.listener_count("metrics") == 3
    emitter.remove_all_listeners()
    assert emitter.listener_count("metrics") == 0
    with pytest.raises(ValueError, match="unknown RTVI event"):
        emitter.on("botRedy", print)


def test_params_defaults_aliases_and_validation() -> None:
    p = RTVIClientParams()
    assert (p.endpoints.connect, p.endpoints.action) == ("/connect", "/action")
    p = RTVIClientParams.coerce(
        {"baseUrl": "http://x", "endpoints": {"action": "/act"}, "requestData": {"a": 1}, "foo": 2}
    )
    assert p.base_url == "http://x"
    assert p.endpoints == Endpoints(connect="/connect", action="/act")
    assert p.request_data == {"a": 1}
    assert p.extra == {"foo": 2}
    with pytest.raises(TypeError, match="unknown endpoint"):
        RTVIClientParams(endpoints={"conect": "/x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        RTVIClientParams.coerce("http://x")  # type: ignore[arg-type]


def test_error_text_and_error_response() -> None:
    assert error_text({"error": "a"}) == "a"
    assert error_text({"message": "b", "fatal": True}) == "b"
    assert error_text("c") == "c"
    assert error_text(None) == ""
    exc = ErrorResponse(RTVIMessage("error-response", {"error": "nope"}, id="1"))
    assert exc.error == "nope" and exc.rtvi_message is not None and str(exc) == "nope"
