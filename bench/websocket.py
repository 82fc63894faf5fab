"""The official JS WebSocket client on a stock runner bot: through `pyrtvi serve`'s relay vs directly.

Run: `.venv/bin/python -m bench.websocket [--runs 5] [--requests 20]`.

One runner bot (tests/runner_bot on `-t websocket`: pipecat 1.14 on its own development runner,
offline stand-ins) and one `pyrtvi serve --bot url --bot-url <runner>` in front of it. The same
page (`tests/browser/pages/pipecat_ws.py`: `@pipecat-ai/client-js` 1.13.1 +
`@pipecat-ai/websocket-transport` 1.7.1, `WavMediaManager`) connects each way:

- **direct**: `startBot({endpoint: runner + "/start", requestData: {transport: "websocket"}})`,
  then `connect({wsUrl})` with the runner's `/ws-client` URL (its users' way: the JS transport
  refuses the runner's full start reply);
- **relay**: `startBotAndConnect({endpoint: serve + "/start", requestData: {transport:
  "websocket"}})`: every frame passes through `pyrtvi serve`.

Timed in the page: the call → bot-ready, then `--requests` client-request round trips
(`sendClientRequest("body")`, the runner bot's server-response). These are the reference rows for
pyrtvi's own WebSocketTransport. A fresh page per run; one untimed warm-up per path; runs
alternate which path goes first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.pages import guard_offhost
from tests.browser.pages.pipecat_ws import PipecatWSPage
from tests.conftest import LiveServer, browser_config
from tests.runner_bot import RunnerBot

WEBSOCKET = {"transport": "websocket"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20, help="round trips per run")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between sessions")
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp())
    bot = RunnerBot(transport="websocket").start(logs)
    server = LiveServer(["--bot", "url", "--bot-url", bot.url]).start(logs)
    paths = ("direct", "relay")
    connect: dict[str, list[float]] = {name: [] for name in paths}
    rtt: dict[str, list[float]] = {name: [] for name in paths}
    guards: list[list[str]] = []  # one per page context, filled as requests happen
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=browser_config.CHROMIUM,
                args=browser_config.LAUNCH_ARGS,
                headless=browser_config.HEADLESS,
            )

            def once(name: str) -> tuple[float, list[float]]:
                context = browser.new_context()
                context.set_default_timeout(browser_config.ACTION_TIMEOUT_MS)
                guards.append(guard_offhost(context))
                try:
                    if name == "direct":
                        client = PipecatWSPage.open(context, bot.url)
                        result = client.start_bot_then_connect(bot.url + "/start", WEBSOCKET)
                    else:
                        client = PipecatWSPage.open(context, server.url)
                        result = client.start_bot_and_connect(server.url + "/start", WEBSOCKET)
                    if result["ready"]["about"]["library_version"] != "1.14.0":
                        raise SystemExit(f"unexpected bot-ready: {result['ready']}")
                    trips = [float(client.request("body")["ms"]) for _ in range(args.requests)]
                    client.disconnect()
                    return float(result["ms"]), trips
                finally:
                    context.close()
                    time.sleep(args.settle)

            for name in paths:
                once(name)  # warm-up: the bot's first pipeline and VAD load
            for run in range(args.runs):
                for name in paths if run % 2 == 0 else paths[::-1]:
                    ms, trips = once(name)
                    connect[name].append(ms)
                    rtt[name].append(statistics.median(trips))
            browser.close()
    finally:
        server.stop()
        bot.stop()
    offhost = [url for guard in guards for url in guard]
    if offhost:
        raise SystemExit(f"the pages requested off-host URLs: {offhost}")
    print(f"official JS WebSocket client on a runner bot, median of {args.runs} runs (ms)")
    for title, samples in (
        ("start → bot-ready", connect),
        (f"request round trip (median of {args.requests} per run)", rtt),
    ):
        print(f"  {title}")
        direct = statistics.median(samples["direct"])
        for name, values in samples.items():
            median = statistics.median(values)
            print(
                f"    {name:<8}{median:>8.1f}   min-max {min(values):.1f}-{max(values):.1f}"
                f"   ratio to direct {median / direct:.2f}"
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"(pipecat 1.14.0 runner bot; load average at the end: {load} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
