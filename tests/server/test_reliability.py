"""Issue 11, case by case: `pyrtvi serve` under abuse, against a misbehaving fake bot service and
against the real embedded bot. Loopback only; every wait is bounded.

Distinct clients are simulated with `X-Forwarded-For` (the servers here trust it from 127.0.0.1:
`PYRTVI_FORWARDED_ALLOW_IPS`), so the per-client limits of one test do not spill into the next.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyrtvi_testing.processes import LiveServer

from bench.abuse import AbusiveUpstream, dead_offer_sdp, json_body, raw_request, status_of

API_KEY = "sk-live-0123456789abcdef"
HEADER_KEY = "hdr-9876543210-secret"
SYSTEM_PROMPT = "You are the private pyrtvi test persona"
EXTRA = {
    "request_data": {"api_key": API_KEY},
    "config": [
        {
            "service": "llm",
            "options": [{"name": "initial_messages", "value": [SYSTEM_PROMPT]}],
        }
    ],
}
HEADERS = {"Authorization": f"Bearer {HEADER_KEY}"}
UPSTREAM_TIMEOUT = 1.5
HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
#: Generous bound for anything that should end "at once" or after one of the timeouts above.
BOUND = 15.0
_clients = itertools.count(1)


def client_ip() -> dict[str, str]:
    """Headers making the request come from a client of its own."""
    n = next(_clients)
    return {"X-Forwarded-For": f"198.51.100.{n % 250 + 1}"}


def assert_error(response: httpx.Response, status: int, text: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    assert text.lower() in json.dumps(body).lower(), body
    return body  # type: ignore[no-any-return]


def assert_no_secret(text: str) -> None:
    for secret in (API_KEY, HEADER_KEY, SYSTEM_PROMPT):
        assert secret not in text


@pytest.fixture(scope="module", autouse=True)
def trust_loopback_proxy() -> Iterator[None]:
    """Every server of this module believes `X-Forwarded-For` from 127.0.0.1 (none does by
    default), so that `client_ip()` makes a client of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYRTVI_FORWARDED_ALLOW_IPS", "127.0.0.1")
        yield


@pytest.fixture(scope="module")
def upstream() -> Iterator[AbusiveUpstream]:
    fake = AbusiveUpstream()
    fake.start_server()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(server_factory: Any, upstream: AbusiveUpstream) -> LiveServer:
    env = {
        "PYRTVI_BOT_EXTRA": json.dumps(EXTRA),
        "PYRTVI_BOT_HEADERS": json.dumps(HEADERS),
        "PYRTVI_UPSTREAM_TIMEOUT": str(UPSTREAM_TIMEOUT),
        "PYRTVI_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "PYRTVI_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "PYRTVI_ICE_ALLOW": "private,hostname",
    }
    return server_factory("--bot", "url", "--bot-url", upstream.url, env=env)  # type: ignore[no-any-return]


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers=client_ip()) as c:
        yield c


def action(name: str, service: str = "llm", **request_data: Any) -> dict[str, Any]:
    envelope = {"id": "a1", "label": "rtvi-ai", "type": "action"}
    return {**request_data, "actions": [{**envelope, "data": {"service": service, "action": name}}]}


# -- 1. every error is JSON; hostile JSON is 400, never 500 -----------------------------------


def nested(levels: int) -> bytes:
    return b'{"a": ' * levels + b"1" + b"}" * levels


HOSTILE_BODIES = {
    "NaN": b'{"x": NaN}',
    "Infinity": b'{"x": Infinity}',
    "-Infinity": b'{"x": -Infinity}',
    "1e400": b'{"x": 1e400}',
    "lone surrogate": b'{"x": "\\ud800"}',
    "surrogate key": b'{"\\udfff": 1}',
    "nested 485": nested(485),
    "nested 700": nested(700),
    "nested 989": nested(989),
    "nested 5000": nested(5000),
}


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
@pytest.mark.parametrize("path", ["/connect", "/action", "/sessions/s1/offer"])
def test_hostile_json_is_400(client: httpx.Client, path: str, name: str) -> None:
    body = HOSTILE_BODIES[name]
    if path == "/action" and not name.startswith("nested"):
        body = body[:-1] + b', "actions": []}'
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid JSON")


