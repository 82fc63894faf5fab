"""The RTVI developer endpoints through a real `pyrtvi serve` against a fake bot service.

What is under test is the proxy: validation, what reaches the bot service (and what never does),
the auth bundle, errors, streaming. The real bot behind the same proxy is in test_proxy_bot.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pyrtvi_testing.processes import LiveServer, free_port

from bench.fake_upstream import ICE_SERVERS, FakeUpstream
from tests.conftest import ROOT

SECRET = "sk-server-only-123"
EXTRA = {"request_data": {"api_key": SECRET}, "services": {"tts": "espeak"}}
HEADERS = {"X-Bot-Key": "hdr-secret-456"}
TIMEOUT = 1.0  # the proxy's upstream timeout in these tests; the fake's slow paths take 3 s

REALTIME_AI_BODY: dict[str, Any] = {
    # what RTVIClient 0.2.x POSTs: services, config, customBodyParams and requestData flattened
    "services": {"llm": "together", "tts": "cartesia"},
    "config": [
        {"service": "llm", "options": [{"name": "model", "value": "llama"}]},
        {"service": "tts", "options": [{"name": "voice", "value": "v1"}]},
    ],
    "rtvi_client_version": "0.2.3",
    "user_id": "u-1",
}


@pytest.fixture(scope="module")
def server(server_factory: Any, upstream: FakeUpstream) -> LiveServer:
    env = {
        "PYRTVI_BOT_EXTRA": json.dumps(EXTRA),
        "PYRTVI_BOT_HEADERS": json.dumps(HEADERS),
        "PYRTVI_UPSTREAM_TIMEOUT": str(TIMEOUT),
        "PYRTVI_MAX_BODY_BYTES": "65536",
        # The fake bot service's candidates are on loopback, which the default policy refuses.
        "PYRTVI_ICE_ALLOW": "loopback,private,hostname",
    }
    return server_factory("--bot", "url", "--bot-url", upstream.url, env=env)  # type: ignore[no-any-return]


@pytest.fixture
def client(server: LiveServer, upstream: FakeUpstream) -> Iterator[httpx.Client]:
    upstream.requests.clear()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def assert_error(response: httpx.Response, status: int, text: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert isinstance(body["error"], str) and body["error"]
    assert text.lower() in json.dumps(body).lower()
    return body  # type: ignore[no-any-return]


def connect(client: httpx.Client, **request_data: Any) -> dict[str, Any]:
    response = client.post("/connect", json={**REALTIME_AI_BODY, **request_data})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# -- /connect --------------------------------------------------------------------------------------


def test_connect_returns_auth_bundle(
    client: httpx.Client, server: LiveServer, upstream: FakeUpstream
) -> None:
    bundle = connect(client)
    assert set(bundle) == {"session_id", "offer_url", "ice_servers"}
    assert bundle["session_id"] in upstream.sessions
    assert bundle["offer_url"] == f"{server.url}/sessions/{bundle['session_id']}/offer"
    assert bundle["ice_servers"] == ICE_SERVERS
    assert SECRET not in json.dumps(bundle)


def test_connect_offer_url_follows_the_request_host(
    server: LiveServer, upstream: FakeUpstream
) -> None:
    """Absolute URL from the request's own base, so a page on another origin can use it."""
    with httpx.Client(base_url=f"http://localhost:{server.port}", timeout=30) as c:
        bundle = c.post("/connect", json={}).json()
    assert bundle["offer_url"].startswith(f"http://localhost:{server.port}/sessions/")


def test_connect_forwards_validated_body_with_server_extras(
    client: httpx.Client, upstream: FakeUpstream
) -> None:
    connect(client, api_key="browser-tries-to-override")
    (start,) = upstream.recorded("/start")
    body = start.body
    assert body["request_data"] == {
        "user_id": "u-1",
        "rtvi_client_version": "0.2.3",
        "api_key": SECRET,  # the server's extra wins over the browser's value
    }
    # Objects merge, the server's keys win.
    assert body["services"] == {"llm": "together", "tts": "espeak"}
    assert body["config"] == REALTIME_AI_BODY["config"]
    # The runner contract (issue 10): `body` is the page's request data itself, flat, with the
    # services and config as keys of it and the server's extras merged in; no version stamp.
    assert body["transport"] == "webrtc" and body["enableDefaultIceServers"] is False
    assert body["body"] == {
        "user_id": "u-1",
        "api_key": SECRET,
        "services": body["services"],
        "config": body["config"],
    }
    assert start.headers["x-bot-key"] == HEADERS["X-Bot-Key"]


