"""A pyrtvi page directly on a stock Pipecat runner bot vs the official JS client on the same bot.

Run: `.venv/bin/python -m bench.direct [--runs 5]`.

One runner bot (tests/runner_bot: pipecat 1.14 on its own development runner, offline stand-ins)
and one `pyrtvi serve --bot url --bot-url <runner>`. Timed in the page, from the call to
bot-ready:

- **pyrtvi direct**: the harness page (served on pyrtvi serve's origin, which only serves the
  runtime here) calls `client.start_bot_and_connect(endpoint=<runner>/start)`: no pyrtvi server
  in the session path; cross-origin to the runner (its CORS answers: a preflight for the start
  request and one for the offer URL);
- **client-js direct**: `@pipecat-ai/client-js` 1.13.1 + small-webrtc-transport 1.10.8,
  `startBotAndConnect({endpoint: <runner>/start})` from a page on the runner's own origin;
- **pyrtvi proxied**: the same pyrtvi page with `params` + `connect()` through `pyrtvi serve`
  (`/connect` and the offer go through the server, the media does not);
- **pyrtvi direct, same origin**: pyrtvi direct, its page on the runner's own origin as
  client-js's is (no CORS preflights): what a pyrtvi page mounted on the bot's own app
  (examples/runner_mount.py) does. The page and the runtime are fetched from pyrtvi serve by
  Playwright routes (untimed: the boot); `/start` and the offer go to the runner itself.

The pyrtvi client is made as the JS page makes its own: log level WARN (the JS page sets
WARN), no handler but the one timing the phases. `--harness-client` adds both pyrtvi paths with
the client the harness's tests make (`make_client`: every event recorded as JSON; the harness
page logs DEBUG to the console): what the figures were before issue 23's item 6.

`--ice` adds both pyrtvi paths with ICE candidates gathered into the offer (`ice_trickle=False`,
the default before issue 23) and trickled by `PATCH` (`ice_trickle=True`): the figure behind
the transport's default.

`--trace` also records, on every page, when each browser call on the way to bot-ready was
made and answered (`bench.trace`: the same wrappers on both clients' pages) and prints the
median of each mark per path: where the time goes.

Every page has the microphone permission granted (both clients), as a returning user's
browser has: pyrtvi sends its start request while the mic opens only then (`rtvi.overlap`).

A fresh page per run (Python already booted: the boot is not part of connect); `--idle N`
leaves every page (both clients) idle N seconds before the call, as a person takes to press
Connect (right after its boot a Pyodide page is still busy: docs/benchmarks.md). One untimed
warm-up per path; the order of the paths rotates from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Route, sync_playwright
from pyrtvi_testing.harness import Harness
from pyrtvi_testing.processes import LiveServer
from pyrtvi_testing.session import PREFIX, serve_kit_page

from bench import trace
from bench.pipecat_js import PipecatJSPage
from bench.support import check_offhost, fresh_context, launch, runner_bot

BODY = {"greeting": "bench"}
REFERENCE = "client-js direct"
SAME_ORIGIN = "pyrtvi direct, same origin"
#: The runner's own paths (`/start`, `/sessions/{id}/...`): everything else on its origin is the
#: pyrtvi page's, fetched from pyrtvi serve.
RUNNER_PATHS = ("/start", "/sessions/")


#: Python run in the page after `client` is made: the time of each transport state, from t0.
PHASES = """
phases = {}
client.on("transportStateChanged", lambda s: phases.setdefault(str(s), time.perf_counter()))
"""
#: The phases reported (each: ms from the call until the state was entered).
PHASE_NAMES = ("initialized", "authenticating", "connecting", "connected", "ready")
PHASE_SAMPLES: dict[str, dict[str, list[float]]] = {}
#: With ``--trace``: per path, each run's marks (ms since the call, :mod:`bench.trace`).
TRACES: dict[str, list[dict[str, float]]] = {}

#: The marks of the call itself, for ``--trace`` (a no-op on a page without the trace script).
MARK = "getattr(js, 'connectMark', lambda name: None)"

#: client-js's ``startBotAndConnect``, marked at its call and its return (``--trace``).
JS_MARKED = """() => {
  const proto = window.PipecatBench.PipecatClient.prototype;
  const native = proto.startBotAndConnect;
  proto.startBotAndConnect = async function (...args) {
    window.connectMark("call");
    try { return await native.apply(this, args); } finally { window.connectMark("returned"); }
  };
}"""


def timed(result: dict[str, Any], path: str) -> float:
    """Keep the phases of one run; the call → bot-ready time."""
    store = PHASE_SAMPLES.setdefault(path, {name: [] for name in PHASE_NAMES})
    for name in PHASE_NAMES:
        if name in result["phases"]:
            store[name].append(result["phases"][name])
    return float(result["ms"])


PHASE_RESULT = """
{"ms": elapsed, "phases": {k: (v - t0) * 1000 for k, v in phases.items()}}
"""


#: How the pyrtvi page makes its client: as the JS page makes its own (log level WARN, as the JS
#: page's ``setLogLevel(WARN)``; no handler but the phases'), or with ``--harness-client`` as
#: the harness's tests do (``make_client``: every event recorded as JSON, and the harness page's
#: DEBUG log to the console), which the JS page does not pay for.
CLIENT = """
from rtvi import LogLevel, RTVIClient
RTVIClient.set_log_level(LogLevel.WARN)
client = RTVIClient({args})
"""
HARNESS_CLIENT = "client = make_client({args})"


def phase_key(path: str, trickle: bool | None, harness_client: bool) -> str:
    return (
        path
        + ("" if trickle is None else f" trickle={trickle}")
        + (", harness client" if harness_client else "")
    )


def client_code(transport: str, params: str | None, harness_client: bool) -> str:
    args = f"transport={transport}" + (f", params={params}" if params else "")
    return (HARNESS_CLIENT if harness_client else CLIENT).format(args=args)


def pyrtvi_direct(
    harness: Harness, runner: str, trickle: bool | None = None, harness_client: bool = False
) -> float:
    start = runner + "/start"
    make = client_code(f"SmallWebRTCTransport(ice_trickle={trickle!r})", None, harness_client)
    result: dict[str, Any] = harness.run(
        f"""