def test_server_log_has_no_traceback(server: LiveServer, client: httpx.Client) -> None:
    for body in HOSTILE_BODIES.values():
        client.post("/connect", content=body, headers={"Content-Type": "application/json"})
    client.get("/app/x%00")
    assert "Traceback" not in server.log()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/page", 404),
        ("GET", "/app/no-such-file.js", 404),
        ("GET", "/connect", 405),
        ("POST", "/health", 405),
        ("POST", "/app/index.html", 405),
        ("GET", "/app/x%00", 400),
        ("GET", "/app/a%00b.js", 400),
    ],
)
def test_every_error_is_json(client: httpx.Client, method: str, path: str, status: int) -> None:
    assert_error(client.request(method, path), status)


# -- 2. no configured secret reaches the browser -------------------------------------------------


@pytest.mark.parametrize(("mode", "status"), [("echo", 422), ("echo_text", 400)])
def test_upstream_echo_never_shows_secrets(client: httpx.Client, mode: str, status: int) -> None:
    response = client.post("/connect", json={"mode": mode})
    body = assert_error(response, status, f"answered {status}")
    assert "server log" in body["detail"]
    assert_no_secret(response.text)


def test_upstream_error_without_secrets_is_passed_on(client: httpx.Client) -> None:
    assert_error(client.post("/connect", json={"mode": "reject"}), 422, "no such voice: robo")


def test_streamed_echo_withholds_the_event_holding_a_secret(client: httpx.Client) -> None:
    response = client.post("/action", json=action("echo"))
    assert response.status_code == 200
    events = [
        json.loads(base64.b64decode(line[6:]))
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]
    assert [e["type"] for e in events] == ["bot-llm-started", "error", "bot-llm-stopped"]
    assert "withheld" in events[1]["data"]["error"]
    assert_no_secret(response.text)


def test_server_config_is_not_readable_back(client: httpx.Client) -> None:
    response = client.post("/action", json=action("get_context", sessionId="s1"))
    assert_error(response, 403, "PYRTVI_EXPOSE_SERVER_CONFIG")
    assert_no_secret(response.text)


# -- 3. bounded waits and sizes ----------------------------------------------------------------


def test_drip_upstream_is_cut_off_per_request(client: httpx.Client) -> None:
    """An upstream dripping a byte every 0.2 s (each read well inside the timeout) for 60 s."""
    started = time.monotonic()
    body = assert_error(client.post("/connect", json={"mode": "drip"}), 504, "timeout")
    assert time.monotonic() - started < BOUND, "cut off after the upstream timeout"
    assert f"{UPSTREAM_TIMEOUT:g} s" in body["detail"]


def test_huge_upstream_reply_is_refused(client: httpx.Client) -> None:
    assert_error(client.post("/connect", json={"mode": "huge"}), 502, "larger than")


def test_stalled_headers_are_timed_out(server: LiveServer) -> None:
    raw = raw_request(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow:", BOUND)
    assert status_of(raw) == 408, raw
    assert json_body(raw)["error"] == "request timeout"


def test_idle_connection_is_closed(server: LiveServer) -> None:
    assert raw_request(server.port, b"", BOUND) == b""


def test_stalled_body_is_timed_out(server: LiveServer) -> None:
    head = b"POST /connect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw = raw_request(server.port, head + b"Content-Length: 100\r\n\r\n{", BOUND)
    assert raw != b"<still open>" and status_of(raw) in {400, 408}, raw


def test_absurd_chunk_size_is_refused(server: LiveServer) -> None:
    head = b"POST /connect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n{"
    raw = raw_request(server.port, chunked, BOUND)
    assert status_of(raw) == 413, raw
    assert json_body(raw)["error"] == "chunk too large"


def test_many_slow_clients_are_all_closed(server: LiveServer) -> None:
    async def stall(i: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"POST /connect HTTP/1.1\r\n")
        if i % 2 == 0:
            writer.write(b"Host: x\r\nContent-Length: 50\r\n\r\n{")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), BOUND)
        writer.close()
        return data

    async def main() -> list[bytes]:
        return await asyncio.gather(*(stall(i) for i in range(100)))

    answers = asyncio.run(main())
    assert all(status_of(a) in {400, 408} or a == b"" for a in answers)
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200


# -- 4. admission: per-client 429, global 503, capacity in /health -----------------------------


@pytest.fixture(scope="module")
def limited(server_factory: Any, upstream: AbusiveUpstream) -> LiveServer:
    env = {"PYRTVI_CLIENT_MAX_PENDING": "4", "PYRTVI_MAX_SESSIONS": "9"}
    return server_factory("--bot", "url", "--bot-url", upstream.url, env=env)  # type: ignore[no-any-return]


