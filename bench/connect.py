"""Connect, request round trip, disconnect and heap: pyrtvi in Pyodide vs the official JS client.

Run: `.venv/bin/python -m bench.connect [--runs 5] [--requests 20] [--ice both]`.

One `pyrtvi serve --bot embedded --bot-pipecat 1.14.0` (a real Pipecat 1.14.0 bot, started by the
server as a BotProcess) on a free port, or `--bot-url URL` for a bot service already running. Both
clients talk to that same server, over SmallWebRTC:

- pyrtvi: `RTVIClient(SmallWebRTCTransport(ice_trickle=...), params={"base_url": origin})` in
  Pyodide (PyScript page, the server's `/pyscript.json`);
- JS: `@pipecat-ai/client-js` 1.13.1 + `@pipecat-ai/small-webrtc-transport` 1.10.8, bundled by
  esbuild from `bench/js/` (built here when missing or stale), with `WavMediaManager` (the default
  media manager downloads from Daily's CDN) and `offerUrlTemplate` pointing at our offer proxy.

Both do the same two steps inside one timed call: POST `/connect` (the bot starts a session), then
the WebRTC handshake, then client-ready → bot-ready. pyrtvi: `await client.connect()`; JS:
`await client.startBotAndConnect({endpoint: origin + "/connect"})`. Every run opens a fresh page
per client and times only after it is ready (Pyodide boot is `bench.boot`'s subject). The pages
are served from the server's own origin by Playwright routes under `/__bench__/`; any request to
another host is aborted and fails the run. Runs alternate which client goes first.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
from pyrtvi_testing.chromium import guard_offhost
from pyrtvi_testing.processes import LiveServer

from bench.support import browser_config, check_offhost, launch

JS_DIR = Path(__file__).resolve().parent / "js"
BUNDLE = JS_DIR / "dist" / "bench-client.js"
PREFIX = "/__bench__/"
DEFAULT_PIPECAT = "1.14.0"
#: The kill test: seconds of session before the kill, and the longest wait for `disconnected`.
KILL_AFTER_S = 1.5
KILL_WAIT_S = 60.0
ECHO_TYPE = "echo"  # server/pyrtvi_bot answers client-message echo with its data
#: (client, page) pairs; runs alternate which goes first.
CLIENTS = (("pyrtvi", "pyrtvi.html"), ("js", "js.html"))

PYRTVI_HTML = """<!doctype html>
<html lang="en" data-bench="loading">
<head>
  <meta charset="utf-8">
  <title>pyrtvi connect bench</title>
  <script type="module" src="{pyscript_url}/core.js"></script>
</head>
<body>
  <script type="py" config="/pyscript.json" src="/__bench__/pyrtvi_main.py"></script>
</body>
</html>
"""

#: Runs in Pyodide. Each step is timed in the page with performance.now(), like the JS side.
PYRTVI_MAIN = """
import json

import js
from pyodide.ffi import create_proxy
from rtvi import RTVIClient, RTVIEvent
from rtvi.transports.small_webrtc import SmallWebRTCTransport

state = {}


async def connect(trickle):
    marks = {}
    client = RTVIClient(
        SmallWebRTCTransport(ice_trickle=bool(trickle)),
        params={"base_url": str(js.location.origin)},
    )
    client.on(RTVIEvent.BOT_STARTED, lambda *_: marks.setdefault("started", js.performance.now()))
    client.on(RTVIEvent.CONNECTED, lambda *_: marks.setdefault("connected", js.performance.now()))
    client.on(RTVIEvent.DISCONNECTED, lambda *_: state.setdefault("gone", js.performance.now()))
    state["client"] = client
    state.pop("gone", None)
    t0 = js.performance.now()
    ready = await client.connect()
    t1 = js.performance.now()
    about = (ready.get("about") or {}) if isinstance(ready, dict) else {}
    return json.dumps(
        {
            "total": t1 - t0,
            "start": marks["started"] - t0,
            "connected": marks["connected"] - t0,
            "bot": about.get("library_version"),
        }
    )


