"""`/start` throughput and latency: one replica without Redis, one with Redis, two with Redis
behind nginx (issue 26), in one run, written up in docs/benchmarks.md.

Run: `flock /tmp/pyrtvi-heavy.lock .venv/bin/python -m bench.replicas [--requests N]
[--concurrency C]`.

Loopback only, bounded (each row at most `ROW_TIMEOUT` s). The bot is a stand-in that answers
`/start` at once (a process of its own, so that the bot's cost does not hide the server's);
admission limits are lifted (every start still runs the admission, in memory or as the Redis
script). Each row: `--requests` `POST /start {"transport": "webrtc"}` from `--concurrency`
concurrent connections, after a warm-up; requests per second, p50 and p99 latency, failures.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pyrtvi_testing.processes import LiveServer, free_port

from bench.cluster import Cluster, RedisServer, start_cluster, stop_process, wait_port

LOG_DIR = Path(tempfile.mkdtemp(prefix="pyrtvi-replicas-"))
LIFTED = {
    "PYRTVI_CLIENT_MAX_PENDING": "1000000",
    "PYRTVI_CLIENT_CONNECT_BURST": "1000000",
    "PYRTVI_CLIENT_CONNECTS_PER_MINUTE": "1000000",
    "PYRTVI_MAX_SESSIONS": "1000000",
}
ROW_TIMEOUT = 180.0
WARM_UP = 100


def stand_in_bot() -> None:
    """`python -m bench.replicas --bot PORT`: a runner's `/status` and `/start`, nothing else."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def start(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"sessionId": secrets.token_hex(8)})

    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ready"})

    app = Starlette(routes=[Route("/start", start, methods=["POST"]), Route("/status", status)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def load(url: str, requests: int, concurrency: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker(count: int) -> None:
            nonlocal failures
            for _ in range(count):
                began = time.perf_counter()
                try:
                    reply = await client.post("/start", json={"transport": "webrtc"})
                    ok = reply.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - began)
                failures += not ok

        await asyncio.gather(*(worker(WARM_UP // concurrency + 1) for _ in range(concurrency)))
        latencies.clear()
        failures = 0
        share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
        began = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker(n) for n in share)), ROW_TIMEOUT)
        elapsed = time.perf_counter() - began
    return {
        "rps": len(latencies) / elapsed,
        "p50": pct(latencies, 50) * 1000,
        "p99": pct(latencies, 99) * 1000,
        "failed": failures,
    }


async def burst(url: str) -> dict[str, float]:
    """Issue 26's probe: 50 bare `/connect`s (no offer) from each of two addresses, then a
    third visitor, then fresh visitors every 0.1 s until one is served."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        began = time.perf_counter()
        replies = await asyncio.gather(
            *(
                client.post("/connect", json={}, headers={"X-Forwarded-For": f"203.0.113.{n}"})
                for n in (1, 2)
                for _ in range(50)
            )
        )
        sent = time.perf_counter() - began
        third = await client.post("/connect", json={}, headers={"X-Forwarded-For": "198.51.100.3"})
        visitor = 10
        while True:
            fresh = await client.post(
                "/connect", json={}, headers={"X-Forwarded-For": f"198.51.100.{visitor}"}
            )
            if fresh.status_code == 200 or time.perf_counter() - began > 60:
                break
            visitor += 1
            await asyncio.sleep(0.1)
        return {
            "burst_ok": sum(r.status_code == 200 for r in replies),
            "burst_s": sent,
            "third": third.status_code,
            "served_after_s": time.perf_counter() - began - sent,
        }


def one_replica(bot_url: str, redis: RedisServer | None) -> tuple[str, Callable[[], None]]:
    args = ["--bot-url", bot_url] + (["--redis-url", redis.url] if redis else [])
    server = LiveServer(args, dict(LIFTED)).start(LOG_DIR)
    return server.url, server.stop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    port = free_port()
    bot = subprocess.Popen(
        [sys.executable, "-m", "bench.replicas", "--bot", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    rows: list[tuple[str, dict[str, float]]] = []
    probe: dict[str, float] = {}
    try:
        (LOG_DIR / "bot.log").touch()
        wait_port(port, "the stand-in bot", bot, LOG_DIR / "bot.log")
        bot_url = f"http://127.0.0.1:{port}"
        # The probe, on default limits (X-Forwarded-For believed from loopback, as behind a
        # balancer on this machine).
        server = LiveServer(["--bot-url", bot_url, "--forwarded-allow-ips", "127.0.0.1"], {}).start(
            LOG_DIR
        )
        try:
            probe = asyncio.run(burst(server.url))
        finally:
            server.stop()
        redis = RedisServer(LOG_DIR).start()
        try:
            for name, with_redis in (("1 replica, no Redis", False), ("1 replica, Redis", True)):
                url, stop = one_replica(bot_url, redis if with_redis else None)
                try:
                    rows.append((name, asyncio.run(load(url, args.requests, args.concurrency))))
                finally:
                    stop()
        finally:
            redis.stop()
        (LOG_DIR / "cluster").mkdir()
        cluster: Cluster = start_cluster(LOG_DIR / "cluster", bot_url, env=LIFTED)
        try:
            stats = asyncio.run(load(cluster.url, args.requests, args.concurrency))
            rows.append(("2 replicas, Redis, behind nginx", stats))
        finally:
            cluster.stop()
    finally:
        stop_process(bot)
    print(
        f"half-open probe: {probe['burst_ok']:.0f}/100 bare /connect ok in "
        f"{probe['burst_s']:.2f} s; a third visitor: {probe['third']:.0f}; the first fresh "
        f"visitor served {probe['served_after_s']:.1f} s after the burst\n"
    )
    print(f"{args.requests} × POST /start, {args.concurrency} concurrent, loopback\n")
    print("| setup | /start per second | p50 | p99 | failed |")
    print("|---|---|---|---|---|")
    for name, stats in rows:
        print(
            f"| {name} | {stats['rps']:.0f} | {stats['p50']:.1f} ms | {stats['p99']:.1f} ms "
            f"| {stats['failed']:.0f} |"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bot"]:
        stand_in_bot()
    else:
        main()
