"""`pyrtvi_server.state`: the shared-state interface, in memory and in a real `redis-server`
(two `RedisState`s standing for two replicas). No HTTP: the admission script's atomicity under
concurrency, the relay's claim and its lease, what Redis holds, Redis gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pyrtvi_server.limits import ConnectLimits
from pyrtvi_server.state import LEASE, RedisState, Refusal
from pyrtvi_server.upstream import ProxyError

from bench.cluster import RedisServer, have_cluster_tools

SECRET_URL = "ws://localhost:7860/ws-client?token=sk-bot-socket-token"


def limits(**overrides: float) -> ConnectLimits:
    values: dict[str, float] = {
        "max_pending": 10,
        "per_minute": 6000,
        "burst": 1000,
        "window": 30,
        "max_total": 1000,
    }
    values.update(overrides)
    return ConnectLimits(
        max_pending=int(values["max_pending"]),
        per_minute=values["per_minute"],
        burst=int(values["burst"]),
        window=values["window"],
        max_total=int(values["max_total"]),
        grace=values.get("grace", 5.0),
    )


# -- in memory ------------------------------------------------------------------------------------


def test_bare_starts_stop_counting_after_the_grace_once_the_cap_is_reached() -> None:
    memory = limits(max_total=3, grace=5)
    tokens = [memory.reserve(f"c{i}", 0, now=100.0) for i in range(3)]
    memory.bind(tokens[0], "offered-one")
    memory.offered("offered-one", now=101.0)
    with pytest.raises(ProxyError) as full:
        memory.reserve("d", 0, now=104.0)
    assert full.value.status == 503
    assert memory.half_open(now=104.0) == 2
    # Past the grace the two bare starts stop counting; the offered one still does.
    memory.reserve("d", 0, now=105.5)
    assert memory.reaped_early == 2 and memory.recent(now=105.5) == 2
    memory.reserve("e", 0, now=105.6)
    with pytest.raises(ProxyError):  # full again, of starts within their grace
        memory.reserve("f", 0, now=105.7)


def test_a_cancelled_start_does_not_count() -> None:
    memory = limits(max_pending=1)
    token = memory.reserve("a", 0, now=10.0)
    memory.cancel("a", token, 10.0)
    memory.reserve("a", 0, now=10.5)
    assert memory.recent(now=10.5) == 1


# -- Redis ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not have_cluster_tools():
        pytest.skip("redis-server is missing: apt-get install redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[tuple[RedisState, RedisState]]:
    first = RedisState(redis_server.url, limits(max_pending=10, max_total=25), session_ttl=60)
    second = RedisState(redis_server.url, limits(max_pending=10, max_total=25), session_ttl=60)
    await first.redis.flushdb()
    for state in (first, second):
        await state.startup()
    yield first, second
    for state in (first, second):
        await state.shutdown()


async def outcomes(state: RedisState, clients: list[str]) -> list[int]:
    async def one(client: str) -> int:
        try:
            await state.admit(client, 0)
        except ProxyError as exc:
            return exc.status
        return 200

    return list(await asyncio.gather(*(one(c) for c in clients)))


async def test_concurrent_admissions_on_two_replicas_never_pass_a_limit(
    replicas: tuple[RedisState, RedisState],
) -> None:
    first, second = replicas
    one_client = await asyncio.gather(outcomes(first, ["a"] * 30), outcomes(second, ["a"] * 30))
    statuses = one_client[0] + one_client[1]
    assert statuses.count(200) == 10 and statuses.count(429) == 50
    many = await asyncio.gather(
        outcomes(first, [f"x{i}" for i in range(20)]),
        outcomes(second, [f"y{i}" for i in range(20)]),
    )
    statuses = many[0] + many[1]
    assert statuses.count(200) == 15 and statuses.count(503) == 25  # 10 + 15 = the cap of 25
    sessions = await second.sessions(0)
    assert sessions["active"] == 25 and sessions["half_open"] == 25
    assert sessions["refused_per_client"] == 50 and sessions["refused_at_capacity"] == 25


async def test_offer_and_cancel_move_the_shared_counts(
    replicas: tuple[RedisState, RedisState],
) -> None:
    first, second = replicas
    started = await first.admit("a", 0)
    await first.started(started, "session-1")
    failed = await first.admit("a", 0)
    await first.cancel(failed)
    assert (await second.sessions(0))["half_open"] == 1
    await second.offered("session-1")  # the offer on the other replica
    counts = await first.sessions(0)
    assert counts["half_open"] == 0 and counts["started_recently"] == 1


async def test_a_relay_session_issued_on_one_replica_is_claimed_on_the_other(
    replicas: tuple[RedisState, RedisState],
) -> None:
    first, second = replicas
    body = {"greeting": "hi"}
    session_id = await first.issue(SECRET_URL, {"body": body, "api_key": "sk-extra"}, body)
    # Nothing in Redis but the page's own data: no bot URL, no token, no server extras.
    for key in await first.redis.keys("*"):
        if await first.redis.type(key) == b"string":
            value = await first.redis.get(key)
            assert isinstance(value, bytes)
            assert b"sk-" not in value and b"localhost" not in value
    target = await second.claim(session_id)
    assert target.url == "" and target.used and target.body == body
    with pytest.raises(Refusal) as busy:
        await first.claim(session_id)
    assert busy.value.code == 4409
    await second.release(target)
    mine = await first.claim(session_id)  # back on the issuing replica: its own URL
    assert mine.url == SECRET_URL and not mine.used
    with pytest.raises(Refusal) as unknown:
        await first.claim("no-such-session")
    assert unknown.value.code == 4404


async def test_a_dead_replicas_claim_lapses(replicas: tuple[RedisState, RedisState]) -> None:
    first, second = replicas
    session_id = await first.issue(SECRET_URL, {}, {})
    await first.claim(session_id)
    await first.shutdown()  # its heartbeat stops renewing the claim, as when it is killed
    with pytest.raises(Refusal):
        await second.claim(session_id)
    began = time.monotonic()
    while True:
        try:
            await second.claim(session_id)
            break
        except Refusal as refusal:
            assert refusal.code == 4409
            assert time.monotonic() - began < LEASE + 1
            await asyncio.sleep(0.1)
    first.redis = type(first.redis).from_url(first.url)  # for the fixture's shutdown


async def test_redis_gone_is_a_bounded_503(tmp_path: Path) -> None:
    if not have_cluster_tools():
        pytest.skip("redis-server is missing")
    server = RedisServer(tmp_path).start()
    state = RedisState(server.url, limits(), session_ttl=60, timeout=1.0)
    await state.startup()
    await state.admit("a", 0)
    server.stop()
    began = time.monotonic()
    with pytest.raises(ProxyError) as gone:
        await state.admit("a", 0)
    assert gone.value.status == 503 and "Redis" in str(gone.value.detail)
    with pytest.raises(Refusal) as later:
        await state.claim("some-session")
    assert later.value.code == 1013
    assert time.monotonic() - began < 3
    assert (await state.status())["state"] == "unreachable"
    with pytest.raises(ProxyError):
        await state.sessions(0)
    await state.shutdown()