def test_per_client_limit_then_global_cap(limited: LiveServer) -> None:
    with httpx.Client(base_url=limited.url, timeout=30) as c:
        first = client_ip()
        for _ in range(4):
            assert c.post("/connect", json={}, headers=first).status_code == 200
        refused = c.post("/connect", json={}, headers=first)
        assert_error(refused, 429, "pending sessions")
        assert int(refused.headers["retry-after"]) >= 1
        # Another visitor is unaffected ...
        second = client_ip()
        for _ in range(4):
            assert c.post("/connect", json={}, headers=second).status_code == 200
        assert c.post("/connect", json={}, headers=client_ip()).status_code == 200
        # ... until the server as a whole is full: 503 for everyone.
        full = c.post("/connect", json={}, headers=client_ip())
        assert_error(full, 503, "at capacity")
        assert full.headers["retry-after"]
        health = c.get("/health").json()["sessions"]
    assert health["max"] == 9 and health["active"] == 9
    assert health["refused_per_client"] == 1 and health["refused_at_capacity"] == 1


def test_connect_rate_limit(server_factory: Any, upstream: AbusiveUpstream) -> None:
    env = {"PYRTVI_CLIENT_CONNECT_BURST": "3", "PYRTVI_CLIENT_CONNECTS_PER_MINUTE": "6"}
    server = server_factory("--bot", "url", "--bot-url", upstream.url, env=env)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        answers = [c.post("/connect", json={}).status_code for _ in range(5)]
        assert answers == [200, 200, 200, 429, 429]
        refused = c.post("/connect", json={})
    assert_error(refused, 429, "too often")
    assert 1 <= int(refused.headers["retry-after"]) <= 10


# -- 5. host, candidates, headers ----------------------------------------------------------------


def test_candidate_policy(client: httpx.Client, upstream: AbusiveUpstream) -> None:
    bundle = client.post("/connect", json={}).json()
    assert client.post(bundle["offer_url"], json={"sdp": "v=0", "type": "offer"}).is_success
    upstream.requests.clear()
    for address in ("127.0.0.1", "::1", "169.254.1.1", "224.0.0.1", "0.0.0.0"):
        line = f"candidate:1 1 udp 2122260223 {address} 18598 typ host"
        patch = {"pc_id": "pc-1", "candidates": [{"candidate": line, "sdp_mid": "0"}]}
        assert_error(client.patch(bundle["offer_url"], json=patch), 400, "not allowed")
    assert not upstream.recorded("/api/offer"), "refused candidates never reach the bot"
    # Candidates in the offer itself: the refused ones are dropped, the rest passes.
    sdp = (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        "a=candidate:1 1 udp 2122260223 127.0.0.1 18598 typ host\r\n"
        "a=candidate:2 1 udp 2122260223 192.168.1.20 50000 typ host\r\n"
    )
    assert client.post(bundle["offer_url"], json={"sdp": sdp, "type": "offer"}).is_success
    (forwarded,) = upstream.recorded("/api/offer")
    assert "127.0.0.1" not in forwarded.body["sdp"] and "192.168.1.20" in forwarded.body["sdp"]
    for address in ("192.168.1.20", "203.0.113.7", "f3c1e0f2-1d2c.local"):
        line = f"candidate:1 1 udp 2122260223 {address} 50000 typ host"
        patch = {"pc_id": "pc-1", "candidates": [{"candidate": line, "sdp_mid": "0"}]}
        assert client.patch(bundle["offer_url"], json=patch).status_code == 204


def test_public_url_decides_offer_url(server_factory: Any, upstream: AbusiveUpstream) -> None:
    public = "https://rtvi.example.org"
    server = server_factory(
        "--bot", "url", "--bot-url", upstream.url, env={"PYRTVI_PUBLIC_URL": public}
    )
    with httpx.Client(base_url=server.url, timeout=30, headers={"Host": "evil.example"}) as c:
        assert c.post("/connect", json={}).json()["offer_url"].startswith(public + "/sessions/")
        assert c.get("/pyscript.json").json()["interpreter"].startswith(public + "/runtime/")


def test_trusted_hosts(server_factory: Any, upstream: AbusiveUpstream) -> None:
    env = {"PYRTVI_TRUSTED_HOSTS": "127.0.0.1,localhost"}
    server = server_factory("--bot", "url", "--bot-url", upstream.url, env=env)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/pyscript.json").status_code == 200
        assert_error(c.get("/pyscript.json", headers={"Host": "evil.example"}), 400, "untrusted")
        assert_error(c.post("/connect", json={}, headers={"Host": "evil.example"}), 400)


