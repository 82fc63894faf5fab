"""Page boot, phase by phase: the console, the embed example and the JS client page, cold and warm.

Run: `.venv/bin/python -m bench.boot [--runs 5] [--link loopback,cable,4g,slow] [--modes ...]
[--pages console,embed] [--identity]`. Starts one `pyrtvi serve --bot none` per boot mode on a free
port and drives Debian Chromium headless with the suite's launch flags. Per run, link, mode and
page: a cold load (fresh browser context: empty HTTP cache, code cache and Cache Storage) and a
warm one (same context, second navigation).

Links (`--link`) are Chromium's network emulation (`Network.emulateNetworkConditions` over CDP,
set on the page before its first navigation): the latency is added to every request, the
throughput is shared by all of the page's downloads. Files served from the HTTP cache are not
throttled.

Pages:

- `console`: `/` (the pyrtvi console): ready is its own `data-boot=ready`;
- `embed`: `/examples/embed.html` (the two-tag embedding through `/pyscript.json`): ready is its
  status line saying "ready";
- `js`: the reference, a page with the official JS client (`@pipecat-ai/client-js` 1.13.1 +
  `small-webrtc-transport` 1.10.8, bundled by esbuild from `bench/js/`) that constructs a
  `PipecatClient` with its `SmallWebRTCTransport`. It is served by a second loopback server with
  the same static handler (gzip, ETag) as ours;
- `bare`: Pyodide's own `loadPyodide()` + `import sys` from the same server (the runtime's floor
  without a snapshot);
- `floor <mode>`: the link's floor for the console's bytes: its HTML, then every file it preloads,
  fetched at once by a blank page (cold; nothing parsed or run);
- `floor runtime`: what every Pyodide page's first visit downloads whatever its boot (Pyodide's
  loader, its Emscripten module and the wasm, in its parts when the console preloads them so),
  fetched at once by a blank page: a measured bound
  below any Pyodide page's cold visit on that link, printed against the JS page's (its 3×);
- `warm floor <mode>`: the same after one visit of the console, in its context (its HTML
  revalidated, the files it preloads from the HTTP cache and what the first visit stored in Cache
  Storage, the wasm compiled from the code cache; no Python);
- `bare warm <mode>` (`--bare-warm`): the same context's Python alone: the console's interpreter
  module imported by a blank page and Python restored (the shipped mode's kept copies), no
  PyScript, no console; ms from the script's start (without the HTML's navigation).

Phases are read in the page: resource timing (when each file's last byte arrived), an init script
that timestamps `WebAssembly.instantiate*`/`compile*`, and the `performance.mark`s our interpreter
module and the console's start (`pyrtvi_page.start`) set (`pyrtvi:*`). Transfer is the sum of `transferSize` over
the navigation and every resource up to ready; `after` is what the page fetched after ready
(e.g. the memory snapshot stored for the next visit). Routing is not used (Playwright's routing
disables the HTTP cache): off-host requests are counted from the request log and must be zero
(`data:` and `blob:` URLs are the page's own).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import Browser, sync_playwright
from pyrtvi_server.boot import BOOT_MODES
from pyrtvi_server.static import REVALIDATE, AssetCache, AssetDirectory
from pyrtvi_testing.processes import LiveServer, free_port
from starlette.applications import Starlette
from starlette.routing import Mount

from bench.connect import BUNDLE, ensure_bundle
from bench.support import browser_config

#: Before any page script: timestamps for wasm compilation and for "ready" on every page kind.
INIT_SCRIPT = """(() => {
  const marks = (window.__bootMarks = {});
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  for (const name of ["instantiateStreaming", "compileStreaming", "instantiate", "compile"]) {
    const original = WebAssembly[name];
    if (!original) continue;
    WebAssembly[name] = function (...args) {
      // Only the runtime's binary (a Response, or more than 1 MB of bytes), not feature probes.
      const source = args[0];
      const big = source instanceof Promise || source instanceof Response ||
        (source && source.byteLength > 1e6);
      if (big) mark("wasm-start");
      const pending = original.apply(this, args);
      if (big) pending.then(() => mark("wasm-done"), () => {});
      return pending;
    };
  }
  const check = () => {
    const status = document.querySelector("#status");
    const root = document.documentElement;
    if (root.dataset.boot === "ready" || (status && /^ready/.test(status.textContent))) {
      if ("ready" in marks) return;
      mark("ready");
      requestAnimationFrame(() => setTimeout(() => mark("paint"), 0));
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
})();"""

#: The local snapshot (or the shipped mode's kept copies) stored, failed, or not made here.
LOCAL_SETTLED_JS = """() => {
  const { pyrtviSnapshot, pyrtviKept } = document.documentElement.dataset;
  return [pyrtviSnapshot, pyrtviKept].every((state) =>
    !state || !["waiting", "making", "storing"].includes(state));
}"""

#: How the page booted: the snapshot's source (`+kept`: from the kept copies), or its mode.
BOOT_SOURCE_JS = """() => {
  const info = window.pyrtviBootInfo ?? {};
  const kept = info.kept?.state === "used" ? "+kept" : "";
  return (info.source ?? info.mode ?? "") + kept;
}"""

#: After ready: marks, resource timings and transfer sizes, split at the ready mark.
COLLECT_JS = """() => {
  const marks = { ...window.__bootMarks };
  for (const m of performance.getEntriesByType("mark")) {
    if (m.name.startsWith("pyrtvi:")) marks[m.name.slice(7)] = m.startTime;
  }
  const nav = performance.getEntriesByType("navigation")[0];
  const files = {};
  let before = nav.transferSize || 0, after = 0;
  for (const e of performance.getEntriesByType("resource")) {
    const name = new URL(e.name).pathname.split("/").pop();
    if (e.startTime <= (marks.ready ?? Infinity)) before += e.transferSize || 0;
    else after += e.transferSize || 0;
    // The boot's reads (a file fetched more than once before ready counts every time: count > 1
    // shows it); the kept copies are read again after ready, which does not count here.
    if (e.startTime <= (marks.ready ?? Infinity)) {
      const seen = files[name];
      files[name] = {
        start: seen ? seen.start : e.startTime,
        first: seen ? seen.first : e.responseStart,
        end: Math.max(seen ? seen.end : 0, e.responseEnd),
        bytes: (seen ? seen.bytes : 0) + (e.transferSize || 0),
        body: (seen ? seen.body : 0) + (e.decodedBodySize || 0),
        count: (seen ? seen.count : 0) + 1,
      };
    }
  }
  marks.html = nav.responseEnd;
  return { marks, files, before, after };
}"""

BARE_PYODIDE = """async (url) => {
  const t0 = performance.now();
  const { loadPyodide } = await import(url + '/pyodide.mjs');
  const py = await loadPyodide({ indexURL: url + '/' });
  py.runPython('import sys');
  return performance.now() - t0;
}"""

JS_PAGE = """<!doctype html>
<html lang="en" data-boot="loading">
<head>
  <meta charset="utf-8">
  <title>JS client boot reference</title>
  <script src="bench-client.js"></script>
</head>
<body>
  <p id="status">loading…</p>
  <script>
    const { PipecatClient, SmallWebRTCTransport, WavMediaManager } = window.PipecatBench;
    window.client = new PipecatClient({
      transport: new SmallWebRTCTransport({ mediaManager: new WavMediaManager() }),
      enableMic: true,
      enableCam: false,
    });
    document.getElementById("status").textContent = "ready";
  </script>
</body>
</html>
"""

#: Timeline marks in boot order (ms from navigation start) and how they are obtained.
TIMELINE = (
    ("html", "page HTML received"),
    ("pyscript", "PyScript's core loaded"),
    ("interpreter-module", "our interpreter module evaluated (Python starts)"),
    ("interpreter-start", "PyScript called our loadPyodide() (may be after Python is up)"),
    ("wasm", "pyodide.asm.wasm received"),
    ("wasm-done", "wasm compiled + instantiated"),
    ("stdlib", "python_stdlib.zip received"),
    ("kept-read", "the kept snapshot read from Cache Storage (before its hash and unpacking)"),
    ("snapshot", "memory snapshot read"),
    ("restored", "Pyodide's loadPyodide() resolved on the snapshot"),
    ("interpreter-ready", "Python started (our packages; PyScript's .pyc on a first visit)"),
    ("main", "the console's start (at once after the restore: data-pyrtvi-start)"),
    ("imports", "our modules imported"),
    ("ready", "client ready"),
    ("paint", "first paint after ready"),
)
#: Phase durations: (name, end mark, start mark).
PHASES = (
    ("downloads (last runtime byte)", "downloads", None),
    ("wasm compile", "wasm-done", "wasm-start"),
    ("Python start", "interpreter-ready", "interpreter-module"),
    ("start (PyScript's, unless early)", "main", "interpreter-ready"),
    ("our imports", "imports", "main"),
    ("console drawn", "ready", "imports"),
    ("first paint", "paint", "ready"),
)
RUNTIME_FILES = ("pyodide.asm.wasm", "pyodide.asm.mjs", "pyodide.mjs", "python_stdlib.zip")


@dataclass(frozen=True)
class Link:
    """An emulated network link: throughput in Mbit/s each way, latency in ms (0, 0: none)."""

    name: str
    mbit: float
    latency_ms: float

    def conditions(self) -> dict[str, Any]:
        """`Network.emulateNetworkConditions`' parameters (throughput in bytes per second)."""
        rate = self.mbit * 1e6 / 8
        return {
            "offline": False,
            "latency": self.latency_ms,
            "downloadThroughput": rate,
            "uploadThroughput": rate,
        }


LINKS = {
    link.name: link
    for link in (
        Link("loopback", 0, 0),
        Link("cable", 50, 20),
        Link("4g", 9, 40),
        Link("slow", 1.6, 150),
    )
}


@dataclass
class Boot:
    ready: float
    before: int
    after: int
    marks: dict[str, float] = field(default_factory=dict)
    #: Bytes on the wire per file (resource timing's transferSize), fetched up to ready.
    files: dict[str, int] = field(default_factory=dict)
    #: Per file fetched up to ready: (times fetched, decoded bytes), for --detail's full list.
    fetches: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Per file fetched up to ready: (requested, first byte, last byte), ms from navigation.
    times: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    #: How Python started: "plain", or the snapshot's source ("local", "shipped").
    mode: str = ""
    #: Warm boots in the local mode: how long the first visit's Worker took to make the snapshot.
    local_ms: float | None = None


def _marks(raw: dict[str, Any]) -> dict[str, float]:
    marks = {k: float(v) for k, v in raw["marks"].items()}
    files: dict[str, dict[str, float]] = raw["files"]
    for name, info in files.items():
        if name.startswith("core-") and name.endswith(".js"):
            marks["pyscript"] = max(marks.get("pyscript", 0.0), info["end"])
        if name == "pyodide.asm.wasm":
            marks["wasm"] = info["end"]
        if name.startswith("python_stdlib"):
            marks["stdlib"] = info["end"]
        if name == "snapshot.bin":
            marks.setdefault("snapshot", info["end"])
    ends = [
        info["end"]
        for name, info in files.items()
        if name in RUNTIME_FILES
        or name == "snapshot.bin"
        or name.startswith(("python_stdlib", "core-"))
    ]
    if ends:
        marks["downloads"] = max(e for e in ends if e <= marks.get("ready", float("inf")))
    return marks


def boot(
    browser: Browser,
    url: str,
    offhost: list[str],
    *,
    warm: bool,
    identity: bool,
    link: Link = LINKS["loopback"],
) -> Boot:
    headers = {"Accept-Encoding": "identity"} if identity else {}
    context = browser.new_context(extra_http_headers=headers)
    context.add_init_script(INIT_SCRIPT)
    origin = url.split("/", 3)[:3]
    context.on(
        "request",
        lambda r: (
            None
            if r.url.split("/", 3)[:3] == origin or r.url.startswith(("data:", "blob:"))
            else offhost.append(r.url)
        ),
    )
    page = context.new_page()
    if link.mbit:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", link.conditions())
    timeout = browser_config.BOOT_TIMEOUT_MS
    made = None
    try:
        if warm:
            page.goto(url)
            page.wait_for_function("() => 'paint' in (window.__bootMarks || {})", timeout=timeout)
            page.wait_for_load_state("networkidle")
            # The local boot mode: the next visit is warm once the Worker stored the snapshot.
            page.wait_for_function(LOCAL_SETTLED_JS, timeout=timeout)
            made = page.evaluate("window.pyrtviBootInfo?.local?.ms ?? null")
        page.goto(url)
        page.wait_for_function("() => 'paint' in (window.__bootMarks || {})", timeout=timeout)
        page.wait_for_load_state("networkidle")
        raw = page.evaluate(COLLECT_JS)
        marks = _marks(raw)
        files = {
            name: int(info["bytes"])
            for name, info in raw["files"].items()
            if info["start"] <= marks["ready"]
        }
        booted = Boot(marks["ready"], int(raw["before"]), int(raw["after"]), marks, files)
        booted.fetches = {
            name: (int(info["count"]), int(info["body"]))
            for name, info in raw["files"].items()
            if info["start"] <= marks["ready"]
        }
        booted.times = {
            name: (float(info["start"]), float(info["first"]), float(info["end"]))
            for name, info in raw["files"].items()
            if info["start"] <= marks["ready"]
        }
        booted.mode = str(page.evaluate(BOOT_SOURCE_JS))
        if made is not None:
            booted.local_ms = float(made)
        return booted
    finally:
        context.close()


def bare_pyodide(browser: Browser, server: LiveServer, runtime: str) -> Boot:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/health")
        return Boot(float(page.evaluate(BARE_PYODIDE, server.url + runtime)), 0, 0)
    finally:
        context.close()


#: The floor of a link for a page's downloads: its HTML, then every file its preload hints name,
#: fetched at once (cold, nothing run); ms from the HTML's request to the last byte.
DOWNLOAD_FLOOR = """async (pageURL) => {
  const t0 = performance.now();
  const markup = await (await fetch(pageURL)).text();
  const hints = markup.matchAll(/rel="(?:module)?preload" href="([^"]+)"/g);
  const urls = [...hints].map((match) => match[1].replaceAll("&amp;", "&"));
  await Promise.all(urls.map((url) => fetch(url).then((response) => response.arrayBuffer())));
  return performance.now() - t0;
}"""


#: The warm floor: after a visit of the console, what a later one cannot do without: its HTML
#: revalidated, then every file it preloads read again from the HTTP cache and every entry the
#: first visit stored in Cache Storage (the local snapshot; the shipped mode's kept copies), the
#: wasm compiled (from the code cache) while the rest is read; nothing else run (no Python). ms.
WARM_FLOOR = """async (pageURL) => {
  const t0 = performance.now();
  const markup = await (await fetch(pageURL, { cache: "no-cache" })).text();
  const hints = markup.matchAll(/rel="(?:module)?preload" href="([^"]+)"/g);
  const urls = [...hints].map((match) => match[1].replaceAll("&amp;", "&"));
  const read = (response) => response.url.endsWith(".wasm") ||
      response.headers.get("content-type") === "application/wasm"
    ? WebAssembly.compileStreaming(response)
    : response.arrayBuffer();
  const stored = [];
  for (const name of ["pyrtvi-boot", "pyrtvi-boot-kept"]) {
    if (!(await caches.has(name))) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) stored.push(cache.match(request).then(read));
  }
  await Promise.all([...stored, ...urls.map((url) => fetch(url).then(read))]);
  return performance.now() - t0;
}"""


def after_a_visit(browser: Browser, server: LiveServer, link: Link, script: str) -> Any:
    """The console once on `link`, then `script` evaluated (with the console's URL) by a blank
    page of its origin in the same context: what a later visit finds."""
    context = browser.new_context()
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    try:
        if link.mbit:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", link.conditions())
        page.goto(server.url + "/")
        timeout = browser_config.BOOT_TIMEOUT_MS
        page.wait_for_function("() => 'paint' in (window.__bootMarks || {})", timeout=timeout)
        page.wait_for_load_state("networkidle")
        page.wait_for_function(LOCAL_SETTLED_JS, timeout=timeout)
        page.goto(server.url + "/health")
        return page.evaluate(script, server.url + "/")
    finally:
        context.close()


def warm_floor(browser: Browser, server: LiveServer, link: Link) -> Boot:
    """A later visit's floor on `link`: the console once, then WARM_FLOOR in the same context."""
    return Boot(float(after_a_visit(browser, server, link, WARM_FLOOR)), 0, 0)


#: After a visit of the console: its interpreter module imported by a blank page of the same
#: origin and Python restored (from the shipped mode's kept copies): no PyScript, no console.
#: ms from the script's start (the HTML's revalidation is not in it).
BARE_WARM = """async (pageURL) => {
  const t0 = performance.now();
  const markup = await (await fetch(pageURL, { cache: "no-cache" })).text();
  const url = markup.match(/rel="modulepreload" href="([^"]*interpreter\\.mjs[^"]*)"/)[1];
  const module = await import(url.replaceAll("&amp;", "&"));
  const pyodide = await module.loadPyodide();
  pyodide.runPython("import sys");
  return [performance.now() - t0, window.pyrtviBootInfo?.kept?.state ?? ""];
}"""


def bare_warm(browser: Browser, server: LiveServer, link: Link) -> Boot:
    """A later visit's Python alone on `link`: the console once, then BARE_WARM in its context."""
    ms, kept = after_a_visit(browser, server, link, BARE_WARM)
    return Boot(float(ms), 0, 0, mode="shipped+kept" if kept == "used" else "")


def blank_page_floor(
    browser: Browser, server: LiveServer, link: Link, script: str, arg: Any
) -> Boot:
    """`script(arg)` (ms) on a blank page of `server` in a fresh context (cold), over `link`."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/health")
        if link.mbit:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", link.conditions())
        return Boot(float(page.evaluate(script, arg)), 0, 0)
    finally:
        context.close()


def download_floor(browser: Browser, server: LiveServer, link: Link) -> Boot:
    """The console's downloads alone on `link`: its HTML, then what it preloads, all at once."""
    return blank_page_floor(browser, server, link, DOWNLOAD_FLOOR, server.url + "/")


#: Files fetched at once on a blank page (cold, nothing run): ms from the first request to the
#: last byte of all of them.
FILES_FLOOR = """async (urls) => {
  const t0 = performance.now();
  await Promise.all(urls.map((url) => fetch(url).then((response) => response.arrayBuffer())));
  return performance.now() - t0;
}"""
#: What every Pyodide page downloads before any Python can exist, whatever its boot: Pyodide's
#: loader, its Emscripten module and the wasm (no stdlib, no snapshot, no PyScript).
PYODIDE_RUNTIME = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm")


def runtime_floor(browser: Browser, server: LiveServer, runtime: str, link: Link) -> Boot:
    """The runtime floor on `link`: PYODIDE_RUNTIME alone, fetched at once in a fresh context
    (from the server's precompressed forms, as a page gets them; the wasm in the parts the
    console preloads when it does, boot.PARTS: fewer seconds here than one request): a bound
    below any Pyodide page's first visit, measured rather than computed from the nominal
    throughput."""
    urls = [f"{server.url}{runtime}/{name}" for name in PYODIDE_RUNTIME]
    with urllib.request.urlopen(server.url + "/", timeout=30) as reply:
        page = reply.read().decode()
    parts = re.findall(r'rel="preload" href="([^"]+/part\d+/pyodide\.asm\.wasm)"', page)
    if parts:
        urls = urls[:-1] + [server.url + html.unescape(part) for part in parts]
    return blank_page_floor(browser, server, link, FILES_FLOOR, urls)


@contextmanager
def js_reference_server() -> Iterator[str]:
    """The JS client page and its bundle, served like our files (gzip, ETag) on another port."""
    ensure_bundle()
    directory = Path(tempfile.mkdtemp())
    (directory / "js.html").write_text(JS_PAGE)
    (directory / "bench-client.js").write_bytes(BUNDLE.read_bytes())
    app = Starlette(routes=[Mount("/", AssetDirectory(directory, AssetCache(), REVALIDATE))])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}/js.html"
    finally:
        server.should_exit = True
        thread.join(10)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(
    results: dict[str, list[Boot]], runs: int, offhost: list[str], *, detail: bool = True
) -> None:
    js_cold = median([b.ready for b in results["js cold"]])
    js_warm = median([b.ready for b in results["js warm"]])
    print(f"{'case':<18}{'ready ms':>9}{'vs JS':>7}{'transfer':>12}{'after':>12}  boot")
    for name, rows in results.items():
        ms = median([b.ready for b in rows])
        reference = js_warm if "warm" in name else js_cold
        before = median([float(b.before) for b in rows])
        after = median([float(b.after) for b in rows])
        modes = ",".join(sorted({b.mode for b in rows if b.mode}))
        print(f"{name:<18}{ms:>9.0f}{ms / reference:>7.1f}{before:>12,.0f}{after:>12,.0f}  {modes}")
    print(f"(median of {runs}; 'vs JS': against the JS client page, cold or warm, same run)")
    for name, rows in results.items():
        made = [b.local_ms for b in rows if b.local_ms is not None]
        if made:
            print(
                f"{name}: the first visit's Worker made the local snapshot in {median(made):.0f} ms"
            )
    cases = [n for n in results if n.startswith(("console", "embed"))]
    if not detail:
        return
    print("\ntimeline, ms from navigation start (median; '-' = not in this boot)")
    print(f"{'mark':<20}" + "".join(f"{n:>17}" for n in cases))
    for mark, what in TIMELINE:
        cells = []
        for name in cases:
            values = [b.marks[mark] for b in results[name] if mark in b.marks]
            cells.append(f"{median(values):>17.0f}" if values else f"{'-':>17}")
        print(f"{mark:<20}" + "".join(cells) + f"  {what}")
    print("\nphases, ms (median)")
    print(f"{'phase':<30}" + "".join(f"{n:>17}" for n in cases))
    for phase, end, start in PHASES:
        cells = []
        for name in cases:
            values = [
                b.marks[end] - (b.marks[start] if start else 0.0)
                for b in results[name]
                if end in b.marks and (start is None or start in b.marks)
            ]
            cells.append(f"{median(values):>17.0f}" if values else f"{'-':>17}")
        print(f"{phase:<30}" + "".join(cells))
    print("\ncold transfer by file, bytes (median; files of 10 kB or more)")
    for name in cases:
        if "cold" not in name:
            continue
        sizes = {
            f: median([float(b.files.get(f, 0)) for b in results[name]])
            for f in results[name][0].files
        }
        big = sorted(((v, f) for f, v in sizes.items() if v >= 10_000), reverse=True)
        rest = sum(v for v in sizes.values() if v < 10_000)
        print(f"  {name}: " + ", ".join(f"{f} {v:,.0f}" for v, f in big) + f", others {rest:,.0f}")
    print(
        "\nevery file of the cold visits up to ready (the first run): bytes on the wire, decoded;"
        " ms from navigation: requested, first byte, last byte"
    )
    for name in cases:
        if "cold" not in name:
            continue
        first = results[name][0]
        print(f"  {name} (navigation: {first.before - sum(first.files.values()):,} bytes)")
        for f, wire in sorted(first.files.items(), key=lambda item: -item[1]):
            count, body = first.fetches.get(f, (1, 0))
            times = f" ×{count}" if count > 1 else ""
            when = "".join(f"{t:>8.0f}" for t in first.times.get(f, ()))
            print(f"    {f:<40}{wire:>12,}{body:>12,}{when}{times}")


def summary(by_link: dict[str, dict[str, list[Boot]]], modes: list[str], page: str) -> None:
    """One row per link: the JS page and `page` in each mode, cold / warm, ratios to the JS page."""
    head = " | ".join(f"`{mode}` cold / warm" for mode in modes)
    print(
        f"\n{page}, median ready s (× the JS page, same link and run); [the floors, cold / "
        "warm: its HTML and preloaded files fetched at once, the wasm compiled when warm, "
        "no Python]\n"
    )
    print(f"| link | JS page cold / warm | {head} |")
    print("|---|---|" + "---|" * len(modes))
    for link, results in by_link.items():
        js = [median([b.ready for b in results[f"js {kind}"]]) for kind in ("cold", "warm")]
        cells = [f"{js[0] / 1000:.2f} / {js[1] / 1000:.2f}"]
        for mode in modes:
            floor = median([b.ready for b in results.get(f"floor {mode}", [])])
            warm = median([b.ready for b in results.get(f"warm floor {mode}", [])])
            pair = []
            for kind, reference in zip(("cold", "warm"), js, strict=True):
                rows = results.get(f"{page} {mode} {kind}", [])
                ms = median([b.ready for b in rows])
                pair.append(f"{ms / 1000:.2f} ({ms / reference:.1f}×)")
            cells.append(" / ".join(pair) + f" [{floor / 1000:.2f} / {warm / 1000:.2f}]")
        print(f"| {link} | " + " | ".join(cells) + " |")
    for link, results in by_link.items():
        for mode in modes:
            rows = [b for b in results.get(f"{page} {mode} cold", []) if "downloads" in b.marks]
            floor = median([b.ready for b in results.get(f"floor {mode}", [])])
            after = median([b.ready - b.marks["downloads"] for b in rows])
            print(
                f"{link}: `{mode}` cold: ready {after:.0f} ms after the last byte of its downloads;"
                f" with its cold floor {floor / 1000:.2f} s: {(floor + after) / 1000:.2f} s"
                " (the bytes, then what needs them)"
            )
        floor = median([b.ready for b in results.get("floor runtime", [])])
        js_cold = median([b.ready for b in results["js cold"]])
        print(
            f"{link}: runtime floor (every Pyodide page's first visit: {', '.join(PYODIDE_RUNTIME)}"
            f" fetched at once, nothing run) {floor / 1000:.2f} s = {floor / js_cold:.1f}× the JS"
            f" page's cold {js_cold / 1000:.2f} s (3×: {3 * js_cold / 1000:.2f} s)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--identity", action="store_true", help="also a cold console without gzip")
    parser.add_argument(
        "--link", default="loopback", help=f"comma-separated, of {', '.join(LINKS)}"
    )
    parser.add_argument(
        "--modes", default=",".join(BOOT_MODES), help="comma-separated boot modes (one server each)"
    )
    parser.add_argument("--boot", choices=BOOT_MODES, help="one mode (same as --modes MODE)")
    parser.add_argument("--pages", default="console,embed", help="of console, embed")
    parser.add_argument("--detail", action="store_true", help="timelines with several modes too")
    parser.add_argument(
        "--bare-warm",
        action="store_true",
        help="also a later visit's Python alone (the interpreter module, no PyScript, no console)",
    )
    args = parser.parse_args(argv)
    links = [LINKS[name] for name in args.link.split(",")]
    modes = [args.boot] if args.boot else args.modes.split(",")
    unknown = [mode for mode in modes if mode not in BOOT_MODES]
    if unknown:
        parser.error(f"unknown boot modes: {', '.join(unknown)}")
    log_dir = Path(tempfile.mkdtemp())
    servers = {mode: LiveServer(["--bot", "none", "--boot", mode]).start(log_dir) for mode in modes}
    print(f"boot modes: {', '.join(modes)}; links: {', '.join(link.name for link in links)}")
    by_link: dict[str, dict[str, list[Boot]]] = {link.name: {} for link in links}
    offhost: list[str] = []
    try:
        import httpx

        first = next(iter(servers.values()))
        health = httpx.get(first.url + "/health").json()
        runtime = "/runtime/pyodide/" + health["runtime"]["pyodide"]
        with js_reference_server() as js_url, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=browser_config.CHROMIUM, args=browser_config.LAUNCH_ARGS
            )
            paths = {"console": "/", "embed": "/examples/embed.html"}
            pages = {"js": js_url}
            for mode, server in servers.items():
                for page in args.pages.split(","):
                    pages[f"{page} {mode}"] = server.url + paths[page]
            for _ in range(args.runs):
                for link in links:
                    results = by_link[link.name]
                    for page, url in pages.items():
                        for warm in (False, True):
                            name = f"{page} {'warm' if warm else 'cold'}"
                            booted = boot(
                                browser, url, offhost, warm=warm, identity=False, link=link
                            )
                            results.setdefault(name, []).append(booted)
                    for mode, server in servers.items():
                        results.setdefault(f"floor {mode}", []).append(
                            download_floor(browser, server, link)
                        )
                        results.setdefault(f"warm floor {mode}", []).append(
                            warm_floor(browser, server, link)
                        )
                        if args.bare_warm:
                            results.setdefault(f"bare warm {mode}", []).append(
                                bare_warm(browser, server, link)
                            )
                    results.setdefault("floor runtime", []).append(
                        runtime_floor(browser, first, runtime, link)
                    )
                    if args.identity:
                        url = pages[f"console {modes[0]}"]
                        booted = boot(browser, url, offhost, warm=False, identity=True, link=link)
                        results.setdefault("console identity", []).append(booted)
                    if link.name == "loopback":
                        results.setdefault("bare loadPyodide", []).append(
                            bare_pyodide(browser, first, runtime)
                        )
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
    for link in links:
        print(f"\n=== link {link.name} ({link.mbit:g} Mbit/s, {link.latency_ms:g} ms)")
        report(by_link[link.name], args.runs, offhost, detail=args.detail or len(modes) == 1)
    for page in args.pages.split(","):
        summary(by_link, modes, page)
    print(f"\noff-host requests: {len(offhost)}" + (f" {offhost[:5]}" if offhost else ""))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