async def requests(n):
    client = state["client"]
    times = []
    for i in range(int(n)):
        t0 = js.performance.now()
        reply = await client.send_client_request("echo", {"i": i})
        times.append(js.performance.now() - t0)
        if reply != {"i": i}:
            raise RuntimeError(f"unexpected echo reply {reply!r}")
    return json.dumps(times)


async def disconnect(_=None):
    client = state.pop("client")
    t0 = js.performance.now()
    await client.disconnect()
    return json.dumps(js.performance.now() - t0)


def disconnected_at(_=None):
    return json.dumps(state.get("gone"))


def wasm_memory(_=None):
    import pyodide_js

    return json.dumps(pyodide_js._module.HEAPU8.buffer.byteLength)


js.bench = js.Object.new()
js.bench.wasm = create_proxy(wasm_memory)
js.bench.connect = create_proxy(connect)
js.bench.requests = create_proxy(requests)
js.bench.disconnect = create_proxy(disconnect)
js.bench.disconnectedAt = create_proxy(disconnected_at)
js.document.documentElement.dataset.bench = "ready"
"""

JS_HTML = """<!doctype html>
<html lang="en" data-bench="loading">
<head>
  <meta charset="utf-8">
  <title>JS client connect bench</title>
  <script src="/__bench__/bench-client.js"></script>
  <script>
    const { LogLevel, PipecatClient, SmallWebRTCTransport, WavMediaManager } = window.PipecatBench;
    const state = {};
    window.bench = {
      async connect(trickle) {
        const marks = {};
        const transport = new SmallWebRTCTransport({
          mediaManager: new WavMediaManager(),
          waitForICEGathering: !trickle,
          offerUrlTemplate: location.origin + "/sessions/:sessionId/offer",
        });
        const client = new PipecatClient({
          transport,
          enableMic: true,
          enableCam: false,
          callbacks: {
            onBotStarted: () => { marks.started ??= performance.now(); },
            onConnected: () => { marks.connected ??= performance.now(); },
            onDisconnected: () => { state.gone ??= performance.now(); },
          },
        });
        delete state.gone;
        client.setLogLevel(LogLevel.WARN);  // its default (DEBUG) logs every message
        state.client = client;
        const t0 = performance.now();
        const ready = await client.startBotAndConnect({ endpoint: location.origin + "/connect" });
        const t1 = performance.now();
        return JSON.stringify({
          total: t1 - t0,
          start: marks.started - t0,
          connected: marks.connected - t0,
          bot: ready?.about?.library_version ?? null,
        });
      },
      async requests(n) {
        const times = [];
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          const reply = await state.client.sendClientRequest("echo", { i });
          times.push(performance.now() - t0);
          if (reply?.i !== i) throw new Error("unexpected echo reply " + JSON.stringify(reply));
        }
        return JSON.stringify(times);
      },
      disconnectedAt() {
        return JSON.stringify(state.gone ?? null);
      },
      wasm() {
        return JSON.stringify(0);  // no WebAssembly in this client
      },
      async disconnect() {
        const client = state.client;
        delete state.client;
        const t0 = performance.now();
        await client.disconnect();
        return JSON.stringify(performance.now() - t0);
      },
    };
    document.documentElement.dataset.bench = "ready";
  </script>