def test_connect_accepts_explicit_request_data_and_empty_body(
    client: httpx.Client, upstream: FakeUpstream
) -> None:
    response = client.post("/connect", json={"request_data": {"room": "r1"}, "extra": 1})
    assert response.status_code == 200, response.text
    response = client.post("/connect", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    first, second = upstream.recorded("/start")
    assert first.body["request_data"] == {"room": "r1", "extra": 1, "api_key": SECRET}
    assert second.body["request_data"] == {"api_key": SECRET}
    assert second.body["config"] == []


@pytest.mark.parametrize(
    ("content", "content_type", "status", "text"),
    [
        (b"{not json", "application/json", 400, "invalid JSON"),
        (b"[1, 2]", "application/json", 422, "JSON object"),
        (b'"text"', "application/json", 422, "JSON object"),
        (b'{"services": ["llm"]}', "application/json", 422, "services"),
        (b'{"services": {"llm": 5}}', "application/json", 422, "services.llm"),
        (b'{"config": {"service": "llm"}}', "application/json", 422, "config"),
        (b'{"config": [{"options": []}]}', "application/json", 422, "config.0.service"),
        (b'{"config": [{"service": "llm", "options": [{"value": 1}]}]}', None, 422, "name"),
        (b'{"rtvi_client_version": 2}', "application/json", 422, "rtvi_client_version"),
        (b'{"request_data": [1]}', "application/json", 422, "request_data"),
        (b"{}", "text/plain", 415, "application/json"),
        (b"a=b", "application/x-www-form-urlencoded", 415, "application/json"),
        (b"[" * 30_000 + b"]" * 30_000, "application/json", 400, "invalid JSON"),
        (b"\xff\xfe", "application/json", 400, "invalid JSON"),
    ],
)
def test_connect_bad_input(
    client: httpx.Client,
    upstream: FakeUpstream,
    content: bytes,
    content_type: str | None,
    status: int,
    text: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/connect", content=content, headers=headers)
    assert_error(response, status, text)
    assert not upstream.requests, "a bad request must not reach the bot service"


def test_connect_oversized_body(client: httpx.Client, upstream: FakeUpstream) -> None:
    big = {"blob": "x" * 70_000}
    assert_error(client.post("/connect", json=big), 413, "65536")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"blob": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    response = client.post(
        "/connect", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413)
    assert not upstream.requests


def test_connect_wrong_method(client: httpx.Client) -> None:
    assert client.get("/connect").status_code == 405


# -- upstream failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "text"),
    [
        ("reject", 422, "no such voice: robo"),  # 4xx: status and message passed through
        ("unauthorized", 401, "bad api key"),
        ("crash", 502, "500"),
        ("bad_session", 502, "invalid"),
        ("not_json", 502, "invalid"),
    ],
)
def test_connect_upstream_errors(client: httpx.Client, mode: str, status: int, text: str) -> None:
    assert_error(client.post("/connect", json={"mode": mode}), status, text)


def test_connect_upstream_timeout(client: httpx.Client) -> None:
    started = time.monotonic()
    body = assert_error(client.post("/connect", json={"mode": "slow"}), 504, "timeout")
    assert time.monotonic() - started < 2.9, "the proxy should give up after its timeout"
    assert f"{TIMEOUT:g} s" in body["detail"]


def test_upstream_down(server_factory: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    down = server_factory("--bot", "url", "--bot-url", dead)
    with httpx.Client(base_url=down.url, timeout=30) as c:
        assert_error(c.post("/connect", json={}), 502, "unreachable")
        assert_error(c.post("/action", json=action_body("x")), 502, "unreachable")
        offer = {"sdp": "v=0", "type": "offer"}
        assert_error(c.post("/sessions/abc/offer", json=offer), 502, "unreachable")
        health = c.get("/health").json()
    assert health["bot"] == {"mode": "url", "state": "unreachable"}


def test_health_reports_remote_bot(client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["bot"] == {"mode": "url", "state": "reachable"}


# -- offer / trickle ICE -------------------------------------------------------------------------


def test_offer_and_ice_reach_the_session(client: httpx.Client, upstream: FakeUpstream) -> None:
    bundle = connect(client)
    offer = {
        "sdp": "v=0\r\noffer",
        "type": "offer",
        "pc_id": None,
        "restart_pc": False,
        "requestData": {"k": "v"},
        "junk": "dropped",
    }
    response = client.post(bundle["offer_url"], json=offer)
    assert response.status_code == 200, response.text
    assert response.json() == {"sdp": "v=0\r\nanswer", "type": "answer", "pc_id": "pc-1"}
    candidates = [{"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdp_mid": "0",
                   "sdp_mline_index": 0}, {"candidate": "", "sdp_mid": None, "sdp_mline_index": None}]  # fmt: skip
    response = client.patch(bundle["offer_url"], json={"pc_id": "pc-1", "candidates": candidates})
    assert response.status_code == 204, response.text
    posted, patched = upstream.recorded("/api/offer")
    assert posted.path == f"/sessions/{bundle['session_id']}/api/offer"
    assert posted.body == {
        "sdp": "v=0\r\noffer",
        "type": "offer",
        "pc_id": None,
        "restart_pc": False,
        "requestData": {"k": "v"},
    }
    assert posted.headers["x-bot-key"] == HEADERS["X-Bot-Key"]
    assert patched.method == "PATCH"
    assert patched.body == {"pc_id": "pc-1", "candidates": candidates}


def test_offer_snake_case_request_data(client: httpx.Client, upstream: FakeUpstream) -> None:
    bundle = connect(client)
    offer = {"sdp": "v=0", "type": "offer", "request_data": {"a": 1}}
    assert client.post(bundle["offer_url"], json=offer).status_code == 200
    assert upstream.recorded("/api/offer")[0].body["requestData"] == {"a": 1}


def test_offer_unknown_session_or_pc_is_404(client: httpx.Client) -> None:
    offer = {"sdp": "v=0", "type": "offer"}
    assert_error(client.post("/sessions/nope/offer", json=offer), 404, "session not found")
    bundle = connect(client)
    patch = {"pc_id": "other", "candidates": [{"candidate": ""}]}
    assert_error(client.patch(bundle["offer_url"], json=patch), 404, "peer connection not found")


@pytest.mark.parametrize(
    "session_id",
    ["a.b", "..", "%2e%2e", "a%2Fb", "a%20b", "a;b", "ä", "x" * 129, "a%00"],
)
def test_offer_bad_session_id_never_reaches_upstream(
    client: httpx.Client, upstream: FakeUpstream, session_id: str
) -> None:
    response = client.post(f"/sessions/{session_id}/offer", json={"sdp": "v=0", "type": "offer"})
    assert response.status_code in {400, 404}, response.text
    if response.status_code == 400:
        assert_error(response, 400, "session id")
    assert not upstream.requests


@pytest.mark.parametrize(
    ("method", "body", "text"),
    [
        ("POST", {"type": "offer"}, "sdp"),
        ("POST", {"sdp": "v=0", "type": "answer"}, "type"),
        ("POST", {"sdp": "", "type": "offer"}, "sdp"),
        ("POST", {"sdp": "v=0", "type": "offer", "restart_pc": "yes"}, "restart_pc"),
        ("POST", {"sdp": "v=0", "type": "offer", "pc_id": 7}, "pc_id"),
        ("PATCH", {"pc_id": "pc-1"}, "candidates"),
        ("PATCH", {"pc_id": "pc-1", "candidates": []}, "candidates"),
        ("PATCH", {"pc_id": "pc-1", "candidates": [{"sdp_mid": "0"}]}, "candidate"),
        ("PATCH", {"candidates": [{"candidate": ""}]}, "pc_id"),
    ],
)
def test_offer_bad_body(
    client: httpx.Client, upstream: FakeUpstream, method: str, body: Any, text: str
) -> None:
    response = client.request(method, "/sessions/abc/offer", json=body)
    assert_error(response, 422, text)
    assert not upstream.requests


# -- /action -------------------------------------------------------------------------------------


def action_body(action: str, **request_data: Any) -> dict[str, Any]:
    envelope = {
        "id": "a1b2c3d4",
        "label": "rtvi-ai",
        "type": "action",
        "data": {"service": "llm", "action": action, "arguments": [{"name": "n", "value": 1}]},
    }
    return {**request_data, "actions": [envelope]}


def decode_event(event: str) -> dict[str, Any]:
    payload = "".join(line.split(":", 1)[1].strip() for line in event.splitlines() if ":" in line)
    return json.loads(base64.b64decode(payload))  # type: ignore[no-any-return]


def test_action_json_reply(client: httpx.Client, upstream: FakeUpstream) -> None:
    response = client.post("/action", json=action_body("append", conversation_id="c1"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["type"] == "action-response"
    assert response.json()["id"] == "a1b2c3d4"
    (forwarded,) = upstream.recorded("/action")
    assert forwarded.body == {
        **action_body("append", conversation_id="c1"),
        "api_key": SECRET,  # the server's request_data extras reach actions too
    }
    assert forwarded.headers["x-bot-key"] == HEADERS["X-Bot-Key"]


def test_action_streams_event_by_event(server: LiveServer, upstream: FakeUpstream) -> None:
    """The first event must reach the browser while the bot is still producing the rest."""
    upstream.gate.clear()
    upstream.gate_timed_out = False
    events: list[dict[str, Any]] = []
    with (
        httpx.Client(base_url=server.url, timeout=30) as c,
        c.stream("POST", "/action", json=action_body("stream")) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        buffer = ""
        chunks = response.iter_text()
        while "\n\n" not in buffer:
            chunk = next(chunks, None)
            assert chunk is not None, "the stream ended before its first event"
            buffer += chunk
        first, buffer = buffer.split("\n\n", 1)
        events.append(decode_event(first))
        # The bot is blocked on the gate: the proxy passed the first event on without it.
        assert not upstream.stream_finished.is_set()
        assert not upstream.gate_timed_out
        upstream.gate.set()
        for chunk in chunks:
            buffer += chunk
        events += [decode_event(e) for e in buffer.split("\n\n") if e.strip()]
    assert not upstream.gate_timed_out
    assert [e["type"] for e in events] == [
        "bot-llm-started",
        "bot-llm-text",
        "bot-llm-text",
        "action-response",
    ]
    assert events[-1]["id"] == "a1b2c3d4"


def test_action_client_gone_closes_upstream_stream(
    server: LiveServer, upstream: FakeUpstream
) -> None:
    """A browser that leaves mid-stream must not leave the bot streaming to nobody."""
    upstream.gate.clear()
    with (
        httpx.Client(base_url=server.url, timeout=30) as c,
        c.stream("POST", "/action", json=action_body("stream")) as response,
    ):
        assert response.status_code == 200
        first = next(response.iter_raw())
        assert first.startswith(b"data: ")
    upstream.gate.set()  # let the bot go on: it must find its listener gone
    assert upstream.stream_abandoned.wait(10), "the proxy kept the upstream stream open"
    assert not upstream.stream_finished.is_set()


def test_action_upstream_errors(client: httpx.Client) -> None:
    assert_error(client.post("/action", json=action_body("refuse")), 400, "unknown action")
    assert_error(client.post("/action", json=action_body("slow")), 504, "timeout")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({}, "actions"),
        ({"actions": []}, "actions"),
        ({"actions": {"id": "1"}}, "actions"),
        ({"actions": [{"id": "1", "type": "action"}]}, "data"),
        ({"actions": [{"id": "1", "type": "config", "data": {}}]}, "type"),
        ({"actions": [{"type": "action", "data": {"service": "llm", "action": "a"}}]}, "id"),
        ({"actions": [{"id": "1", "type": "action", "data": {"service": "llm"}}]}, "action"),
    ],
)
def test_action_bad_body(
    client: httpx.Client, upstream: FakeUpstream, body: Any, text: str
) -> None:
    assert_error(client.post("/action", json=body), 422, text)
    assert not upstream.requests


# -- modes and startup ---------------------------------------------------------------------------


def test_no_bot_mode_answers_503(page_server: LiveServer) -> None:
    with httpx.Client(base_url=page_server.url, timeout=30) as c:
        assert_error(c.post("/connect", json={}), 503, "--bot none")
        assert_error(c.post("/action", json=action_body("x")), 503, "--bot none")
        offer = {"sdp": "v=0", "type": "offer"}
        assert_error(c.post("/sessions/abc/offer", json=offer), 503, "--bot none")
        assert c.get("/health").json()["bot"] == {"mode": "none", "state": "disabled"}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyrtvi_server", "serve", "--port", "0", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_bot_venv_fails_at_startup() -> None:
    result = run_cli("--bot", "embedded", "--bot-pipecat", "9.9.9")
    assert result.returncode == 2
    assert "bot-9.9.9" in result.stderr
    assert "make run" in result.stderr


@pytest.mark.parametrize(
    ("env", "text"),
    [
        ({"PYRTVI_BOT_EXTRA": "{oops"}, "PYRTVI_BOT_EXTRA is not valid JSON"),
        ({"PYRTVI_BOT_EXTRA": "[1]"}, "must be a JSON object"),
        ({"PYRTVI_BOT_HEADERS": '{"a": 1}'}, "JSON object of strings"),
        ({"PYRTVI_BOT": "url"}, "needs a bot URL"),
        ({"PYRTVI_BOT_URL": "ftp://x"}, "http://"),
    ],
)
def test_bad_bot_settings_fail_clearly(env: dict[str, str], text: str) -> None:
    result = run_cli(env=env)
    assert result.returncode == 2
    assert text in result.stderr
