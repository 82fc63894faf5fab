"""SmallWebRTC transport: connect() → bot-ready per bot, ICE gathered vs trickled, and more.

Run: `.venv/bin/python -m bench.webrtc [--runs 5]`. Starts `pyrtvi serve --bot embedded` for
pipecat 0.0.108 and 1.14.0 on free ports and drives Debian Chromium headless with the suite's
launch flags (fake mic = tests/data/speech48k.wav) through the transport test harness page.

Per bot and ICE mode it reports the median (min–max) of `runs` timed `client.connect()` calls
(after one untimed warm-up), each on the same client after a `disconnect()` — what a user
pressing "connect" gets: devices, `/connect`, WebRTC offer/answer/ICE/data channel, bot-ready —
and the phase split from the transport state timestamps. Then a request round trip (median of
20) and one bot kill → `disconnected` per bot.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright
from pyrtvi_testing.harness import Harness, HarnessPool
from pyrtvi_testing.processes import LiveServer

from bench.support import launch

BOTS = ("0.0.108", "1.14.0")

CONNECT_RUNS = """
import asyncio, json, time
client = make_client(transport=SmallWebRTCTransport(ice_trickle={trickle}))
await client.connect()
await client.disconnect()
runs = []
for _ in range({runs}):
    await asyncio.sleep(0.3)
    js.rtviEvents.length = 0
    started = time.monotonic()
    await client.connect()
    total = time.monotonic() - started
    marks = {{}}
    for raw in js.rtviEvents:
        event = json.loads(raw)
        key = event["data"][0] if event["name"] == "transportStateChanged" else event["name"]
        marks.setdefault(key, event["t"])
    runs.append([total * 1000, marks])
    await client.disconnect()
runs
"""

ROUND_TRIPS = """
import time
client = make_client()
await client.connect()
times = []
for _ in range(20):
    started = time.monotonic()
    {request}
    times.append((time.monotonic() - started) * 1000)
await client.disconnect()
times
"""

#: (label, from mark, to mark) of the connect phases.
PHASES = (
    ("devices", "initializing", "authenticating"),
    ("/connect", "authenticating", "connecting"),
    ("webrtc", "connecting", "connected"),
    ("bot-ready", "connected", "botReady"),
)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.0f} ms ({min(values):.0f}–{max(values):.0f})"


def kill_to_disconnected(harness: Harness, server: LiveServer) -> float:
    harness.reset()
    # Mid-session: wait until the bot's audio flows (what the transport watches for a stall).
    harness.run(
        """
import asyncio
from rtvi.transports._browser import inbound_packets
client = make_client()
await client.connect()
while (pc := client.transport._session.pc) and await inbound_packets(pc, "audio") == 0:
    await asyncio.sleep(0.05)
"""
    )
    os.kill(server.bot_pid(), signal.SIGKILL)
    killed = float(harness.page.evaluate("performance.now()"))
    event = harness.wait_event("disconnected", timeout_ms=60_000)
    return float(event["t"]) - killed


def bench_bot(harness: Harness, server: LiveServer, version: str, runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for trickle in (False, True):
        harness.reset()
        samples = harness.run(CONNECT_RUNS.format(trickle=trickle, runs=runs))
        totals = [total for total, _ in samples]
        phases = {
            label: [marks[end] - marks[start] for _, marks in samples]
            for label, start, end in PHASES
        }
        results["trickle" if trickle else "gathered"] = (totals, phases)
    request = (
        "await client.describe_actions()"
        if version.startswith("0.")
        else "await client.send_client_request('echo', 1)"
    )
    harness.reset()
    results["round_trip"] = harness.run(ROUND_TRIPS.format(request=request))
    results["kill"] = kill_to_disconnected(harness, server)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as logs, sync_playwright() as playwright:
        browser = launch(playwright)
        for version in BOTS:
            server = LiveServer(["--bot", "embedded", "--bot-pipecat", version]).start(Path(logs))
            pool = HarnessPool(browser)
            try:
                results = bench_bot(pool.get(server), server, version, args.runs)
            finally:
                pool.close()
                server.stop()
            print(f"pipecat {version}: connect() → bot-ready, median of {args.runs} (min–max)")
            for mode in ("gathered", "trickle"):
                totals, phases = results[mode]
                split = ", ".join(
                    f"{label} {statistics.median(values):.0f}" for label, values in phases.items()
                )
                print(f"  ICE {mode:8} {spread(totals)}   [{split} ms]")
            print(f"  request round trip      {spread(results['round_trip'])}  (median of 20)")
            print(f"  bot killed → disconnected {results['kill'] / 1000:.1f} s")
        browser.close()


if __name__ == "__main__":
    main()