</head>
<body></body>
</html>
"""

CALL = """async ([name, arg]) => {
  const pending = window.bench[name](arg);
  try { return await pending; } finally { pending.destroy?.(); }
}"""


def installed_as_locked(lock: Path, installed: Path) -> bool:
    """Whether npm's record of what it installed has every package of the lockfile at its
    version. By content, not mtime: a fresh checkout's lockfile is newer than a node_modules it
    shares (a git worktree), and `npm ci` there would empty the shared folder under other users."""
    if not installed.exists():
        return False
    want = json.loads(lock.read_text()).get("packages", {})
    have = json.loads(installed.read_text()).get("packages", {})
    return all(
        have.get(name, {}).get("version") == entry.get("version")
        for name, entry in want.items()
        if name and not entry.get("optional")  # (npm skips other platforms' optional packages)
    )


def ensure_bundle(js_dir: Path = JS_DIR, bundle: Path = BUNDLE) -> None:
    """`npm ci` + esbuild in `js_dir` (bench/js) when `bundle` is missing or older than its inputs."""
    lock = js_dir / "package-lock.json"
    if not installed_as_locked(lock, js_dir / "node_modules" / ".package-lock.json"):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=js_dir, check=True)
    inputs = [lock, js_dir / "package.json", js_dir / "entry.js"]
    if not bundle.exists() or bundle.stat().st_mtime < max(p.stat().st_mtime for p in inputs):
        subprocess.run(["npm", "run", "--silent", "build"], cwd=js_dir, check=True)


@dataclass
class Samples:
    """Per client: everything measured, in ms (heap in bytes)."""

    connect: dict[str, list[float]] = field(default_factory=dict)  # per ICE mode
    start: dict[str, list[float]] = field(default_factory=dict)
    handshake: dict[str, list[float]] = field(default_factory=dict)
    ready: dict[str, list[float]] = field(default_factory=dict)
    rtt: list[float] = field(default_factory=list)
    disconnect: list[float] = field(default_factory=list)
    heap_after: list[float] = field(default_factory=list)
    heap_growth: list[float] = field(default_factory=list)
    backing: list[float] = field(default_factory=list)
    wasm: list[float] = field(default_factory=list)
    kill: list[float] = field(default_factory=list)  # bot killed → disconnected


@dataclass
class Bench:
    browser: Browser
    server_url: str
    pages: dict[str, str]
    requests: int
    pipecat: str  # the bot's library_version that bot-ready must report
    guards: list[list[str]] = field(default_factory=list)

    def _serve(self, route: Route) -> None:
        name = route.request.url.split(PREFIX, 1)[1].split("?")[0]
        if name == "bench-client.js":
            route.fulfill(path=str(BUNDLE), content_type="text/javascript")
        elif name in self.pages:
            kinds = {".html": "text/html", ".py": "text/x-python"}
            kind = kinds.get(Path(name).suffix, "text/plain")
            route.fulfill(body=self.pages[name], content_type=kind)
        else:
            route.fulfill(status=404, body="not found")

    def open(self, page_name: str) -> tuple[BrowserContext, Page, Any]:
        context = self.browser.new_context()
        self.guards.append(guard_offhost(context))
        context.set_default_timeout(browser_config.ACTION_TIMEOUT_MS)
        page = context.new_page()
        page.route(f"{self.server_url}{PREFIX}**", self._serve)
        page.goto(f"{self.server_url}{PREFIX}{page_name}")
        page.wait_for_function(
            "document.documentElement.dataset.bench === 'ready'",
            timeout=browser_config.BOOT_TIMEOUT_MS,
        )
        return context, page, context.new_cdp_session(page)

    def kill(self, page_name: str, server: LiveServer, samples: Samples) -> None:
        """Connect, let the bot's audio flow, SIGKILL the bot: ms until the client disconnects."""
        context, page, _ = self.open(page_name)
        try:
            page.evaluate(CALL, ["connect", True])
            time.sleep(KILL_AFTER_S)
            os.kill(server.bot_pid(), signal.SIGKILL)
            killed = float(page.evaluate("performance.now()"))
            deadline = time.monotonic() + KILL_WAIT_S
            gone = None
            while gone is None and time.monotonic() < deadline:
                time.sleep(0.1)
                gone = json.loads(page.evaluate(CALL, ["disconnectedAt", None]))
            samples.kill.append(float("inf") if gone is None else float(gone) - killed)
        finally:
            context.close()

    def measure(self, page_name: str, trickle: bool, samples: Samples, mode: str) -> None:
        context, page, cdp = self.open(page_name)
        try:

            def call(name: str, arg: object = None) -> Any:
                return json.loads(page.evaluate(CALL, [name, arg]))

            def heap() -> dict[str, float]:
                cdp.send("HeapProfiler.collectGarbage")
                return cdp.send("Runtime.getHeapUsage")  # type: ignore[no-any-return]

            before = heap()
            result = call("connect", trickle)
            after = heap()
            if result["bot"] != self.pipecat:
                raise RuntimeError(f"{page_name}: bot-ready from pipecat {result['bot']!r}")
            samples.connect.setdefault(mode, []).append(result["total"])
            samples.start.setdefault(mode, []).append(result["start"])
            samples.handshake.setdefault(mode, []).append(result["connected"] - result["start"])
            samples.ready.setdefault(mode, []).append(result["total"] - result["connected"])
            samples.heap_after.append(after["usedSize"])
            samples.heap_growth.append(after["usedSize"] - before["usedSize"])
            samples.backing.append(after.get("backingStorageSize", float("nan")))
            samples.wasm.append(call("wasm"))
            samples.rtt.extend(call("requests", self.requests))
            samples.disconnect.append(call("disconnect"))
        finally:
            context.close()


