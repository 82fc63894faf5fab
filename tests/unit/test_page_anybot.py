"""The console's start endpoint mode and session info, browser-free
(web/app/pyrtvi_page/start_endpoint.py and session_facts.py), in CPython."""

from __future__ import annotations

import json

import pytest
from pyrtvi_page import start_endpoint as se
from pyrtvi_page.session_facts import SessionInfo, phase_label, session_id_of
from rtvi import StartBotError
from rtvi.http.base import HTTPError, HTTPTimeoutError
from rtvi.timings import MARKS, ConnectTimings

ORIGIN = "http://127.0.0.1:8000"

# --- the start endpoint's fields -------------------------------------------------------------


def test_mode_defaults_to_the_server() -> None:
    assert se.parse_mode("start") == "start"
    assert se.parse_mode("server") == se.parse_mode("nonsense") == se.parse_mode(None) == "server"


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("", {}),
        ("  ", {}),
        (se.DEFAULT_BODY, {"body": {}}),
        ('{"a": [1, {"b": null}]}', {"a": [1, {"b": None}]}),
    ],
)
def test_body_is_a_json_object(text: str, body: object) -> None:
    assert se.parse_body(text) == body
    assert se.field_status("start-body", text) == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"body": {}', "not valid JSON: Expecting ',' delimiter at line 1, column 12."),
        ('{\n  "a": 1,\n}', "at line 3, column 1."),  # the message's words vary by Python
        ("[1, 2]", "must be a JSON object ({...}), not a list."),
        ('"text"', "not a string"),
        ("null", "not null"),
        ("3", "not a number"),
        ("true", "not true or false"),
    ],
)
def test_a_bad_body_says_what_and_where(text: str, message: str) -> None:
    with pytest.raises(se.SettingsError, match="request body") as caught:
        se.parse_body(text)
    assert message in caught.value.message and caught.value.field == "start-body"
    assert message in se.field_status("start-body", text)


def test_headers_as_lines_or_json() -> None:
    assert se.parse_headers("") == {}
    lines = "Authorization: Bearer a:b\n\n  X-Trace :  7  \n"
    assert se.parse_headers(lines) == {"Authorization": "Bearer a:b", "X-Trace": "7"}
    assert se.parse_headers('{"Authorization": "Bearer t", "X-N": 3}') == {
        "Authorization": "Bearer t",
        "X-N": "3",
    }
    assert se.field_status("start-headers", lines) == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Authorization Bearer t", "line 1: no ':'"),
        ("A: 1\nBad Name: 2", "line 2: 'Bad Name' is not a header name"),
        ('{"A": 1', "headers are not valid JSON"),
        ('{"A": {"b": 1}}', "'A' must have a string value"),
        ('{"A": true}', "'A' must have a string value"),
    ],
)
def test_bad_headers_are_refused(text: str, message: str) -> None:
    with pytest.raises(se.SettingsError) as caught:
        se.parse_headers(text)
    assert message in caught.value.message and caught.value.field == "start-headers"
    assert message in se.field_status("start-headers", text)


@pytest.mark.parametrize(
    "url", ["http://localhost:7860/start", "https://api.example/v1/a/start", "/start"]
)
def test_start_urls(url: str) -> None:
    assert se.parse_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "message"),
    [("", "Give the start"), ("localhost:7860/start", "http://"), ("ftp://x/start", "http://")],
)
def test_bad_start_urls(url: str, message: str) -> None:
    with pytest.raises(se.SettingsError, match=message) as caught:
        se.parse_url(url)
    assert caught.value.field == "start-url"


def test_read_start_asks_for_a_websocket_unless_the_body_names_a_transport() -> None:
    start = se.read_start("http://h/start", '{"body": {"a": 1}}', "K: v", transport="webrtc")
    assert start == se.StartEndpoint("http://h/start", {"body": {"a": 1}}, {"K": "v"})
    ws = se.read_start("http://h/start", "", "", transport="websocket")
    assert ws.body == {"transport": "websocket"}
    named = se.read_start("http://h/start", '{"transport": "webrtc"}', "", transport="websocket")
    assert named.body == {"transport": "webrtc"}
    with pytest.raises(se.SettingsError) as caught:  # the first unusable field
        se.read_start("", "[", "x", transport="webrtc")
    assert caught.value.field == "start-url"


def test_public_url_drops_what_may_hold_a_key() -> None:
    assert se.public_url("https://user:pw@api.example:8443/v1/start?key=s#f") == (
        "https://api.example:8443/v1/start"
    )
    assert se.public_url("/start") == "/start"


def test_settings_problem_and_header_names_only() -> None:
    problem = se.settings_problem(se.SettingsError("start-body", "bad JSON"))
    assert (problem.kind, problem.text) == ("settings", "bad JSON")
    assert se.field_names({"X-B": "secret", "A": "secret"}) == ["A", "X-B"]


# --- a failed start, in words -----------------------------------------------------------------


