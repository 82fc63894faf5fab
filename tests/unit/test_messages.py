"""The RTVI envelope: ids, serialization, validation, builders, versions, typed payloads."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from rtvi import InvalidMessageError, MessageType, RTVIMessage
from rtvi import messages as m


def test_ids_are_8_hex_and_unique() -> None:
    ids = {m.new_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids)


def test_envelope_to_wire() -> None:
    msg = RTVIMessage("get-config", id="abcd1234")
    assert msg.to_dict() == {"id": "abcd1234", "label": "rtvi-ai", "type": "get-config", "data": {}}
    assert json.loads(msg.to_json()) == msg.to_dict()
    assert msg.byte_size() == len(msg.to_json().encode())
    assert (
        RTVIMessage("x", {"t": "é"}).byte_size() > len(RTVIMessage("x", {"t": "e"}).to_json()) - 1
    )
    assert RTVIMessage("x", {"t": "é€😀"}, id="1").byte_size() == len(
        RTVIMessage("x", {"t": "é€😀"}, id="1").to_json().encode()
    )


def test_serialized_once_holds_the_text_for_one_send_only() -> None:
    data = {"n": 1}
    msg = RTVIMessage("x", data, id="1")
    other = RTVIMessage("x", data, id="2")
    with m.serialized_once(msg) as text:
        assert text == msg.to_json() == '{"id":"1","label":"rtvi-ai","type":"x","data":{"n":1}}'
        data["n"] = 2  # not seen inside the block: one send, one serialization
        assert msg.to_json() == text and msg.byte_size() == len(text)
        assert json.loads(other.to_json())["data"] == {"n": 2}  # other messages as they are
    assert json.loads(msg.to_json())["data"] == {"n": 2}  # and after it, as it is
    assert m._held_json == {}


@pytest.mark.parametrize(
    "raw",
    [
        '{"label":"rtvi-ai","type":"bot-ready","id":"1","data":{"version":"1.0.0"}}',
        b'{"label":"rtvi-ai","type":"bot-ready","id":"1","data":{"version":"1.0.0"}}',
        {"label": "rtvi-ai", "type": "bot-ready", "id": "1", "data": {"version": "1.0.0"}},
    ],
)
def test_parse_accepts_text_bytes_and_dicts(raw: object) -> None:
    msg = m.parse_message(raw)  # type: ignore[arg-type]
    assert (msg.type, msg.id, msg.data) == ("bot-ready", "1", {"version": "1.0.0"})


def test_parse_event_without_id_or_data() -> None:
    msg = m.parse_message('{"label":"rtvi-ai","type":"bot-started-speaking"}')
    assert (msg.type, msg.id, msg.data) == ("bot-started-speaking", "", None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        ("[1, 2]", "JSON object"),
        ('{"label":"rtvi-ai"}', "no 'type'"),
        ('{"label":"rtvi-ai","type":""}', "no 'type'"),
        ('{"label":"rtvi-ai","type":"x","id":[1]}', "'id' must be a string"),
    ],
)
def test_parse_rejects_with_clear_reason(raw: str | bytes, reason: str) -> None:
    with pytest.raises(InvalidMessageError, match=re.escape(reason)) as info:
        m.parse_message(raw)
    assert info.value.raw == raw


def test_foreign_label_is_its_own_error() -> None:
    with pytest.raises(m.NotRTVIMessageError):
        m.parse_message('{"label":"other","type":"x"}')
    with pytest.raises(m.NotRTVIMessageError):
        m.parse_message('{"type":"signalling","message":{}}')


def test_builders() -> None:
    ready = m.client_ready("1.0.0", {"library": "pyrtvi"})
    assert ready.type == MessageType.CLIENT_READY
    assert ready.data == {"version": "1.0.0", "about": {"library": "pyrtvi"}}
    assert m.update_config([{"service": "s", "options": []}], True).data == {
        "config": [{"service": "s", "options": []}],
        "interrupt": True,
    }
    assert m.action("llm", "run").data == {"service": "llm", "action": "run", "arguments": []}
    assert m.client_message("ping").data == {"t": "ping"}
    assert m.client_message("ping", {"a": 1}).data == {"t": "ping", "d": {"a": 1}}
    assert m.send_text("hi").data == {"content": "hi"}
    assert m.send_text("hi", {"run_immediately": False}).data == {
        "content": "hi",
        "options": {"run_immediately": False},
    }
    assert m.llm_function_call_result("f", "c1", {"a": 1}, 2).data == {
        "function_name": "f",
        "tool_call_id": "c1",
        "arguments": {"a": 1},
        "result": 2,
    }
    assert m.disconnect_bot().type == "disconnect-bot"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.0.0", (1, 0, 0)),
        ("0.3", (0, 3)),
        ("v2.1.0-rc1", (2, 1, 0)),
        ("", None),
        (None, None),
        ("abc", None),
        (3, None),
    ],
)
def test_parse_version(text: object, expected: tuple[int, ...] | None) -> None:
    assert m.parse_version(text) == expected


# --- typed payloads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        ({"a": 1}, "a", 1),
        ({"a": 1}, "b", None),
        (["a"], "a", None),
        (None, "a", None),
        ("a", "a", None),
    ],
)
def test_data_field(data: object, name: str, expected: object) -> None:
    assert m.data_field(data, name) == expected


def test_data_field_default() -> None:
    assert m.data_field(None, "x", default=3) == 3 and m.data_field({}, "x", 4) == 4


@pytest.mark.parametrize(
    ("data", "version"),
    [
        ({"version": "1.0.0", "about": {}}, (1, 0, 0)),
        ({"version": "bogus"}, None),
        ({}, None),
        ([1, 2], None),
    ],
)
def test_bot_ready(data: object, version: tuple[int, ...] | None) -> None:
    ready = m.BotReady.parse(data)
    assert ready.data == data and ready.version == version


def test_bot_ready_without_data_is_an_empty_object() -> None:
    assert m.BotReady.parse(None) == m.BotReady({}, None)


@pytest.mark.parametrize(
    ("data", "text", "fatal"),
    [
        ({"error": "stt down", "fatal": True}, "stt down", True),
        ({"message": "tts down"}, "tts down", False),
        ({"fatal": 1}, "", True),
        ("plain", "plain", False),
        (None, "", False),
    ],
)
def test_error_payload(data: object, text: str, fatal: bool) -> None:
    assert m.ErrorPayload.parse(data) == m.ErrorPayload(text, fatal)


@pytest.mark.parametrize(
    ("data", "legacy", "expected"),
    [
        (
            {"function_name": "f", "tool_call_id": "c", "arguments": {"a": 1}},
            False,
            m.FunctionCallParams("f", {"a": 1}, "c"),
        ),
        ({"function_name": "f", "args": {"a": 1}}, False, m.FunctionCallParams("f", {"a": 1}, "")),
        (
            {
                "function_name": "f",
                "tool_call_id": "c",
                "args": {"old": 1},
                "arguments": {"new": 1},
            },
            True,
            m.FunctionCallParams("f", {"old": 1}, "c"),
        ),
        (
            {"function_name": "f", "arguments": {"new": 1}},
            True,
            m.FunctionCallParams("f", {"new": 1}, ""),
        ),
        ({"tool_call_id": 7}, False, m.FunctionCallParams("", None, "7")),
        ("junk", False, None),
        (None, True, None),
    ],
)
def test_function_call_params(
    data: object, legacy: bool, expected: m.FunctionCallParams | None
) -> None:
    assert m.FunctionCallParams.parse(data, legacy=legacy) == expected


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("{bad", "{bad"), (b"\xff" * 300, "\ufffd" * 200), ({"a": 1}, "{'a': 1}"), (None, "")],
)
def test_malformed_report(raw: object, shown: str) -> None:
    report = m.malformed_report(InvalidMessageError("message is not valid JSON", raw))
    assert (report.type, report.id) == ("error-response", "")
    assert report.data == {"error": "message is not valid JSON", "fatal": False, "raw": shown}


def test_jsonable_turns_client_values_into_json_data() -> None:
    @dataclasses.dataclass
    class Point:
        x: int
        tags: tuple[str, ...]

    message = RTVIMessage("bot-ready", {"version": "1.0.0"}, id="abc")
    value = {1: [message, Point(2, ("a",)), ValueError("no"), None, 1.5, object]}
    assert json.loads(json.dumps(m.jsonable(value))) == {
        "1": [
            message.to_dict(),
            {"x": 2, "tags": ["a"]},
            {"error": "ValueError", "message": "no"},
            None,
            1.5,
            "<class 'object'>",
        ]
    }
