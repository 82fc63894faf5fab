"""Where a later (warm) visit of the console spends the renderer's main thread, by V8's sampler.

Run: `.venv/bin/python -m bench.boot_profile [--link cable] [--runs 3] [--window 0:600]
[--top 25]`. Starts `pyrtvi serve --bot none` (the default boot mode), visits the console once in a
fresh context, waits for what the first visit stores for the next (the kept copies), then visits
it again under a Chromium trace with V8's CPU profiler (100 µs samples) and prints, per run and
then summed over the runs, the main thread's time between navigation and ready: by self function
(JS, wasm and V8's own entries such as `(garbage collector)`), by the page's `pyrtvi:*` marks
(what ran between two marks), and the trace's top-level tasks by name. Tracing slows the page
(roughly 1.3×): the durations are shares, not the figures `bench.boot` reports.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from typing import Any

from playwright.sync_api import sync_playwright
from pyrtvi_testing.processes import LiveServer

from bench.boot import INIT_SCRIPT, LINKS, LOCAL_SETTLED_JS, Link
from bench.support import browser_config

CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8.execute",
    "blink.user_timing",
    "disabled-by-default-v8.cpu_profiler",
    "toplevel",
    "v8",
    "v8.wasm",
    "blink",
    "loading",
    "ServiceWorker",
]


def _largest(values: dict[str, float], count: int) -> list[tuple[str, float]]:
    return sorted(values.items(), key=lambda item: -item[1])[:count]


def _main_thread(events: list[dict[str, Any]]) -> tuple[int, int]:
    """(pid, tid) of the renderer main thread that ran the console (its user timing marks)."""
    counts: Counter[tuple[int, int]] = Counter()
    for event in events:
        if event.get("cat") == "blink.user_timing" and str(event.get("name", "")).startswith(
            "pyrtvi:"
        ):
            counts[(event["pid"], event["tid"])] += 1
    return counts.most_common(1)[0][0]


def _samples(events: list[dict[str, Any]], pid: int, tid: int) -> list[tuple[float, str]]:
    """(timestamp µs, self function label) per V8 sample on that thread."""
    nodes: dict[int, dict[str, Any]] = {}
    out: list[tuple[float, str]] = []
    profiles: dict[str, float] = {}
    for event in events:
        if event.get("pid") != pid:
            continue
        if event.get("name") == "Profile" and event.get("tid") == tid:
            profiles[event.get("id", "")] = float(event["args"]["data"]["startTime"])
    for event in events:
        if event.get("pid") != pid or event.get("name") != "ProfileChunk":
            continue
        if event.get("id", "") not in profiles:
            continue  # another thread's (a Worker's) profile
        data = event["args"]["data"]
        profile = data.get("cpuProfile", {})
        for node in profile.get("nodes", []):
            frame = node["callFrame"]
            url = str(frame.get("url", "")).split("?")[0].rsplit("/", 1)[-1]
            name = frame.get("functionName") or "(anonymous)"
            nodes[node["id"]] = {"label": f"{name} {url}".strip(), "parent": node.get("parent")}
        at = profiles.get(event.get("id", ""), 0.0)
        ts_key = "_at_" + str(event.get("id", ""))
        at = profiles.get(ts_key, at)
        for sample, delta in zip(
            profile.get("samples", []), data.get("timeDeltas", []), strict=False
        ):
            at += delta
            out.append((at, nodes.get(sample, {}).get("label", "?")))
        profiles[ts_key] = at
    return out


def analyse(trace: bytes, window: tuple[float, float], top: int) -> dict[str, float]:
    events = json.loads(trace)
    events = events["traceEvents"] if isinstance(events, dict) else events
    pid, tid = _main_thread(events)
    # The traced visit's navigation: the last navigationStart before its first pyrtvi mark.
    user_marks = [
        e
        for e in events
        if e.get("pid") == pid
        and e.get("cat") == "blink.user_timing"
        and str(e.get("name", "")).startswith("pyrtvi:")
    ]
    first = min(e["ts"] for e in user_marks)
    nav = max(
        e["ts"]
        for e in events
        if e.get("name") == "navigationStart" and e.get("pid") == pid and e["ts"] <= first
    )
    marks = sorted(((e["ts"] - nav) / 1000, e["name"][7:]) for e in user_marks)
    lo, hi = window
    by_function: dict[str, float] = defaultdict(float)
    by_span: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    samples = _samples(events, pid, tid)
    previous = None
    for at, label in samples:
        ms = (at - nav) / 1000
        step = 0.0 if previous is None else min((at - previous) / 1000, 2.0)
        previous = at
        if not lo <= ms <= hi:
            continue
        by_function[label] += step
        span = "start"
        for when, name in marks:
            if when <= ms:
                span = name
        by_span[span][label] += step
    # Self time per trace event (its duration less its children's) on that thread, by span.
    tasks: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    spans = [(when, name) for when, name in marks]
    stack: list[list[Any]] = []  # [end µs, name, self µs, start ms]

    def close(until: float) -> None:
        while stack and stack[-1][0] <= until:
            _end, name, own, start = stack.pop()
            span = "start"
            for when, mark in spans:
                if when <= start:
                    span = mark
            if lo <= start <= hi:
                tasks[span][name] += own / 1000

    timed = sorted(
        (e for e in events if e.get("pid") == pid and e.get("tid") == tid and e.get("ph") == "X"),
        key=lambda e: (e["ts"], -e.get("dur", 0)),
    )
    for e in timed:
        close(e["ts"])
        dur = float(e.get("dur", 0))
        if stack:
            stack[-1][2] -= dur
        stack.append([e["ts"] + dur, e["name"], dur, (e["ts"] - nav) / 1000])
    close(float("inf"))
    print("marks (ms from navigation):", ", ".join(f"{n} {t:.0f}" for t, n in marks))
    print(f"\nself time by function, {lo:g}-{hi:g} ms (ms; (idle) = nothing to do):")
    for label, ms in _largest(by_function, top):
        print(f"  {ms:7.1f}  {label}")
    for span, counter in sorted(
        by_span.items(), key=lambda kv: min([t for t, n in marks if n == kv[0]] or [0])
    ):
        busy = sum(v for k, v in counter.items() if k != "(idle)")
        print(f"\nafter mark {span}: busy {busy:.1f} ms, idle {counter.get('(idle)', 0.0):.1f} ms")
        for label, ms in _largest(counter, 8):
            print(f"  {ms:7.1f}  {label}")
    print("\ntrace events on that thread, self ms, by the span (mark) they started in:")
    for span, names in sorted(
        tasks.items(), key=lambda kv: min([t for t, n in marks if n == kv[0]] or [0])
    ):
        print(f"  after {span}: {sum(names.values()):.1f} ms")
        for name, ms in _largest(names, 8):
            print(f"    {ms:7.1f}  {name}")
    return by_function


def visit(
    browser: Any, url: str, link: Link, window: tuple[float, float], top: int
) -> dict[str, float]:
    context = browser.new_context()
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    timeout = browser_config.BOOT_TIMEOUT_MS
    try:
        if link.mbit:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", link.conditions())
        page.goto(url)
        page.wait_for_function("() => 'paint' in (window.__bootMarks || {})", timeout=timeout)
        page.wait_for_load_state("networkidle")
        page.wait_for_function(LOCAL_SETTLED_JS, timeout=timeout)
        page.goto("about:blank")
        browser.start_tracing(page=page, categories=CATEGORIES)
        page.goto(url)
        page.wait_for_function("() => 'paint' in (window.__bootMarks || {})", timeout=timeout)
        ready = page.evaluate("window.__bootMarks.ready")
        trace = browser.stop_tracing()
        print(f"\n=== warm visit: ready {ready:.0f} ms (traced)")
        return analyse(trace, window, top)
    finally:
        context.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--link", default="cable", choices=list(LINKS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", default="0:800", help="ms from navigation, lo:hi")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--boot", default=None, help="a boot mode (default: the server's)")
    args = parser.parse_args(argv)
    lo, hi = (float(x) for x in args.window.split(":"))
    import tempfile
    from pathlib import Path

    extra = ["--boot", args.boot] if args.boot else []
    server = LiveServer(["--bot", "none", *extra]).start(Path(tempfile.mkdtemp()))
    total: dict[str, float] = defaultdict(float)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=browser_config.CHROMIUM, args=browser_config.LAUNCH_ARGS
            )
            for _ in range(args.runs):
                run = visit(browser, server.url + "/", LINKS[args.link], (lo, hi), args.top)
                for label, ms in run.items():
                    total[label] += ms
            browser.close()
    finally:
        server.stop()
    print(f"\n=== summed over {args.runs} runs, self ms by function")
    for label, ms in _largest(total, args.top):
        print(f"  {ms / args.runs:7.1f}  {label}")


if __name__ == "__main__":
    main()