def test_security_headers_and_map_mime(client: httpx.Client, server: LiveServer) -> None:
    page = client.get("/")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    runtime = client.get("/pyscript.json").json()["interpreter"].rsplit("/", 1)[0]
    assert client.get(runtime + "/pyodide.mjs").headers["x-content-type-options"] == "nosniff"
    core = str(client.get("/pyscript/core.js").headers["location"]).rsplit("/", 1)[0]
    dist = Path(__file__).resolve().parents[2] / "node_modules" / "@pyscript" / "core" / "dist"
    source_map = next(dist.glob("*.js.map"))
    response = client.get(f"{core}/{source_map.name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


# -- the embedded bot (real pipecat): half-open sessions, its port, the body limit --------------


@pytest.fixture(scope="module")
def embedded(server_factory: Any) -> LiveServer:
    env = {
        "PYRTVI_HALF_OPEN_TIMEOUT": "3",
        "PYRTVI_CLIENT_MAX_PENDING": "6",
        "PYRTVI_BOT_RECYCLE_MB": "1",
        "PYRTVI_UPSTREAM_TIMEOUT": "8",
    }
    server: LiveServer = server_factory("--bot", "embedded", env=env)
    deadline = time.monotonic() + 120
    while httpx.get(server.url + "/health", timeout=10).json()["bot"]["state"] != "running":
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.2)
    return server


def bot_port(server: LiveServer) -> int:
    cmdline = Path(f"/proc/{server.bot_pid()}/cmdline").read_bytes().split(b"\0")
    return int(cmdline[cmdline.index(b"--port") + 1])


def test_embedded_bot_port_needs_the_launch_secret(embedded: LiveServer) -> None:
    base = f"http://127.0.0.1:{bot_port(embedded)}"
    assert httpx.get(base + "/health", timeout=10).status_code == 200
    refused = httpx.post(base + "/start", json={}, timeout=10)
    assert refused.status_code == 401
    assert httpx.get(base + "/load", timeout=10).status_code == 401
    forged = httpx.post(base + "/start", json={}, headers={"X-Pyrtvi-Bot-Token": "x"}, timeout=10)
    assert forged.status_code == 401
    assert httpx.post(embedded.url + "/connect", json={}, headers=client_ip()).status_code == 200


def test_body_just_under_the_limit_reaches_the_bot(embedded: LiveServer) -> None:
    limit = 256 * 1024
    body = json.dumps({"blob": "é" * ((limit - 64) // 2)}, ensure_ascii=False).encode()
    assert limit - 200 < len(body) <= limit
    headers = {"Content-Type": "application/json", **client_ip()}
    response = httpx.post(embedded.url + "/connect", content=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text


def test_half_open_burst_is_bounded_and_reaped(embedded: LiveServer) -> None:
    """One client: /connect + an offer whose ICE never completes, again and again."""

    async def burst() -> list[int]:
        sdp = await dead_offer_sdp()
        statuses = []
        async with httpx.AsyncClient(base_url=embedded.url, timeout=30) as c:
            attacker = client_ip()
            for _ in range(10):
                connected = await c.post("/connect", json={}, headers=attacker)
                statuses.append(connected.status_code)
                if connected.status_code == 200:
                    offer = {"sdp": sdp, "type": "offer"}
                    answer = await c.post(connected.json()["offer_url"], json=offer)
                    assert answer.status_code == 200, answer.text
                else:
                    assert connected.headers["retry-after"]
            # A fresh visitor is still served during the burst.
            fresh = await c.post("/connect", json={}, headers=client_ip())
            statuses.append(fresh.status_code)
        return statuses

    statuses = asyncio.run(burst())
    assert statuses == [200] * 6 + [429] * 4 + [200]
    deadline = time.monotonic() + 40  # half-open timeout 3 s + reaper + pipeline teardown
    while True:
        bot = httpx.get(embedded.url + "/health", timeout=10).json()["bot"]
        if bot.get("reaped", 0) >= 6 and not bot["pipelines"] and not bot["half_open"]:
            break
        assert time.monotonic() < deadline, bot
        time.sleep(0.5)
    # Idle (and quiet for the upstream timeout) with memory above its baseline (1 MiB allowed
    # here): the bot is recycled.
    deadline = time.monotonic() + 90
    while (bot := httpx.get(embedded.url + "/health", timeout=10).json()["bot"])["recycles"] < 1:
        assert time.monotonic() < deadline, bot
        time.sleep(0.5)
    while bot["state"] != "running":
        assert time.monotonic() < deadline, bot
        time.sleep(0.2)
        bot = httpx.get(embedded.url + "/health", timeout=10).json()["bot"]
    assert httpx.post(embedded.url + "/connect", json={}, headers=client_ip()).status_code == 200
    assert re.search(r"recycling it", embedded.log())
