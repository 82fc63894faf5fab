"""The official JS client on a stock Pipecat runner bot: through `pyrtvi serve` vs directly.

Run: `.venv/bin/python -m bench.runner [--runs 5]`.

One runner bot (tests/runner_bot: pipecat 1.14 on its own development runner, offline stand-ins)
and one `pyrtvi serve --bot url --bot-url <runner>` in front of it. The same page
(`bench/pipecat_js.py`: `@pipecat-ai/client-js` 1.13.1 + small-webrtc-transport
1.10.8) calls `startBotAndConnect({endpoint: origin + "/start", requestData: {body}})` on each
origin: the runner's own (direct) and pyrtvi serve's (proxied: `/start` and the offer go through
the server, the media does not). Timed in the page from the call to bot-ready. A fresh page per
run; one untimed warm-up per path; runs alternate which path goes first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from pyrtvi_testing.processes import LiveServer

from bench.pipecat_js import PipecatJSPage
from bench.support import check_offhost, fresh_context, launch, runner_bot

BODY = {"greeting": "bench"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between sessions")
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp())
    bot = runner_bot().start(logs)
    server = LiveServer(["--bot", "url", "--bot-url", bot.url]).start(logs)
    paths = {"direct": bot.url, "pyrtvi serve": server.url}
    samples: dict[str, list[float]] = {name: [] for name in paths}
    guards: list[list[str]] = []  # one per page context, filled as requests happen
    try:
        with sync_playwright() as p:
            browser = launch(p)

            def once(origin: str) -> float:
                context = fresh_context(browser, guards)
                try:
                    client = PipecatJSPage.open(context, origin)
                    result = client.start_bot_and_connect(origin + "/start", {"body": BODY})
                    if result["ready"]["about"]["library_version"] != "1.14.0":
                        raise SystemExit(f"unexpected bot-ready: {result['ready']}")
                    client.disconnect()
                    return float(result["ms"])
                finally:
                    context.close()
                    time.sleep(args.settle)

            for origin in paths.values():
                once(origin)  # warm-up: the bot's first pipeline and VAD load
            names = list(paths)
            for run in range(args.runs):
                for name in names if run % 2 == 0 else names[::-1]:
                    samples[name].append(once(paths[name]))
            browser.close()
    finally:
        server.stop()
        bot.stop()
    check_offhost(guards)
    direct = statistics.median(samples["direct"])
    print(f"official JS client, startBotAndConnect → bot-ready, median of {args.runs} (ms)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"  {name:<13}{median:>7.0f}   min-max {min(values):.0f}-{max(values):.0f}"
            f"   ratio to direct {median / direct:.2f}"
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"(pipecat 1.14.0 runner bot; load average at the end: {load} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
