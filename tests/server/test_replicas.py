"""Two `pyrtvi serve` replicas behind nginx (round-robin, no affinity), sharing one Redis
(issue 26), in url mode against the stock runner bot (every transport at once).

Each client is a loopback address of its own (127.0.0.N as the source address): nginx passes
it as `X-Forwarded-For`, which the replicas believe from nginx only (`--forwarded-allow-ips
127.0.0.1`). Order matters within the module (one Redis): the sessions, the per-client limit,
the global cap, then Redis stopped, frozen and started again (which empties it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from bench.cluster import Cluster, RedisServer
from tests.replicas import any_transport_bot, cluster_fixture, health
from tests.runner_bot import RunnerBot
from tests.server.rtvi_peer import RTVIPeer
from tests.server.test_wsrelay import TIMEOUT, open_ws, until_bot_ready

pytestmark = pytest.mark.bot

MAX_PENDING = 4
MAX_SESSIONS = 12
GRACE = 4.0  # a loaded CI machine fills the cap well within it
ENV = {
    "PYRTVI_CLIENT_MAX_PENDING": str(MAX_PENDING),
    "PYRTVI_MAX_SESSIONS": str(MAX_SESSIONS),
    "PYRTVI_HALF_OPEN_GRACE": str(GRACE),
}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerBot]:
    yield from any_transport_bot(tmp_path_factory)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, bot: RunnerBot) -> Iterator[Cluster]:
    yield from cluster_fixture(tmp_path_factory, bot.url, ENV)


def visitor(n: int, cluster: Cluster) -> httpx.Client:
    """A client of its own: source address 127.0.0.`n`."""
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{n}")
    return httpx.Client(base_url=cluster.url, transport=transport, timeout=30)


def both_served(replies: list[httpx.Response], cluster: Cluster) -> None:
    served = {reply.headers["x-upstream"] for reply in replies}
    assert served == {f"127.0.0.1:{r.port}" for r in cluster.replicas}, served


def test_a_websocket_session_is_relayed_by_the_replica_that_did_not_start_it(
    cluster: Cluster,
) -> None:
    """`/start` on one replica, the socket on the other (4404 before issue 26), up to bot-ready;
    the bot's socket URL never reaches the client, nor Redis."""

    async def session() -> tuple[str, str]:
        with visitor(2, cluster) as client:
            started = client.post("/start", json={"transport": "websocket"})
        assert started.status_code == 200, started.text
        url = started.json()["wsUrl"]
        assert url.startswith(f"ws://127.0.0.1:{cluster.nginx.port}/sessions/")
        ws = await open_ws(url, None)
        try:
            await until_bot_ready(ws)
        finally:
            await ws.close()
        return started.headers["x-upstream"], url.split(f":{cluster.nginx.port}", 1)[1]

    first, path = asyncio.run(session())
    deadline = time.monotonic() + TIMEOUT  # nginx logs a socket when it closes
    while not (socket := [e for e in cluster.nginx.served() if e[1] == path]):
        assert time.monotonic() < deadline, cluster.nginx.served()
        time.sleep(0.1)
    assert socket[0][3] != first, "round-robin sent the socket to the replica that started it"
    assert socket[0][2] == 101
    leaked = [k for k in redis_keys(cluster) if "ws-client" in k or "localhost" in k]
    assert not leaked and not redis_grep(cluster, "localhost")


def redis_keys(cluster: Cluster) -> list[str]:
    import redis

    client = redis.Redis.from_url(cluster.redis.url)
    try:
        return [key.decode() for key in client.scan_iter("*")]
    finally:
        client.close()


def redis_grep(cluster: Cluster, text: str) -> list[str]:
    """The string keys whose value holds `text`."""
    import redis

    client = redis.Redis.from_url(cluster.redis.url)
    try:
        found = []
        for key in client.scan_iter("*"):
            if client.type(key) == b"string" and text.encode() in (client.get(key) or b""):
                found.append(key.decode())
        return found
    finally:
        client.close()


def test_a_webrtc_session_offers_through_the_other_replica(cluster: Cluster) -> None:
    """`/start` on one replica, the offer on the other: bot-ready, and the shared count sees the
    session leave the half-open ones."""

    async def session() -> list[str]:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.3")
        async with httpx.AsyncClient(base_url=cluster.url, transport=transport, timeout=30) as c:
            started = await c.post("/start", json={"transport": "webrtc"})
            assert started.status_code == 200, started.text
            half_open = health(cluster.replicas[0].url)["sessions"]["half_open"]  # type: ignore[index]
            assert half_open >= 1
            peer = RTVIPeer()
            try:
                offer_url = f"{cluster.url}/sessions/{started.json()['sessionId']}/api/offer"
                await peer.connect(offer_url, c, timeout=30)
                await peer.ready("2.2.0", timeout=30)
            finally:
                await peer.close()
            after = health(cluster.replicas[1].url)["sessions"]["half_open"]  # type: ignore[index]
            assert after == half_open - 1
            return [started.headers["x-upstream"]]

    first = asyncio.run(session())
    offers = [e for e in cluster.nginx.served() if e[1].endswith("/api/offer")]
    assert offers and offers[-1][3] not in first, offers