def table(results: dict[str, Samples], modes: list[str], args: argparse.Namespace) -> str:
    mb = 1024 * 1024
    rows: list[tuple[str, Callable[[Samples], list[float]], float, str]] = []
    for mode in modes:

        def column(attribute: str, m: str = mode) -> Callable[[Samples], list[float]]:
            return lambda s: getattr(s, attribute)[m]  # type: ignore[no-any-return]

        rows += [
            (f"connect → bot-ready, {mode} (ms)", column("connect"), 1, ".0f"),
            ("  devices + POST /connect (ms)", column("start"), 1, ".0f"),
            ("  WebRTC handshake → connected (ms)", column("handshake"), 1, ".0f"),
            ("  client-ready → bot-ready (ms)", column("ready"), 1, ".0f"),
        ]
    rows += [
        (f"client request round trip (ms, n={args.requests}/run)", lambda s: s.rtt, 1, ".1f"),
        ("disconnect (ms)", lambda s: s.disconnect, 1, ".1f"),
        ("JS heap used after connect (MB)", lambda s: s.heap_after, mb, ".1f"),
        ("  growth by connect (MB)", lambda s: s.heap_growth, mb, ".2f"),
        ("backing stores after connect (MB)", lambda s: s.backing, mb, ".1f"),
        ("WebAssembly memory after connect (MB)", lambda s: s.wasm, mb, ".1f"),
    ]
    width = max(len(r[0]) for r in rows) + 2
    head = f"median of {args.runs} runs"
    lines = [
        f"{head:<{width}}{'pyrtvi':>9}{'JS':>9}{'ratio':>7}   {'pyrtvi min-max':>15}"
        f"{'JS min-max':>15}"
    ]
    for label, pick, scale, fmt in rows:
        cells = []
        for name in ("pyrtvi", "js"):
            values = [v / scale for v in pick(results[name])]
            cells.append((statistics.median(values), f"{min(values):{fmt}}-{max(values):{fmt}}"))
        (py, py_range), (js, js_range) = cells
        ratio = f"{py / js:.2f}" if js else "-"
        lines.append(
            f"{label:<{width}}{py:>9{fmt}}{js:>9{fmt}}{ratio:>7}   {py_range:>15}{js_range:>15}"
        )
    return "\n".join(lines)


