"""The official Pipecat JS client (`@pipecat-ai/client-js` + small-webrtc-transport, the bench/js
bundle) in a page, driven the way its documentation says: `startBotAndConnect({endpoint})`.

The page and the bundle are served by Playwright routes under ``/__pipecat_js__/`` on whatever
origin the test opens it on (pyrtvi serve's, or the runner bot's own), so the page is same-origin
with the start endpoint it calls. No `offerUrlTemplate`: the transport derives the offer URL from
the start endpoint (`/start` → `/sessions/{id}/api/offer`), as against a Pipecat runner.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route

from bench.connect import BUNDLE, ensure_bundle
from tests.conftest import browser_config

PREFIX = "/__pipecat_js__/"

PAGE = """<!doctype html>
<html lang="en" data-pipecat="loading">
<head>
  <meta charset="utf-8">
  <title>client-js on a start endpoint</title>
  <script src="/__pipecat_js__/bench-client.js"></script>
  <script>
    const { LogLevel, PipecatClient, SmallWebRTCTransport, WavMediaManager } = window.PipecatBench;
    window.pipecat = {
      async startBotAndConnect(endpoint, requestData) {
        const transport = new SmallWebRTCTransport({ mediaManager: new WavMediaManager() });
        const client = new PipecatClient({ transport, enableMic: true, enableCam: false });
        client.setLogLevel(LogLevel.WARN);
        window.pipecat.client = client;
        const t0 = performance.now();
        const ready = await client.startBotAndConnect({ endpoint, requestData });
        return JSON.stringify({ ms: performance.now() - t0, ready });
      },
      async request(type, data) {
        return JSON.stringify(await window.pipecat.client.sendClientRequest(type, data));
      },
      async disconnect() {
        await window.pipecat.client.disconnect();
        return "null";
      },
    };
    document.documentElement.dataset.pipecat = "ready";
  </script>
</head>
<body></body>
</html>
"""

CALL = """async ([name, args]) => {
  const pending = window.pipecat[name](...args);
  try { return await pending; } finally { pending.destroy?.(); }
}"""


class PipecatJSPage:
    """One page with the official client loaded, on `origin`."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @classmethod
    def open(cls, context: BrowserContext, origin: str) -> PipecatJSPage:
        ensure_bundle()

        def serve(route: Route) -> None:
            name = route.request.url.split(PREFIX, 1)[1].split("?")[0]
            if name == "bench-client.js":
                route.fulfill(path=str(BUNDLE), content_type="text/javascript")
            elif name == "page.html":
                route.fulfill(body=PAGE, content_type="text/html")
            else:
                route.fulfill(status=404, body="not found")

        page = context.new_page()
        page.route(f"{origin}{PREFIX}**", serve)
        page.goto(f"{origin}{PREFIX}page.html")
        page.wait_for_function(
            "document.documentElement.dataset.pipecat === 'ready'",
            timeout=browser_config.BOOT_TIMEOUT_MS,
        )
        return cls(page)

    def call(self, name: str, *args: Any) -> Any:
        return json.loads(self.page.evaluate(CALL, [name, list(args)]))

    def start_bot_and_connect(
        self, endpoint: str, request_data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`{"ms": connect → bot-ready, "ready": bot-ready's data}`."""
        return self.call("startBotAndConnect", endpoint, request_data)  # type: ignore[no-any-return]

    def request(self, kind: str, data: Any = None) -> Any:
        return self.call("request", kind, data)

    def disconnect(self) -> None:
        self.call("disconnect")
