"""Page boot: navigation → Python ready, cold and warm; cold transfer with and without gzip.

Run: `.venv/bin/python -m bench.boot [--runs 5]`. Starts `pyrtvi serve --bot none` on a free port and
drives Debian Chromium headless with the suite's launch flags. The reference for the ratios is bare
Pyodide's own `loadPyodide()` from the same server in the same run (what PyScript and our package add).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from tests.conftest import LiveServer, browser_config

TRANSFER_JS = """() => [performance.getEntriesByType('navigation')[0],
  ...performance.getEntriesByType('resource')].reduce((n, e) => n + (e.transferSize || 0), 0)"""

BARE_PYODIDE = """async (url) => {
  const t0 = performance.now();
  const { loadPyodide } = await import(url + '/pyodide.mjs');
  const py = await loadPyodide({ indexURL: url + '/' });
  py.runPython('import sys');
  return performance.now() - t0;
}"""


def boot(browser: Browser, url: str, *, gzip: bool, warm: bool) -> tuple[float, int]:
    headers = {} if gzip else {"Accept-Encoding": "identity"}
    context = browser.new_context(extra_http_headers=headers)
    page = context.new_page()
    try:
        if warm:
            page.goto(url)
            page.wait_for_selector("html[data-boot=ready]", timeout=browser_config.BOOT_TIMEOUT_MS)
        page.goto(url)
        page.wait_for_selector("html[data-boot=ready]", timeout=browser_config.BOOT_TIMEOUT_MS)
        ms = float(page.get_attribute("html", "data-boot-ms") or "nan")
        return ms, int(page.evaluate(TRANSFER_JS))
    finally:
        context.close()


def bare_pyodide(browser: Browser, server: LiveServer, runtime: str) -> float:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/health")
        return float(page.evaluate(BARE_PYODIDE, server.url + runtime))
    finally:
        context.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    server = LiveServer(["--bot", "none"]).start(Path(tempfile.mkdtemp()))
    results: dict[str, list[Any]] = {}
    try:
        import httpx

        runtime = (
            "/runtime/pyodide/" + httpx.get(server.url + "/health").json()["runtime"]["pyodide"]
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=browser_config.CHROMIUM, args=browser_config.LAUNCH_ARGS
            )
            for _ in range(args.runs):
                for name, gzip, warm in (
                    ("cold", True, False),
                    ("warm", True, True),
                    ("cold-identity", False, False),
                ):
                    results.setdefault(name, []).append(
                        boot(browser, server.url + "/", gzip=gzip, warm=warm)
                    )
                results.setdefault("bare-pyodide", []).append(
                    (bare_pyodide(browser, server, runtime), 0)
                )
            browser.close()
    finally:
        server.stop()
    reference = statistics.median(ms for ms, _ in results["bare-pyodide"])
    print(f"{'case':<16}{'median ms':>11}{'ratio':>8}{'transfer bytes':>16}")
    for name, rows in results.items():
        ms = statistics.median(r[0] for r in rows)
        size = statistics.median(r[1] for r in rows)
        print(f"{name:<16}{ms:>11.0f}{ms / reference:>8.2f}{size:>16,.0f}")
    print(f"(ratio: against bare loadPyodide() from the same server, median of {args.runs})")


if __name__ == "__main__":
    main()