import time
{make}
{PHASES}
t0 = time.perf_counter()
{MARK}("call")
ready = await client.start_bot_and_connect(endpoint={start!r}, request_data={{"body": {BODY!r}}})
{MARK}("returned")
elapsed = (time.perf_counter() - t0) * 1000
assert ready["version"] == "2.2.0", ready
{PHASE_RESULT}
"""
    )
    same_origin = harness.page.url.startswith(runner)
    return timed(
        result, phase_key("direct" + (", same origin" * same_origin), trickle, harness_client)
    )


def open_on_origin(page: Page, server: LiveServer, origin: str) -> Harness:
    """The harness page on ``origin`` (the runner's): its files and the runtime fetched from
    ``server`` by Playwright routes, the runner's own paths left to the runner."""

    def from_server(route: Route) -> None:
        path = route.request.url[len(origin) :]
        route.fulfill(response=route.fetch(url=server.url + path))

    page.route(
        lambda url: (
            url.startswith(origin + "/")
            and not url[len(origin) :].startswith((*RUNNER_PATHS, PREFIX))
        ),
        from_server,
    )
    harness = Harness(page, server)
    pyscript = json.loads(page.context.request.get(server.url + "/health").text())["runtime"]
    serve_kit_page(page, origin, f"/runtime/pyscript/{pyscript['pyscript']}")
    page.goto(f"{origin}{PREFIX}harness.html")
    page.wait_for_function("document.documentElement.dataset.harness === 'ready'", timeout=120_000)
    return harness


def pyrtvi_proxied(
    harness: Harness, runner: str, trickle: bool | None = None, harness_client: bool = False
) -> float:
    make = client_code(
        f"SmallWebRTCTransport(ice_trickle={trickle!r})",
        f'{{"base_url": str(js.location.origin), "request_data": {BODY!r}}}',
        harness_client,
    )
    result: dict[str, Any] = harness.run(
        f"""
import time
{make}
{PHASES}
t0 = time.perf_counter()
{MARK}("call")
ready = await client.connect()
{MARK}("returned")
elapsed = (time.perf_counter() - t0) * 1000
assert ready["about"]["library_version"] == "1.14.0", ready
{PHASE_RESULT}
"""
    )
    return timed(result, phase_key("proxied", trickle, harness_client))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between sessions")
    parser.add_argument(
        "--idle",
        type=float,
        default=0.0,
        help="seconds each page is left idle once loaded, before the call (both clients)",
    )
    parser.add_argument(
        "--trace", action="store_true", help="also print where each path's time goes (bench.trace)"
    )
    parser.add_argument(
        "--harness-client",
        action="store_true",
        help="also both pyrtvi paths with the client made as the harness's tests make it",
    )
    parser.add_argument(
        "--ice",
        action="store_true",
        help="also both pyrtvi paths with ICE gathered into the offer and trickled (PATCH)",
    )
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp())
    bot = runner_bot().start(logs)
    server = LiveServer(["--bot", "url", "--bot-url", bot.url]).start(logs)
    names = ["pyrtvi direct", SAME_ORIGIN, REFERENCE, "pyrtvi proxied"]
    if args.ice:
        names += ["direct, gathered", "direct, trickled", "proxied, gathered", "proxied, trickled"]
    if args.harness_client:
        names += ["direct, harness client", "proxied, harness client"]
    samples: dict[str, list[float]] = {name: [] for name in names}
    guards: list[list[str]] = []
    try:
        with sync_playwright() as p:
            browser = launch(p)

            def new_context() -> Any:
                context = fresh_context(browser, guards)
                # Both clients' pages have the microphone granted, as a returning user's browser
                # has (a first visit's prompt is not what a connect time measures); pyrtvi then
                # sends its start request while the mic opens (rtvi.overlap).
                context.grant_permissions(["microphone"])
                if args.trace:
                    context.add_init_script(trace.TRACE_SCRIPT)
                return context

            def keep_trace(path: str, page: Any) -> None:
                if args.trace:
                    marks = json.loads(page.evaluate(trace.READ))
                    TRACES.setdefault(path, []).append(trace.milestones(marks))

            def with_pyrtvi(
                name: str,
                measure: Callable[[Harness, str, bool | None, bool], float],
                trickle: bool | None = None,
                harness_client: bool = False,
                origin: str | None = None,
            ) -> Callable[[], float]:
                def run() -> float:
                    context = new_context()
                    try:
                        page = context.new_page()
                        harness = (
                            Harness.open(page, server)
                            if origin is None
                            else open_on_origin(page, server, origin)
                        )
                        time.sleep(args.idle)
                        ms = measure(harness, bot.url, trickle, harness_client)
                        keep_trace(name, harness.page)
                        harness.run("await client.disconnect()")
                        return ms
                    finally:
                        context.close()

                return run

            def client_js() -> float:
                context = new_context()
                try:
                    client = PipecatJSPage.open(context, bot.url)
                    time.sleep(args.idle)
                    if args.trace:
                        client.page.evaluate(JS_MARKED)
                    result = client.start_bot_and_connect(bot.url + "/start", {"body": BODY})
                    keep_trace(REFERENCE, client.page)
                    client.disconnect()
                    return float(result["ms"])
                finally:
                    context.close()

            paths = {
                "pyrtvi direct": with_pyrtvi("pyrtvi direct", pyrtvi_direct),
                SAME_ORIGIN: with_pyrtvi(SAME_ORIGIN, pyrtvi_direct, origin=bot.url),
                REFERENCE: client_js,
                "pyrtvi proxied": with_pyrtvi("pyrtvi proxied", pyrtvi_proxied),
                "direct, gathered": with_pyrtvi("direct, gathered", pyrtvi_direct, False),
                "direct, trickled": with_pyrtvi("direct, trickled", pyrtvi_direct, True),
                "proxied, gathered": with_pyrtvi("proxied, gathered", pyrtvi_proxied, False),
                "proxied, trickled": with_pyrtvi("proxied, trickled", pyrtvi_proxied, True),
                "direct, harness client": with_pyrtvi(
                    "direct, harness client", pyrtvi_direct, None, True
                ),
                "proxied, harness client": with_pyrtvi(
                    "proxied, harness client", pyrtvi_proxied, None, True
                ),
            }
            paths = {name: paths[name] for name in names}
            for measure in paths.values():
                measure()  # warm-up: the bot's first pipeline and VAD load
                time.sleep(args.settle)
            PHASE_SAMPLES.clear()
            TRACES.clear()
            for run in range(args.runs):
                order = names[run % len(names) :] + names[: run % len(names)]
                for name in order:
                    samples[name].append(paths[name]())
                    time.sleep(args.settle)
            browser.close()
    finally:
        server.stop()
        bot.stop()
    check_offhost(guards)
    reference = statistics.median(samples[REFERENCE])
    print(f"start → bot-ready on a stock runner bot, median of {args.runs} (ms)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"  {name:<16}{median:>7.0f}   min-max {min(values):.0f}-{max(values):.0f}"
            f"   ratio to {REFERENCE} {median / reference:.2f}"
        )
    print("pyrtvi phases: median ms from the call until each transport state")
    for path, phases in PHASE_SAMPLES.items():
        cells = "  ".join(
            f"{name} {statistics.median(values):.0f}" for name, values in phases.items() if values
        )
        print(f"  {path:<22}{cells}")
    if TRACES:
        print(trace.table({name: TRACES[name] for name in names if name in TRACES}))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"(pipecat 1.14.0 runner bot; load average at the end: {load} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
