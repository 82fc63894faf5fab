"""The console page's browser-free logic (web/app/pyrtvi_page/model.py and controls.py), in
CPython."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pyrtvi_page import controls, model
from pyrtvi_page.controls import SessionControls
from rtvi import (
    ConnectionTimeoutError,
    ErrorResponse,
    RTVIMessage,
    StartBotError,
    TransportStartError,
    TransportState,
)
from rtvi.http.base import HTTPError
from rtvi.media_state import make_device_error
from rtvi.transport import DeviceInfo, Participant
from rtvi.transports.websocket.transport import NoWebSocketURLError


class FakeJsError:
    def __init__(self, name: str) -> None:
        self.name = name


class FakeJsException(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.js_error = FakeJsError(name)


def _wrapped(cause: BaseException, outer: BaseException) -> BaseException:
    try:
        raise outer from cause
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "kind", "needle"),
    [
        (StartBotError("No bot is configured", status=503), "bot-down", "HTTP 503"),
        (StartBotError("bad gateway", status=502), "bot-down", "HTTP 502"),
        (StartBotError("bad body", status=422), "bot-error", "bad body"),
        (
            _wrapped(HTTPError("fetch failed"), StartBotError("Connect request to x failed")),
            "server-down",
            "Connect request",
        ),
        (ConnectionTimeoutError(), "timeout", "within 5 s"),
        (
            _wrapped(
                FakeJsException("NotAllowedError", "Permission denied"),
                TransportStartError("Unable to connect to transport: NotAllowedError"),
            ),
            "permission",
            "NotAllowedError",
        ),
        (
            _wrapped(
                FakeJsException("NotFoundError", "Requested device not found"),
                TransportStartError("Unable to connect to transport"),
            ),
            "device",
            "could not be opened",
        ),
        (TransportStartError("offer refused"), "transport", "offer refused"),
        (NoWebSocketURLError(), "no-websocket", "Pick WebRTC"),
        (
            ErrorResponse(RTVIMessage("error-response", {"error": "Action x not registered"})),
            "bot-error",
            "not registered",
        ),
        (ValueError("boom"), "error", "ValueError: boom"),
    ],
)
def test_classify_error(exc: BaseException, kind: str, needle: str) -> None:
    problem = model.classify_error(exc, timeout=5)
    assert problem.kind == kind
    assert needle in problem.text
    assert problem.title


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("bool", True, True),
        ("bool", "false", False),
        ("number", "1.25", 1.25),
        ("number", "3", 3),
        ("string", "en-gb", "en-gb"),
        ("array", '[{"role": "user"}]', [{"role": "user"}]),
        ("array", "", []),
        ("object", '{"a": 1}', {"a": 1}),
    ],
)
def test_parse_value(kind: str, raw: object, value: object) -> None:
    assert model.parse_value(kind, raw) == value
    if kind != "bool" and raw != "":
        assert model.parse_value(kind, model.format_value(kind, value)) == value


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("number", "fast", "not a number"),
        ("number", " ", "required"),
        ("array", "[1,", "not valid JSON"),
        ("array", '{"a": 1}', "JSON array expected"),
        ("object", "[]", "JSON object expected"),
        ("bool", "maybe", "not true or false"),
    ],
)
def test_parse_value_refuses_bad_input(kind: str, raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model.parse_value(kind, raw)


def test_config_round_trip() -> None:
    config = [
        {"service": "tts", "options": [{"name": "voice", "value": "en-us"}]},
        {"service": "llm", "options": [{"name": "model", "value": "rules"}]},
    ]
    values = model.config_values(config)
    assert values == {("tts", "voice"): "en-us", ("llm", "model"): "rules"}
    assert model.config_update({("tts", "voice"): "en-gb", ("tts", "speed"): 1}) == [
        {
            "service": "tts",
            "options": [{"name": "voice", "value": "en-gb"}, {"name": "speed", "value": 1}],
        }
    ]


def test_described_payloads_are_cleaned() -> None:
    services = model.described_services(
        {"config": [{"name": "tts", "options": [{"name": "voice", "type": "string"}, {"x": 1}]}, 3]}
    )
    assert services == [{"name": "tts", "options": [{"name": "voice", "type": "string"}]}]
    actions = model.described_actions(
        {
            "actions": [
                {
                    "service": "tts",
                    "action": "say",
                    "arguments": [{"name": "text", "type": "string"}],
                },
                {"service": "broken"},
            ]
        }
    )
    assert actions == [
        {
            "service": "tts",
            "action": "say",
            "arguments": [{"name": "text", "type": "string"}],
            "result": None,
        }
    ]


@pytest.mark.parametrize(
    ("choice", "version", "mode"),
    [
        ("auto", "1.2.0", "send-text"),
        ("auto", "0.3.0", "append"),
        ("auto", None, "append"),
        ("send-text", "0.3.0", "send-text"),
        ("append", "2.1.0", "append"),
    ],
)
def test_text_mode(choice: str, version: str | None, mode: str) -> None:
    assert model.text_mode(choice, version) == mode


def test_event_clock_and_format() -> None:
    clock = model.EventClock(1000.0)
    assert clock.stamp(1250.0) == (250.0, 250.0)
    assert clock.stamp(1300.0) == (300.0, 50.0)
    assert model.format_ms(312.4) == "312 ms"
    assert model.format_ms(12_345) == "12.3 s"


def test_summarize_is_one_short_line() -> None:
    @dataclass
    class Thing:
        name: str
        raw: object = None

    assert model.summarize(None) == ""
    assert model.summarize({"text": "a\nb"}) == '{"text": "a\\nb"}'
    assert model.summarize([Participant(id="p1", name="bot")]) == (
        '[{"id": "p1", "name": "bot", "local": false}]'
    )
    assert model.summarize(Thing("x", raw=object())) == '{"name": "x"}'
    long = model.summarize({"text": "word " * 100}, limit=40)
    assert len(long) == 40 and long.endswith("…")


def test_device_options_label_unnamed_devices() -> None:
    devices = [
        DeviceInfo(device_id="a", label="Desk mic", kind="audioinput"),
        DeviceInfo(device_id="b", label="", kind="audioinput"),
    ]
    assert model.device_options(devices) == [("a", "Desk mic"), ("b", "Microphone 2")]


@pytest.mark.parametrize(
    ("data", "idle", "title", "text"),
    [
        (
            {"fatal": True, "error": "connection lost"},
            False,
            "The session failed",
            "connection lost",
        ),
        ({"fatal": True, "message": " no\nroute "}, False, "The session failed", "no route"),
        ({"error": {"code": 7}}, True, "Error", '{"code": 7}'),
        ({"message": "bad request", "error": ""}, True, "Error", "bad request"),
        ("plain words", True, "Error", "plain words"),
        ({}, True, "Error", ""),
    ],
)
def test_bot_error_problem_text(data: object, idle: bool, title: str, text: str) -> None:
    problem = model.bot_error_problem(data, idle=idle)
    assert problem == model.Problem("bot-error", title, text)


def test_bot_error_problem_only_fatal_during_a_session() -> None:
    assert model.bot_error_problem({"error": "not now"}, idle=False) is None
    assert model.bot_error_problem("oops", idle=False) is None
    problem = model.bot_error_problem({"error": "x" * 500, "fatal": True}, idle=False)
    assert problem is not None and len(problem.text) == 160


def test_custom_action_values() -> None:
    values = {"service": " llm ", "action": "say", "arguments": {"text": "hi", "n": 2}}
    assert model.custom_action(values) == (
        "llm",
        "say",
        [{"name": "text", "value": "hi"}, {"name": "n", "value": 2}],
    )
    with pytest.raises(ValueError, match="service and action are required"):
        model.custom_action({"service": "llm", "action": " ", "arguments": {}})


# --- the panels' controls -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "leaving", "expected"),
    [
        (TransportState.DISCONNECTED, False, SessionControls(True, False, False, True)),
        (TransportState.ERROR, False, SessionControls(True, False, False, True)),
        (TransportState.INITIALIZING, False, SessionControls(False, True, False, False)),
        (TransportState.CONNECTING, False, SessionControls(False, True, False, False)),
        (TransportState.READY, False, SessionControls(False, True, True, False)),
        (TransportState.READY, True, SessionControls(False, True, False, False)),
        (TransportState.DISCONNECTING, True, SessionControls(False, False, False, False)),
    ],
)
def test_session_controls(state: TransportState, leaving: bool, expected: SessionControls) -> None:
    assert controls.session_controls(state, leaving=leaving) == expected


def test_run_label_says_where_an_action_runs() -> None:
    assert controls.run_label(True) == "Run"
    assert controls.run_label(False) == "Run over HTTP"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("20", 20.0), ("2.5", 2.5), ("", None), ("0", None), ("-3", None), ("soon", None)],
)
def test_parse_timeout(text: str, seconds: float | None) -> None:
    assert controls.parse_timeout(text) == seconds


def test_connection_settings_fields() -> None:
    assert controls.parse_transport_kind("websocket") == "websocket"
    assert controls.parse_transport_kind("webrtc") == "webrtc"
    assert controls.parse_transport_kind("carrier-pigeon") == "webrtc"
    origin = "http://127.0.0.1:8000"
    assert controls.parse_base_url("  http://bot:7860 ", origin) == "http://bot:7860"
    assert controls.parse_base_url("   ", origin) == origin


def test_toggle_labels_and_meter_values() -> None:
    assert [controls.toggle_label("mic", on) for on in (True, False)] == ["Mic on", "Mic muted"]
    assert [controls.toggle_label("cam", on) for on in (True, False)] == [
        "Camera on",
        "Camera off",
    ]
    assert controls.meter_value(0.1) == 0.3
    assert controls.meter_value(0.01234) == 0.037
    assert controls.meter_value(0.9) == 1.0


@pytest.mark.parametrize(
    ("name", "kind", "title", "reason"),
    [
        ("NotAllowedError", "permission", "Microphone permission denied", "NotAllowedError"),
        ("NotFoundError", "device", "No microphone found", "not-found"),
        ("NotReadableError", "device", "The microphone is in use by another application", "in-use"),
        ("", "device", "This browser cannot open a microphone here", "not-supported"),
    ],
)
def test_device_errors_show_their_reason(name: str, kind: str, title: str, reason: str) -> None:
    text = "navigator.mediaDevices is unavailable" if not name else f"{name}: x"
    problem = model.classify_error(make_device_error(["mic"], name, text))
    assert (problem.kind, problem.title) == (kind, title)
    assert reason in problem.text


def test_early_actions_connect_once_and_messages_in_order() -> None:
    """What boot.js queued while Python loaded: a message needs a session, so it connects."""
    none = controls.early_actions([])
    assert (none.connect, none.texts) == (False, ())
    only_connect = controls.early_actions([{"kind": "connect"}, {"kind": "connect"}])
    assert (only_connect.connect, only_connect.texts) == (True, ())
    typed = controls.early_actions(
        [
            {"kind": "text", "text": " hello ", "mode": "send-text"},
            {"kind": "text", "text": "   "},
            {"kind": "text", "text": "again", "mode": None},
            {"kind": "surprise"},
        ]
    )
    assert typed.connect
    assert typed.texts == (("hello", "send-text"), ("again", "auto"))