def start_error(status: int | None, cause: Exception | None = None) -> StartBotError:
    try:
        raise StartBotError("it failed", status=status) from cause
    except StartBotError as exc:
        return exc


URL = "http://localhost:7860/start?token=secret"


def test_unreachable_start_endpoint_names_cors_and_the_way_round() -> None:
    problem = se.start_problem(start_error(500, HTTPError("fetch failed: TypeError")), URL, ORIGIN)
    assert problem is not None and problem.kind == "start-unreachable"
    assert "CORS" in problem.text and ORIGIN in problem.text and "--allowed-origins" in problem.text
    assert "pyrtvi serve --bot-url http://localhost:7860/start" in problem.text
    assert "secret" not in problem.text


@pytest.mark.parametrize(
    ("status", "cause", "kind", "words"),
    [
        (None, HTTPTimeoutError("slow"), "timeout", "did not answer in time"),
        (401, None, "start-refused", "check the headers"),
        (404, None, "start-refused", "POST /start"),
        (422, None, "start-refused", "request body"),
        (503, None, "bot-down", "HTTP 503"),
    ],
)
def test_start_failures_by_status(
    status: int | None, cause: Exception | None, kind: str, words: str
) -> None:
    problem = se.start_problem(start_error(status, cause), URL, ORIGIN)
    assert problem is not None and problem.kind == kind
    assert words in problem.title + problem.text


def test_other_failures_keep_the_console_banners() -> None:
    assert se.start_problem(RuntimeError("x"), URL, ORIGIN) is None


# --- session info -----------------------------------------------------------------------------


def timings(*at: float) -> ConnectTimings:
    record = ConnectTimings()
    for name, when in zip(MARKS, at, strict=False):
        record = record.mark(name, when)
    return record


READY = {
    "version": "2.2.0",
    "about": {"library": "pipecat-ai", "library_version": "1.14.0"},
    "capabilities": {
        "audio_in": True,
        "audio_out": True,
        "video_in": False,
        "screen_in": None,
        "metrics": True,
    },
}


def info(**overrides: object) -> SessionInfo:
    facts: dict[str, object] = {
        "transport": "webrtc",
        "mode": "start",
        "endpoint": "http://localhost:7860/start?key=secret",
        "session_id": "abc-123",
        "client_protocol": "2.2.0",
        "client_library": "pyrtvi 0.1.0",
        "bot_ready": READY,
        "timings": timings(10.0, 10.002, 10.050, 10.450, 10.480),
    }
    facts.update(overrides)
    return SessionInfo.gather(**facts)  # type: ignore[arg-type]


def test_session_info_rows() -> None:
    rows = {key: text for key, _label, text in info().rows()}
    assert rows == {
        "transport": "WebRTC (SmallWebRTC)",
        "bot": "start endpoint: http://localhost:7860/start",
        "session-id": "abc-123",
        "client-version": "RTVI 2.2.0 (pyrtvi 0.1.0)",
        "bot-version": "RTVI 2.2.0 (pipecat-ai 1.14.0)",
        "capabilities": "audio_in, audio_out, metrics (not: video_in)",
        "connect-split": "devices 2 ms · start request 48 ms · offer + ICE 400 ms · bot-ready 30 ms = 480 ms",
    }
    assert "Connect split: devices 2 ms" in info().text()
    assert "secret" not in info().text()


def test_session_info_while_connecting_and_from_old_bots() -> None:
    connecting = info(bot_ready=None, timings=timings(1.0, 1.001, 1.2), session_id=None)
    rows = {key: text for key, _label, text in connecting.rows()}
    assert rows["connect-split"] == "devices 1 ms · start request 199 ms …"
    assert rows["bot-version"] == "–" and rows["session-id"] == "–" and rows["capabilities"] == "–"
    old = info(bot_ready={"version": "1.0.0"}, transport="websocket", mode="server")
    rows = {key: text for key, _label, text in old.rows()}
    assert rows["capabilities"] == "not reported (RTVI < 2.2)"
    assert rows["transport"] == "WebSocket" and rows["bot"].startswith("this server's bot: ")
    assert phase_label("transport", "websocket") == "socket open"
    assert info(timings=None).split_text() == "–"


def test_session_id_sources_in_order() -> None:
    assert session_id_of({"sessionId": "s"}, "t", "p") == "s"
    assert session_id_of({"session_id": "s2"}, None, None) == "s2"
    assert session_id_of(None, "t", "p") == "t"
    assert session_id_of({}, None, "p") == "p"
    assert session_id_of("nope", None, None) is None


def test_export_round_trip_holds_no_secret() -> None:
    original = info()
    data = json.loads(json.dumps(original.to_json()))
    assert "secret" not in json.dumps(data)
    assert SessionInfo.from_json(data) == original
    bad: object
    for bad in (None, [], {"mode": "start"}):
        with pytest.raises(ValueError):
            SessionInfo.from_json(bad)
    lenient = SessionInfo.from_json({"transport": "webrtc", "split_ms": {"auth": "x", "init": 2}})
    assert lenient.split_ms == {"init": 2.0} and lenient.total_ms is None
