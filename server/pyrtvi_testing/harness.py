"""The transport harness: a page on a `pyrtvi serve`'s origin that boots the pyrtvi client and
runs Python on demand, for tests of client code below the session API (transports, proxies).

The page (``page/harness.html``, ``page/harness_main.py``) is served by the kit's Playwright
route (:func:`~pyrtvi_testing.session.serve_kit_page`) on the server's own origin, so it is a
secure context and same-origin with the RTVI endpoints, and no test file is in the product's
server. It spies on every peer connection, data channel message and ``getUserMedia`` call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Request

from .chromium import ACTION_TIMEOUT_MS, BOOT_TIMEOUT_MS, guard_offhost
from .processes import LiveServer
from .session import PREFIX, serve_kit_page

__all__ = ["Harness", "HarnessPool"]


class HarnessPool:
    """One harness page per server, in one browser context shared by a test module.

    Booting Python costs seconds per page (more when cold: each context has its own HTTP
    cache), so a module's tests reuse a page, reset between tests.
    """

    def __init__(self, browser: Browser, grants: Iterable[str] = ()) -> None:
        self.context = browser.new_context()
        self.context.set_default_timeout(ACTION_TIMEOUT_MS)
        if grants:
            # e.g. "local-network-access": a page Playwright fulfils that opens a socket to
            # loopback, or reaches a loopback address on another origin, is refused without it.
            self.context.grant_permissions(list(grants))
        self.offhost = guard_offhost(self.context)
        self._pages: dict[str, Harness] = {}

    def get(self, server: LiveServer) -> Harness:
        harness = self._pages.get(server.url)
        if harness is None or harness.page.is_closed():
            harness = Harness.open(self.context.new_page(), server)
            self._pages[server.url] = harness
        else:
            harness.reset()
        return harness

    def close(self) -> None:
        self.context.close()
        assert not self.offhost, f"the page requested off-host URLs: {self.offhost}"

    def __enter__(self) -> HarnessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Harness:
    """One page with Python ready; ``run()`` evaluates Python in it."""

    def __init__(self, page: Page, server: LiveServer) -> None:
        self.page = page
        self.server = server
        self.console: list[str] = []
        #: Offer and trickle requests the page made: {"method", "url", "body", "t"}.
        self.offers: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Make a reused page fresh for the next test (see ``harness_main.reset``)."""
        self.run("await reset()")
        self.offers.clear()
        self.console.clear()

    @classmethod
    def open(cls, page: Page, server: LiveServer) -> Harness:
        harness = cls(page, server)
        runtime = httpx.get(server.url + "/health", timeout=10).json()["runtime"]
        serve_kit_page(page, server.url, f"/runtime/pyscript/{runtime['pyscript']}")
        page.on("console", lambda msg: harness.console.append(msg.text))
        page.on("request", harness._capture)
        page.goto(f"{server.url}{PREFIX}harness.html")
        page.wait_for_function(
            "document.documentElement.dataset.harness === 'ready'",
            timeout=BOOT_TIMEOUT_MS,
        )
        return harness

    def _capture(self, request: Request) -> None:
        if request.url.endswith("/offer") and request.method in ("POST", "PATCH"):
            body = request.post_data
            self.offers.append(
                {"method": request.method, "url": request.url, "body": json.loads(body or "null")}
            )

    def dc_sent(self) -> list[str]:
        """Every data channel message the page sent, in order."""
        return [item["data"] for item in self.page.evaluate("window.dcSent")]

    def run(self, code: str, timeout_ms: float | None = None) -> Any:
        """Evaluate Python in the page; returns the last expression's value (JSON round trip)."""
        if timeout_ms is not None:
            self.page.set_default_timeout(timeout_ms)
        try:
            raw = self.page.evaluate(
                """async (code) => {
                    const pending = window.pyrun(code);
                    try { return await pending; } finally { pending.destroy?.(); }
                }""",
                code,
            )
        finally:
            if timeout_ms is not None:
                self.page.set_default_timeout(ACTION_TIMEOUT_MS)
        return json.loads(raw)

    def cycle_and_count_proxies(self, make_client: str, cycles: int = 20) -> int:
        """Run ``make_client`` (Python defining ``client``), connect and disconnect ``cycles``
        times, and check every JS proxy is released; returns the fewest live while connected.

        Asserts: none live before or after, the client ends disconnected, each cycle created at
        least the peak anew, no ``<audio>`` left behind, one ``botReady`` per cycle.
        """
        result = self.run(
            f"""
from rtvi.transports._browser import PROXIES
{make_client}
baseline = live_proxies()
created = PROXIES.created
peak = []
for _ in range({cycles}):
    await client.connect()
    peak.append(live_proxies())
    await client.disconnect()
[baseline, live_proxies(), min(peak), PROXIES.created - created, client.state]
"""
        )
        baseline, after, peak, created, state = result
        assert (baseline, after, state) == (0, 0, "disconnected")
        assert created >= cycles * peak
        assert self.page.evaluate("document.querySelectorAll('audio[data-pyrtvi]').length") == 0
        assert len(self.events("botReady")) == cycles
        return int(peak)

    def wait_for(self, condition: Callable[[], object], timeout_s: float = 10) -> None:
        """Poll a test-side condition (e.g. on captured requests) while the page runs."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            self.page.wait_for_timeout(50)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        raw: list[str] = self.page.evaluate("window.rtviEvents.slice()")
        events = [json.loads(item) for item in raw]
        return [e for e in events if name is None or e["name"] == name]

    def wait_event(self, name: str, timeout_ms: float = 30_000, count: int = 1) -> dict[str, Any]:
        """Wait until ``count`` events called ``name`` were recorded; returns the last one."""
        self.page.wait_for_function(
            """([name, count]) => window.rtviEvents.filter(
                (e) => JSON.parse(e).name === name).length >= count""",
            arg=[name, count],
            timeout=timeout_ms,
        )
        return self.events(name)[count - 1]
