"""`pyrtvi serve` and the Pipecat runner's session contract, both ways.

Upstream: `--bot url` in front of a stock runner bot (`tests/runner_bot`, pipecat 1.14 on its own
development runner), directly and behind a gateway with a path prefix and an `Authorization`
header (as a hosted start endpoint is). Downstream: `pyrtvi serve` answering the runner's own
`/start` and `/sessions/{id}/api/offer`. Sessions are real: an aiortc peer reaches bot-ready.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from pyrtvi_server.botproc import BotProcess
from pyrtvi_server.runner import start_request
from pyrtvi_testing.processes import LiveServer, free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.fake_upstream import ICE_SERVERS, FakeUpstream
from tests.runner_bot import RunnerBot, runner_bot
from tests.server.rtvi_peer import RTVIPeer

__all__ = ["runner_bot"]  # the fixture, imported for this module's tests

SECRET = "sk-server-only-789"
PAGE_DATA = {"greeting": "Hello from the page", "user": {"id": 7, "tags": ["a", "b"]}}
PREFIX = "/v1/public/my-agent"
TOKEN = "Bearer pk-test-123"


async def session_through(server: LiveServer, offer_url: str, client: httpx.AsyncClient) -> str:
    """A real WebRTC session at `offer_url` up to bot-ready; returns bot-ready's version."""
    peer = RTVIPeer()
    try:
        await peer.connect(offer_url, client, timeout=30)
        ready = await peer.ready("2.2.0", timeout=30)
        return str(ready["data"]["version"])
    finally:
        await peer.close()


# -- the contract itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"api_key": SECRET},
        {"request_data": {"api_key": SECRET}},
        {"body": {"api_key": SECRET}},
        {"api_key": "old", "request_data": {"api_key": "older"}, "body": {"api_key": SECRET}},
    ],
)
def test_every_form_of_bot_extra_lands_in_the_body(extra: dict[str, Any]) -> None:
    start = start_request({"api_key": "from-the-page", "greeting": "hi"}, extra)
    assert start == {
        "transport": "webrtc",
        "enableDefaultIceServers": False,
        "body": {"api_key": SECRET, "greeting": "hi"},
    }


def test_bot_extra_can_set_the_ice_flag_but_not_the_transport() -> None:
    extra = {"enableDefaultIceServers": True, "transport": "daily", "user": {"tier": "pro"}}
    start = start_request({"user": {"id": 1}}, extra, enable_default_ice_servers=False)
    assert start["enableDefaultIceServers"] is True
    assert start["transport"] == "webrtc"
    assert start["body"] == {"user": {"id": 1, "tier": "pro"}, "transport": "daily"}


# -- --bot url in front of a stock runner ---------------------------------------------------------


@pytest.fixture(scope="module")
def proxied(server_factory: Any, runner_bot: RunnerBot) -> LiveServer:
    env = {"PYRTVI_BOT_EXTRA": json.dumps({"api_key": SECRET})}
    return server_factory("--bot", "url", "--bot-url", runner_bot.url, env=env)  # type: ignore[no-any-return]


async def test_connect_gives_the_runner_bot_the_page_request_data(
    proxied: LiveServer, runner_bot: RunnerBot
) -> None:
    """What the pyrtvi client POSTs to /connect becomes `runner_args.body`: the request data."""
    async with httpx.AsyncClient(base_url=proxied.url, timeout=30) as client:
        connect = {"services": {}, "config": [], **PAGE_DATA, "rtvi_client_version": "1.0.0"}
        response = await client.post("/connect", json=connect)
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert SECRET not in response.text
        assert await session_through(proxied, bundle["offer_url"], client) == "2.2.0"
    body = runner_bot.wait_for_body(bundle["session_id"])
    assert body == {**PAGE_DATA, "api_key": SECRET}


async def test_start_route_runs_a_runner_session(
    proxied: LiveServer, runner_bot: RunnerBot
) -> None:
    """The runner's own flow through pyrtvi serve: /start, then /sessions/{id}/api/offer."""
    async with httpx.AsyncClient(base_url=proxied.url, timeout=30) as client:
        response = await client.post("/start", json={"transport": "webrtc", "body": PAGE_DATA})
        assert response.status_code == 200, response.text
        reply = response.json()
        assert set(reply) == {"sessionId", "iceConfig"}
        assert reply["iceConfig"] == {"iceServers": []}
        offer_url = f"{proxied.url}/sessions/{reply['sessionId']}/api/offer"
        assert await session_through(proxied, offer_url, client) == "2.2.0"
    assert runner_bot.wait_for_body(reply["sessionId"]) == {**PAGE_DATA, "api_key": SECRET}


def test_health_reads_the_runner_status(proxied: LiveServer) -> None:
    """Runners answer /status and have no /health: the server probes /status first."""
    assert httpx.get(proxied.url + "/health").json()["bot"] == {"mode": "url", "state": "reachable"}


