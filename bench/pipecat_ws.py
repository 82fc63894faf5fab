"""The official Pipecat JS client over its WebSocket transport (`@pipecat-ai/client-js` 1.13.1 +
`@pipecat-ai/websocket-transport` 1.7.1, the bench/wsjs bundle) in a page.

`WavMediaManager` (mic through `getUserMedia`, i.e. Chromium's fake-mic wav; bot audio through an
AudioWorklet): the transport's default `DailyMediaManager` loads Daily's bundle from a CDN.

Bot audio energy is measured in the page: every node the page connects to the audio destination
is also connected to an `AnalyserNode`, whose largest RMS over the session is `max_rms()`.

Served by Playwright routes under ``/__pipecat_ws__/`` on the origin the test opens it on. Chromium
does not count a page fulfilled by Playwright as loopback, so its Local Network Access checks
block WebSockets to loopback (`ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS`) unless the context is
granted `local-network-access`; a page the server serves itself needs no such grant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page

from bench.connect import ensure_bundle
from bench.pipecat_js import PipecatJSPage, open_bundle_page

JS_DIR = Path(__file__).resolve().parent / "wsjs"
BUNDLE = JS_DIR / "dist" / "ws-client.js"
PREFIX = "/__pipecat_ws__/"

PAGE = """<!doctype html>
<html lang="en" data-pipecat="loading">
<head>
  <meta charset="utf-8">
  <title>client-js over a WebSocket</title>
  <script>
    // Tap what reaches the speakers, before the bundle builds its audio graph.
    window.audioTaps = [];
    window.maxRms = 0;
    const connect = AudioNode.prototype.connect;
    AudioNode.prototype.connect = function (target, ...rest) {
      if (target instanceof AudioDestinationNode) {
        const analyser = this.context.createAnalyser();
        analyser.fftSize = 2048;
        connect.call(this, analyser);
        window.audioTaps.push(analyser);
      }
      return connect.call(this, target, ...rest);
    };
    setInterval(() => {
      for (const analyser of window.audioTaps) {
        const samples = new Float32Array(analyser.fftSize);
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const v of samples) sum += v * v;
        window.maxRms = Math.max(window.maxRms, Math.sqrt(sum / samples.length));
      }
    }, 20);
  </script>
  <script src="/__pipecat_ws__/ws-client.js"></script>
  <script>
    const { LogLevel, PipecatClient, RTVIEvent, WavMediaManager, WebSocketTransport } =
      window.PipecatWS;
    window.pipecat = {
      events: [],
      make() {
        const transport = new WebSocketTransport({ mediaManager: new WavMediaManager() });
        const client = new PipecatClient({ transport, enableMic: true, enableCam: false });
        client.setLogLevel(LogLevel.WARN);
        for (const name of ["BotStartedSpeaking", "BotStoppedSpeaking", "Disconnected", "Error"]) {
          client.on(RTVIEvent[name], () => window.pipecat.events.push(name));
        }
        window.pipecat.client = client;
        return client;
      },
      // startBotAndConnect on a /start that answers {wsUrl} (pyrtvi serve's).
      async startBotAndConnect(endpoint, requestData) {
        const client = window.pipecat.make();
        const t0 = performance.now();
        const ready = await client.startBotAndConnect({ endpoint, requestData });
        return JSON.stringify({ ms: performance.now() - t0, ready });
      },
      // startBot, then connect({wsUrl}) with the URL it answered (a runner's own /start).
      async startBotThenConnect(endpoint, requestData) {
        const client = window.pipecat.make();
        const t0 = performance.now();
        const reply = await client.startBot({ endpoint, requestData });
        const ready = await client.connect({ wsUrl: reply.wsUrl });
        return JSON.stringify({ ms: performance.now() - t0, ready });
      },
      async request(type, data) {
        const t0 = performance.now();
        const reply = await window.pipecat.client.sendClientRequest(type, data);
        return JSON.stringify({ ms: performance.now() - t0, reply: reply ?? null });
      },
      async sendText(text) {
        await window.pipecat.client.sendText(text);
        return "null";
      },
      async disconnect() {
        await window.pipecat.client.disconnect();
        return "null";
      },
      // A bare browser WebSocket: how it was closed ({code, reason}).
      closeOf(url) {
        return new Promise((resolve) => {
          const ws = new WebSocket(url);
          ws.onclose = (e) => resolve(JSON.stringify({ code: e.code, reason: e.reason }));
        });
      },
    };
    document.documentElement.dataset.pipecat = "ready";
  </script>
</head>
<body></body>
</html>
"""


def ensure_ws_bundle() -> None:
    ensure_bundle(JS_DIR, BUNDLE)


class PipecatWSPage(PipecatJSPage):
    """One page with the official WebSocket client loaded, on `origin` (the same calls as the
    SmallWebRTC page's, and more)."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        #: URL of every WebSocket the page opened, in order.
        self.sockets: list[str] = []
        page.on("websocket", lambda ws: self.sockets.append(ws.url))

    @classmethod
    def open(cls, context: BrowserContext, origin: str) -> PipecatWSPage:
        ensure_ws_bundle()
        context.grant_permissions(["local-network-access"])
        return cls(open_bundle_page(context, origin, PREFIX, BUNDLE, PAGE))

    def start_bot_then_connect(
        self, endpoint: str, request_data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.call("startBotThenConnect", endpoint, request_data)  # type: ignore[no-any-return]

    def request(self, kind: str, data: Any = None) -> dict[str, Any]:
        """`{"ms": round trip, "reply": the bot's data}`."""
        return self.call("request", kind, data)  # type: ignore[no-any-return]

    def send_text(self, text: str) -> None:
        self.call("sendText", text)

    def max_rms(self) -> float:
        return float(self.page.evaluate("window.maxRms"))

    def events(self) -> list[str]:
        return list(self.page.evaluate("window.pipecat.events"))

    def close_of(self, url: str) -> dict[str, Any]:
        """A bare WebSocket to `url` from this page: `{"code", "reason"}` of its close."""
        return self.call("closeOf", url)  # type: ignore[no-any-return]

    def disconnect(self) -> None:
        self.call("disconnect")