def wait_for_bot(server: LiveServer, timeout: float = 60.0) -> None:
    """After a kill: the next /connect restarts the embedded bot (after the server's backoff)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.post(server.url + "/connect", json={}, timeout=60).status_code == 200:
            return
        time.sleep(1.0)
    raise SystemExit("the embedded bot did not come back after a kill")


def kill_line(results: dict[str, Samples]) -> str:
    def show(values: list[float]) -> str:
        finite = [v / 1000 for v in values if v != float("inf")]
        timed_out = len(values) - len(finite)
        text = f"{statistics.median(finite):.1f} s" if finite else "-"
        return text + (f" ({timed_out} never within {KILL_WAIT_S:.0f} s)" if timed_out else "")

    py, js = results["pyrtvi"].kill, results["js"].kill
    finite = all(v != float("inf") for v in py + js)
    ratio = f"{statistics.median(py) / statistics.median(js):.2f}" if finite else "-"
    return (
        f"bot killed → disconnected, median of {len(py)}: pyrtvi {show(py)}, JS {show(js)}, "
        f"ratio {ratio}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh pages per client and ICE mode")
    parser.add_argument("--requests", type=int, default=20, help="round trips per session")
    parser.add_argument(
        "--ice",
        choices=["trickle", "gather", "both"],
        default="both",
        help="trickle ICE (PATCH, the JS default) and/or full gathering before the offer",
    )
    parser.add_argument("--bot-url", help="use this bot service (pyrtvi serve --bot url)")
    parser.add_argument(
        "--bot-pipecat",
        default=DEFAULT_PIPECAT,
        help="the embedded bot's pipecat (its .venvs/bot-VERSION), and what bot-ready must report",
    )
    parser.add_argument(
        "--settle", type=float, default=1.0, help="seconds between sessions (bot teardown)"
    )
    parser.add_argument(
        "--kills",
        type=int,
        default=2,
        help="bot kills per client, at the end (embedded bot only; 0: none)",
    )
    args = parser.parse_args(argv)
    modes = ["trickle", "gather"] if args.ice == "both" else [args.ice]
    ensure_bundle()
    bot = ["--bot", "url", "--bot-url", args.bot_url] if args.bot_url else []
    bot = bot or ["--bot", "embedded", "--bot-pipecat", args.bot_pipecat]
    server = LiveServer(bot).start(Path(tempfile.mkdtemp()))
    results = {"pyrtvi": Samples(), "js": Samples()}
    try:
        runtime = httpx.get(server.url + "/health", timeout=10).json()["runtime"]
        pages = {
            "pyrtvi.html": PYRTVI_HTML.format(
                pyscript_url=f"/runtime/pyscript/{runtime['pyscript']}"
            ),
            "pyrtvi_main.py": PYRTVI_MAIN,
            "js.html": JS_HTML,
        }
        with sync_playwright() as p:
            browser = launch(p)
            bench = Bench(browser, server.url, pages, args.requests, args.bot_pipecat)
            # Not measured: the bot's first session is slow (first pipeline, first VAD load).
            for _, page_name in CLIENTS:
                bench.measure(page_name, True, Samples(), "warm-up")
                time.sleep(args.settle)
            for run in range(args.runs):
                for mode in modes:
                    for name, page_name in CLIENTS if run % 2 == 0 else CLIENTS[::-1]:
                        bench.measure(page_name, mode == "trickle", results[name], mode)
                        time.sleep(args.settle)
                print(f"run {run + 1}/{args.runs} done", flush=True)
            if not args.bot_url:
                for kill in range(args.kills):
                    for name, page_name in CLIENTS if kill % 2 == 0 else CLIENTS[::-1]:
                        wait_for_bot(server)
                        bench.kill(page_name, server, results[name])
                    print(f"kill {kill + 1}/{args.kills} done", flush=True)
            browser.close()
        check_offhost(bench.guards)
    finally:
        server.stop()
    print(table(results, modes, args))
    if results["pyrtvi"].kill:
        print(kill_line(results))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"(load average at the end: {load} on {os.cpu_count()} CPUs)")
    print(
        f"(pipecat {args.bot_pipecat} bot; ratio = pyrtvi / JS; round trips pooled over all sessions;"
        " heap via CDP Runtime.getHeapUsage after a forced GC)"
    )


if __name__ == "__main__":
    main()