def test_unknown_runner_session_is_the_runners_404(proxied: LiveServer) -> None:
    offer = {"sdp": "v=0\r\n", "type": "offer"}
    response = httpx.post(proxied.url + "/sessions/no-such-session/api/offer", json=offer)
    assert response.status_code == 404, response.text
    assert "session" in response.json()["detail"].lower()


# -- behind a gateway: path prefix and Authorization ----------------------------------------------


class Gateway:
    """A hosted start endpoint in miniature: `PREFIX/...` → the runner, only with `TOKEN`."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.port = free_port()
        self.seen: list[tuple[str, str | None]] = []
        app = Starlette(
            routes=[Route(PREFIX + "/{path:path}", self.forward, methods=["GET", "POST", "PATCH"])]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def forward(self, request: Request) -> Response:
        auth = request.headers.get("authorization")
        self.seen.append((request.url.path, auth))
        if auth != TOKEN:
            return JSONResponse({"detail": "invalid API key"}, status_code=401)
        async with httpx.AsyncClient(base_url=self.target, timeout=30) as client:
            reply = await client.request(
                request.method,
                "/" + request.path_params["path"],
                content=await request.body(),
                headers={"content-type": request.headers.get("content-type", "application/json")},
            )
        return Response(
            reply.content, reply.status_code, media_type=reply.headers.get("content-type")
        )

    def __enter__(self) -> Gateway:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def gateway(runner_bot: RunnerBot) -> Iterator[Gateway]:
    with Gateway(runner_bot.url) as gateway:
        yield gateway


async def test_prefix_and_authorization_reach_a_hosted_runner(
    server_factory: Any, gateway: Gateway, runner_bot: RunnerBot
) -> None:
    env = {"PYRTVI_BOT_HEADERS": json.dumps({"Authorization": TOKEN})}
    server: LiveServer = server_factory("--bot-url", gateway.url + PREFIX, env=env)
    assert httpx.get(server.url + "/health").json()["bot"]["state"] == "reachable"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post("/connect", json=PAGE_DATA)
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert await session_through(server, bundle["offer_url"], client) == "2.2.0"
    assert runner_bot.wait_for_body(bundle["session_id"]) == PAGE_DATA
    paths = {path for path, _ in gateway.seen}
    assert {f"{PREFIX}/status", f"{PREFIX}/start"} <= paths
    assert f"{PREFIX}/sessions/{bundle['session_id']}/api/offer" in paths
    assert TOKEN not in response.text


def test_hosted_runner_refusing_the_key_is_a_clear_error(
    server_factory: Any, gateway: Gateway
) -> None:
    env = {"PYRTVI_BOT_HEADERS": json.dumps({"Authorization": "Bearer wrong"})}
    server: LiveServer = server_factory("--bot-url", gateway.url + PREFIX, env=env)
    assert httpx.get(server.url + "/health").json()["bot"]["state"] == "unreachable"
    response = httpx.post(server.url + "/start", json={"body": PAGE_DATA}, timeout=30)
    assert response.status_code == 401, response.text
    assert response.json() == {
        "error": "bot service rejected the request",
        "detail": "invalid API key",
    }


# -- /start against a recording bot service: what goes upstream, validation, CORS -------------------


@pytest.fixture(scope="module")
def recorded(server_factory: Any, upstream: FakeUpstream) -> LiveServer:
    extra = {"request_data": {"api_key": SECRET}, "services": {"tts": "espeak"}}
    # The fake bot service's candidates are on loopback, which the default policy refuses.
    env = {"PYRTVI_BOT_EXTRA": json.dumps(extra), "PYRTVI_ICE_ALLOW": "loopback,private,hostname"}
    args = ("--bot", "url", "--bot-url", upstream.url, "--allowed-origin", "http://app.test")
    return server_factory(*args, env=env)  # type: ignore[no-any-return]


def test_start_forwards_the_runner_body_with_server_extras(
    recorded: LiveServer, upstream: FakeUpstream
) -> None:
    upstream.requests.clear()
    start = {
        "transport": "webrtc",
        "enableDefaultIceServers": True,
        "body": {**PAGE_DATA, "api_key": "browser-tries", "services": {"llm": "x"}},
    }
    response = httpx.post(recorded.url + "/start", json=start, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["iceConfig"] == {"iceServers": ICE_SERVERS}
    assert response.json()["sessionId"] in upstream.sessions
    (forwarded,) = upstream.recorded("/start")
    assert forwarded.body == {
        "transport": "webrtc",
        "enableDefaultIceServers": True,
        "body": {**PAGE_DATA, "api_key": SECRET, "services": {"llm": "x", "tts": "espeak"}},
    }


def test_connect_sends_services_and_config_inside_the_body(
    recorded: LiveServer, upstream: FakeUpstream
) -> None:
    upstream.requests.clear()
    config = [{"service": "tts", "options": [{"name": "voice", "value": "en-gb"}]}]
    connect = {"services": {"llm": "x"}, "config": config, "room": "r1"}
    assert httpx.post(recorded.url + "/connect", json=connect, timeout=30).status_code == 200
    connect = {"services": {}, "config": [], "room": "r2", "rtvi_client_version": "1.0.0"}
    assert httpx.post(recorded.url + "/connect", json=connect, timeout=30).status_code == 200
    first, second = (r.body for r in upstream.recorded("/start"))
    assert first["transport"] == "webrtc" and first["enableDefaultIceServers"] is False
    assert first["body"] == {
        "room": "r1",
        "api_key": SECRET,
        "services": {"llm": "x", "tts": "espeak"},
        "config": config,
    }
    # Nothing sent, nothing added (but the server's own services); no client version stamp.
    assert second["body"] == {"room": "r2", "api_key": SECRET, "services": {"tts": "espeak"}}


def test_runner_offer_path_relays_offer_and_trickle(
    recorded: LiveServer, upstream: FakeUpstream
) -> None:
    session = httpx.post(recorded.url + "/start", json={}, timeout=30).json()["sessionId"]
    url = f"{recorded.url}/sessions/{session}/api/offer"
    answer = httpx.post(url, json={"sdp": "v=0", "type": "offer", "pc_id": None}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sdp": "v=0\r\nanswer", "type": "answer", "pc_id": "pc-1"}
    candidates = [{"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdp_mid": "0"}]
    patch = httpx.patch(url, json={"pc_id": "pc-1", "candidates": candidates}, timeout=30)
    assert patch.status_code == 204, patch.text
    assert [r.method for r in upstream.recorded(f"/sessions/{session}/api/offer")] == [
        "POST",
        "PATCH",
    ]


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"transport": "daily"}, 422, "transport"),
        ({"createDailyRoom": True}, 422, "createDailyRoom"),
        ({"body": [1, 2]}, 422, "body"),
        ({"enableDefaultIceServers": "yes"}, 422, "enableDefaultIceServers"),
        ([], 422, "object"),
    ],
)
def test_start_rejects_bad_bodies_before_the_bot_service(
    recorded: LiveServer, upstream: FakeUpstream, body: Any, status: int, text: str
) -> None:
    upstream.requests.clear()
    response = httpx.post(recorded.url + "/start", json=body, timeout=30)
    assert response.status_code == status, response.text
    assert response.json()["error"] == "invalid request"
    assert text in json.dumps(response.json())
    assert upstream.recorded("/start") == []


def test_start_and_runner_offer_follow_the_cors_rules(
    recorded: LiveServer, upstream: FakeUpstream
) -> None:
    upstream.requests.clear()
    preflight = {"Origin": "http://app.test", "Access-Control-Request-Method": "POST"}
    ok = httpx.options(recorded.url + "/start", headers=preflight)
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == "http://app.test"
    patch = {**preflight, "Access-Control-Request-Method": "PATCH"}
    ok = httpx.options(recorded.url + "/sessions/abc/api/offer", headers=patch)
    assert ok.status_code == 204 and "PATCH" in ok.headers["access-control-allow-methods"]
    allowed = httpx.post(
        recorded.url + "/start", json={}, headers={"Origin": "http://app.test"}, timeout=30
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://app.test"
    refused = httpx.post(
        recorded.url + "/start", json={}, headers={"Origin": "http://evil.test"}, timeout=30
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert len(upstream.recorded("/start")) == 1  # the refused one never reached the bot service


# -- the embedded bot reads the runner body -------------------------------------------------------


async def test_embedded_bot_reads_config_from_the_runner_body(
    modern_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    config = [{"service": "tts", "options": [{"name": "voice", "value": "en-gb"}]}]
    start = {"transport": "webrtc", "body": {"greeting": "hi", "config": config}}
    reply = await http.post(modern_bot.base_url + "/start", json=start)
    assert reply.status_code == 200, reply.text
    peer = RTVIPeer()
    try:
        await peer.connect(
            f"{modern_bot.base_url}/sessions/{reply.json()['sessionId']}/api/offer", http
        )
        await peer.ready("2.2.0", timeout=30)
        settings = await peer.request("client-message", {"t": "settings", "d": None})
        assert settings["data"]["d"]["voice"] == "en-gb"
    finally:
        await peer.close()
    bad = {"transport": "webrtc", "body": {"config": [{"service": 5}]}}
    refused = await http.post(modern_bot.base_url + "/start", json=bad)
    assert refused.status_code == 400 and "config" in refused.json()["detail"]