def test_the_per_client_limit_is_shared(cluster: Cluster) -> None:
    with visitor(21, cluster) as client:
        replies = [client.post("/connect", json={}) for _ in range(MAX_PENDING)]
        assert [r.status_code for r in replies] == [200] * MAX_PENDING
        both_served(replies, cluster)
        refused = [client.post("/connect", json={}) for _ in range(2)]
        both_served(refused, cluster)
        for reply in refused:
            assert reply.status_code == 429, reply.text
            assert reply.json()["error"] == "too many pending sessions"
            assert int(reply.headers["retry-after"]) >= 1
        # A forged X-Forwarded-For changes nothing: nginx sets it from the connection.
        forged = client.post("/connect", json={}, headers={"X-Forwarded-For": "203.0.113.9"})
        assert forged.status_code == 429
    with visitor(22, cluster) as other:
        assert other.post("/connect", json={}).status_code == 200


def test_the_global_cap_holds_across_replicas_and_bare_starts_stop_counting(
    cluster: Cluster,
) -> None:
    replies: list[httpx.Response] = []
    for n in range(30, 30 + 2 * MAX_SESSIONS):
        with visitor(n, cluster) as client:
            replies.append(client.post("/connect", json={}))
        if replies[-1].status_code == 503:
            break
    full = replies[-1]
    assert full.status_code == 503 and full.json()["error"] == "server at capacity", full.text
    both_served(replies[:-1], cluster)
    with visitor(80, cluster) as late, visitor(81, cluster) as later:
        refused = [late.post("/connect", json={}), later.post("/connect", json={})]
    assert [r.status_code for r in refused] == [503, 503]
    both_served(refused, cluster)
    for replica in cluster.replicas:  # the same shared count on each
        sessions: Any = health(replica.url)["sessions"]
        assert sessions["active"] == MAX_SESSIONS
        assert set(sessions["replicas"]) == {
            health(r.url)["state"]["replica"]  # type: ignore[index]
            for r in cluster.replicas
        }
    # Bare starts (no offer) stop counting GRACE s after they began once the cap is reached:
    # a burst of them holds the site full for seconds, not for the half-open window.
    began = time.monotonic()
    n = 90
    while True:
        with visitor(n, cluster) as fresh:
            reply = fresh.post("/connect", json={})
        if reply.status_code == 200:
            break
        assert time.monotonic() - began < GRACE + 3, reply.text
        n += 1
        time.sleep(0.2)
    sessions = health(cluster.url)["sessions"]
    assert sessions["half_open_reaped_early"] >= 1  # type: ignore[index]


def test_redis_stopped_frozen_and_back(cluster: Cluster) -> None:
    cluster.redis.stop()
    with visitor(100, cluster) as client:
        began = time.monotonic()
        refused = [client.post("/connect", json={}) for _ in range(2)]
        assert time.monotonic() - began < 6
        both_served(refused, cluster)
        for reply in refused:
            assert reply.status_code == 503, reply.text
            body = reply.json()
            assert body["error"] == "shared state unavailable"
            assert "Redis" in body["detail"]
            assert reply.headers["retry-after"]
        state = health(cluster.url)
        assert state["status"] == "degraded"
        assert state["state"]["state"] == "unreachable"  # type: ignore[index]
        # The socket of a session cannot be claimed either: 1013, try again later.
        code = asyncio.run(refused_socket(cluster))
        assert code == 1013
        # Redis back on its port: service resumes, the replicas were not restarted.
        cluster.redis = RedisServer(cluster.redis.workdir, port=cluster.redis.port).start()
        deadline = time.monotonic() + 10
        while (reply := client.post("/connect", json={})).status_code != 200:
            assert time.monotonic() < deadline, reply.text
            time.sleep(0.2)
        both_served([reply, client.post("/connect", json={})], cluster)
        assert health(cluster.url)["status"] == "ok"
        # Frozen (no answer at all): bounded by the state timeout, then 503.
        assert cluster.redis.process is not None
        os.kill(cluster.redis.process.pid, signal.SIGSTOP)
        try:
            began = time.monotonic()
            frozen = client.post("/connect", json={})
            assert frozen.status_code == 503, frozen.text
            assert time.monotonic() - began < 5
        finally:
            os.kill(cluster.redis.process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 10
        while (reply := client.post("/connect", json={})).status_code != 200:
            assert time.monotonic() < deadline, reply.text
            time.sleep(0.2)


async def refused_socket(cluster: Cluster) -> int:
    url = f"ws://127.0.0.1:{cluster.nginx.port}/sessions/any-session/ws"
    ws = await open_ws(url, None)
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert ws.protocol.close_rcvd is not None
    return ws.protocol.close_rcvd.code
