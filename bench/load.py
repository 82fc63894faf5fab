"""Load and abuse figures for `pyrtvi serve` (issue 11), written up in docs/reliability.md.

Run: `flock /tmp/pyrtvi-heavy.lock .venv/bin/python -m bench.load [--only NAME ...]`.

Rows (each against a fresh `pyrtvi serve` on a free loopback port):

- `connect-200`, `connect-500`: that many concurrent `/connect` on the embedded bot (limits
  raised for the row: this is capacity, not admission), p50/p99 latency.
- `half-open`: one client runs `/connect` + an SDP offer whose ICE never completes, `--cycles`
  times, with the default limits; 429s, bot RSS before / peak / after reaping / after the idle
  recycle, a fresh visitor's `/connect` during and after. `half-open-no-trim`: the same with the
  bot's `malloc_trim` off; `half-open-10-clients`: the cycles spread over 10 client addresses
  (the global cap's 503s).
- `kill-9`: `/connect` in a loop from 4 clients, the bot killed with SIGKILL; time to the first
  200 after the kill.
- `sse-50`: 50 concurrent disconnected actions streamed from the real bot.
- `slow-clients`: 100 connections that stall mid-headers or mid-body; time until the server has
  closed them all, and `/health` latency meanwhile.
- `drip`: `/connect` against an upstream that drips a byte every 0.2 s, with
  `PYRTVI_UPSTREAM_TIMEOUT=3`: time to the 504.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from pyrtvi_testing.processes import LiveServer

from bench.abuse import AbusiveUpstream, dead_offer_sdp

LOG_DIR = Path(tempfile.mkdtemp(prefix="pyrtvi-load-"))
#: The rows tell clients apart by `X-Forwarded-For` from loopback, which the servers believe
#: only from a listed proxy.
os.environ.setdefault("PYRTVI_FORWARDED_ALLOW_IPS", "127.0.0.1")
LIFTED = {
    "PYRTVI_CLIENT_MAX_PENDING": "10000",
    "PYRTVI_CLIENT_CONNECT_BURST": "10000",
    "PYRTVI_MAX_SESSIONS": "10000",
}

#: Fresh visitors during and after the half-open burst (their own client addresses).
DURING = {"X-Forwarded-For": "198.51.100.77"}
AFTER = {"X-Forwarded-For": "198.51.100.78"}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def embedded(env: dict[str, str] | None = None) -> LiveServer:
    server = LiveServer(["--bot", "embedded"], env or {}).start(LOG_DIR)
    deadline = time.monotonic() + 180
    while httpx.get(server.url + "/health", timeout=10).json()["bot"]["state"] != "running":
        if time.monotonic() > deadline:
            raise RuntimeError(server.log()[-3000:])
        time.sleep(0.2)
    return server


async def timed(call: Callable[[], Awaitable[httpx.Response]]) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        response = await call()
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    return time.perf_counter() - started, status


def connect_row(count: int) -> dict[str, Any]:
    server = embedded(LIFTED)
    try:

        async def run() -> list[tuple[float, int]]:
            limits = httpx.Limits(max_connections=count)
            async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as c:
                await c.post("/connect", json={})  # warm
                return await asyncio.gather(
                    *(timed(lambda: c.post("/connect", json={})) for _ in range(count))
                )

        results = asyncio.run(run())
    finally:
        server.stop()
    ok = [t for t, status in results if status == 200]
    return {
        "row": f"connect-{count}",
        "ok": len(ok),
        "failed": count - len(ok),
        "p50": ms(pct(ok, 50)) if ok else "-",
        "p99": ms(pct(ok, 99)) if ok else "-",
    }


def half_open_row(cycles: int, trim: bool = True, clients: int = 1) -> dict[str, Any]:
    server = embedded({} if trim else {"PYRTVI_BOT_MALLOC_TRIM": "0"})
    try:
        bot = server.bot_pid()
        before = rss_mib(bot)
        peak = before
        statuses: dict[int, int] = {}

        async def run() -> dict[str, Any]:
            nonlocal peak
            sdp = await dead_offer_sdp()
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as c:
                fresh: list[tuple[float, int]] = []
                started = time.monotonic()
                for i in range(cycles):
                    attacker = {"X-Forwarded-For": f"203.0.113.{i % clients + 1}"}
                    reply = await c.post("/connect", json={}, headers=attacker)
                    statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
                    if reply.status_code == 200:
                        await c.post(reply.json()["offer_url"], json={"sdp": sdp, "type": "offer"})
                    peak = max(peak, rss_mib(bot))
                    if i == cycles // 2:
                        fresh.append(
                            await timed(lambda: c.post("/connect", json={}, headers=DURING))
                        )
                burst = time.monotonic() - started
                # Wait for the reaping: no pipelines and no half-open sessions left.
                reap_start = time.monotonic()
                while True:
                    bot_health = (await c.get("/health")).json()
                    peak = max(peak, rss_mib(bot))
                    if bot_health["sessions"]["active"] == 0:
                        break
                    await asyncio.sleep(0.5)
                reaped = time.monotonic() - reap_start
                after_reap = rss_mib(bot)
                recycled_after = None
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    info = (await c.get("/health")).json()["bot"]
                    if info["recycles"] and info["state"] == "running":
                        recycled_after = time.monotonic() - reap_start
                        break
                    await asyncio.sleep(0.5)
                fresh.append(await timed(lambda: c.post("/connect", json={}, headers=AFTER)))
                return {
                    "burst_s": round(burst, 1),
                    "reaped_s": round(reaped, 1),
                    "after_reap": after_reap,
                    "recycled_s": None if recycled_after is None else round(recycled_after, 1),
                    "fresh": fresh,
                }

        out = asyncio.run(run())
        after_recycle = rss_mib(server.bot_pid())
    finally:
        server.stop()
    fresh = out.pop("fresh")
    return {
        "row": f"half-open x{cycles}, {clients} client(s)" + ("" if trim else ", no malloc_trim"),
        "statuses": statuses,
        "rss_before_mib": round(before),
        "rss_peak_mib": round(peak),
        "rss_after_reap_mib": round(out.pop("after_reap")),
        "rss_after_recycle_mib": round(after_recycle),
        "fresh_during": f"{fresh[0][1]} in {ms(fresh[0][0])}",
        "fresh_after": f"{fresh[1][1]} in {ms(fresh[1][0])}",
        **out,
    }


def kill_row() -> dict[str, Any]:
    server = embedded(LIFTED)
    try:
        pid = server.bot_pid()

        async def run() -> float:
            killed_at: list[float] = []
            first_ok: list[float] = []

            async def loop(c: httpx.AsyncClient) -> None:
                while not first_ok and time.monotonic() - start < 120:
                    status = (await timed(lambda: c.post("/connect", json={})))[1]
                    if status == 200 and killed_at and not first_ok:
                        first_ok.append(time.monotonic())
                    await asyncio.sleep(0.01)

            start = time.monotonic()
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as c:
                tasks = [asyncio.create_task(loop(c)) for _ in range(4)]
                await asyncio.sleep(2)
                os.kill(pid, signal.SIGKILL)
                killed_at.append(time.monotonic())
                await asyncio.gather(*tasks)
            return first_ok[0] - killed_at[0] if first_ok else float("nan")

        took = asyncio.run(run())
    finally:
        server.stop()
    return {"row": "kill-9 under load", "first_200_after": f"{took:.1f} s"}


SSE_ACTION = {
    "actions": [
        {
            "id": "act-1",
            "label": "rtvi-ai",
            "type": "action",
            "data": {
                "service": "llm",
                "action": "append_to_messages",
                "arguments": [
                    {"name": "messages", "value": [{"role": "user", "content": "Hello there."}]},
                    {"name": "run_immediately", "value": True},
                ],
            },
        }
    ]
}


def sse_row(count: int) -> dict[str, Any]:
    server = embedded(LIFTED)
    try:

        async def one(c: httpx.AsyncClient) -> tuple[float, int, int]:
            started = time.perf_counter()
            events = 0
            async with c.stream("POST", "/action", json=SSE_ACTION) as response:
                async for line in response.aiter_lines():
                    events += line.startswith("data: ")
                return time.perf_counter() - started, response.status_code, events

        async def run() -> list[tuple[float, int, int]]:
            limits = httpx.Limits(max_connections=count)
            async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as c:
                return await asyncio.gather(*(one(c) for _ in range(count)))

        results = asyncio.run(run())
    finally:
        server.stop()
    times = [t for t, status, events in results if status == 200 and events]
    return {
        "row": f"sse-{count}",
        "ok": len(times),
        "p50": ms(pct(times, 50)),
        "p99": ms(pct(times, 99)),
    }


def slow_row(count: int) -> dict[str, Any]:
    server = LiveServer(["--bot", "none"]).start(LOG_DIR)
    try:

        async def stall(i: int) -> float:
            started = time.monotonic()
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            head = b"GET / HTTP/1.1\r\nHost: x\r\n"
            body = b"POST /connect HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"
            writer.write(head if i % 2 else body)
            await writer.drain()
            await reader.read()
            writer.close()
            return time.monotonic() - started

        async def run() -> tuple[list[float], list[float]]:
            tasks = [asyncio.create_task(stall(i)) for i in range(count)]
            health = []
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
                for _ in range(10):
                    health.append((await timed(lambda: c.get("/health")))[0])
                    await asyncio.sleep(0.3)
            return await asyncio.gather(*tasks), health

        closed, health = asyncio.run(run())
    finally:
        server.stop()
    return {
        "row": f"slow-clients x{count}",
        "all_closed_after": f"{max(closed):.1f} s",
        "health_p50": ms(statistics.median(health)),
        "health_max": ms(max(health)),
    }


def drip_row() -> dict[str, Any]:
    upstream = AbusiveUpstream()
    upstream.start_server()
    server = LiveServer(
        ["--bot", "url", "--bot-url", upstream.url], {"PYRTVI_UPSTREAM_TIMEOUT": "3"}
    ).start(LOG_DIR)
    try:
        started = time.perf_counter()
        reply = httpx.post(server.url + "/connect", json={"mode": "drip"}, timeout=120)
        took = time.perf_counter() - started
        started = time.perf_counter()
        huge = httpx.post(server.url + "/connect", json={"mode": "huge"}, timeout=120)
        huge_took = time.perf_counter() - started
        server_rss = rss_mib(server.process.pid) if server.process else float("nan")
    finally:
        server.stop()
        upstream.stop()
    return {
        "row": "drip upstream (timeout 3 s)",
        "status": reply.status_code,
        "time_to_answer": f"{took:.1f} s",
        "huge_reply": f"{huge.status_code} in {ms(huge_took)}",
        "server_rss_mib": round(server_rss),
    }


ROWS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "connect-200": lambda a: connect_row(200),
    "connect-500": lambda a: connect_row(500),
    "half-open": lambda a: half_open_row(a.cycles),
    "half-open-no-trim": lambda a: half_open_row(a.cycles, trim=False),
    "half-open-10-clients": lambda a: half_open_row(a.cycles, clients=10),
    "kill-9": lambda a: kill_row(),
    "sse-50": lambda a: sse_row(50),
    "slow-clients": lambda a: slow_row(100),
    "drip": lambda a: drip_row(),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args(argv)
    for name in args.only:
        print(json.dumps(ROWS[name](args)), flush=True)


if __name__ == "__main__":
    main()
