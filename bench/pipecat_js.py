"""The official Pipecat JS client (`@pipecat-ai/client-js` + small-webrtc-transport, the bench/js
bundle) in a page, driven the way its documentation says: `startBotAndConnect({endpoint})`.

The page and the bundle are served by Playwright routes under ``/__pipecat_js__/`` on whatever
origin the test opens it on (pyrtvi serve's, or the runner bot's own), so the page is same-origin
with the start endpoint it calls. No `offerUrlTemplate`: the transport derives the offer URL from
the start endpoint (`/start` → `/sessions/{id}/api/offer`), as against a Pipecat runner.
"""

from __future__ import annotations

import base64
import json
from inspect import signature
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route
from pyrtvi_testing.chromium import BOOT_TIMEOUT_MS

from bench.connect import BUNDLE, ensure_bundle

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


def open_bundle_page(
    context: BrowserContext, origin: str, prefix: str, bundle: Path, html: str
) -> Page:
    """A page on `origin` whose `prefix + "page.html"` is `html` and whose script is `bundle`
    (`prefix + bundle.name`), both served by Playwright routes; once its `data-pipecat` is ready.
    """

    def serve(route: Route) -> None:
        name = route.request.url.split(prefix, 1)[1].split("?")[0]
        if name == bundle.name:
            route.fulfill(path=str(bundle), content_type="text/javascript")
        elif name == "page.html":
            route.fulfill(body=html, content_type="text/html")
        else:
            route.fulfill(status=404, body="not found")

    page = context.new_page()
    page.route(f"{origin}{prefix}**", serve)
    page.goto(f"{origin}{prefix}page.html")
    page.wait_for_function(
        "document.documentElement.dataset.pipecat === 'ready'",
        timeout=BOOT_TIMEOUT_MS,
    )
    return page


class PipecatJSPage:
    """One page with the official client loaded, on `origin`."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @classmethod
    def open(cls, context: BrowserContext, origin: str) -> PipecatJSPage:
        ensure_bundle()
        return cls(open_bundle_page(context, origin, PREFIX, BUNDLE, PAGE))

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


#: Before the bundle: the page's microphone is a WebAudio track, silent between utterances, and
#: the bot's received track is watched for audible onsets. These are the kit's own VirtualMic
#: and AudioWatch (`rtvi.transports.virtual_mic`: the same JS, threshold and gap), so voice to
#: voice has one definition on both pages: the last audible sample played into the microphone
#: track → the first audible sample of the bot's received track after it, on one audio clock.
VOICE_HEAD = """<script>
  const voice = (window.voice = { botTrack: null, stops: [], starts: [] });
  const ctx = new AudioContext();
  const dest = ctx.createMediaStreamDestination();
  // What WavMediaManager's recorder opens as the microphone.
  navigator.mediaDevices.getUserMedia = async () =>
    new MediaStream([dest.stream.getAudioTracks()[0].clone()]);
  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      this.addEventListener("track", (event) => {
        if (event.track.kind === "audio") voice.botTrack = event.track;
      });
    }
  };
  const play = new Function("ctx", "dest", "pcm", "rate", "channels", "threshold", __PLAY__);
  let collector = null;
  let watched = null;
  voice.watch = async () => {
    const track = voice.botTrack;
    if (!track) throw new Error("no bot audio track: is the client connected?");
    if (watched === track.id) return collector;
    if (ctx.state === "suspended") await ctx.resume();
    if (!voice.worklet) {
      const url = URL.createObjectURL(new Blob([__WATCH__], { type: "text/javascript" }));
      voice.worklet = ctx.audioWorklet.addModule(url);
    }
    await voice.worklet;
    const node = new AudioWorkletNode(ctx, "pyrtvi-audio-watch", {
      numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit",
      processorOptions: { threshold: __AUDIBLE__, gap: __GAP__ },
    });
    collector = new Function("ctx", "port", __COLLECTOR__)(ctx, node.port);
    // Played as a page plays its bot (Chromium pulls a remote track through WebAudio then).
    document.getElementById("bot-audio").srcObject = new MediaStream([track]);
    ctx.createMediaStreamSource(new MediaStream([track])).connect(node);
    watched = track.id;
    const client = window.pipecat.client;
    client.on("botStartedSpeaking", () => voice.starts.push(performance.now()));
    client.on("botStoppedSpeaking", () => voice.stops.push(performance.now()));
    return collector;
  };
  voice.say = async (pcmBase64, rate, channels, timeoutMs) => {
    const watch = await voice.watch();
    const pcm = Uint8Array.from(atob(pcmBase64), (c) => c.charCodeAt(0));
    const said = await play(ctx, dest, pcm, rate, channels, __AUDIBLE__);
    const late = new Promise((resolve) => setTimeout(() => resolve(null), timeoutMs));
    const heard = await Promise.race([watch.after(said.last_audible), late]);
    if (!heard) return JSON.stringify({ v2v: null });
    // The answer is over: the bot stopped speaking after it was heard, and stayed stopped.
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const stop = voice.stops.filter((t) => t >= heard.ms).at(-1);
      const start = voice.starts.at(-1) ?? 0;
      if (stop !== undefined && stop >= start && performance.now() - stop >= __SETTLE__) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return JSON.stringify({ v2v: (heard.time - said.last_audible) * 1000 });
  };
</script>
"""


def voice_page() -> str:
    """`PAGE` with a virtual microphone and a watch on the bot's track (``VOICE_HEAD``)."""
    from pyrtvi_testing.turns import SETTLE_MS
    from rtvi.transports import virtual_mic

    head = VOICE_HEAD
    for name, value in {
        "__PLAY__": json.dumps(virtual_mic._PLAY),
        "__WATCH__": json.dumps(virtual_mic._WATCH_WORKLET),
        "__COLLECTOR__": json.dumps(virtual_mic._COLLECTOR),
        "__AUDIBLE__": json.dumps(virtual_mic.AUDIBLE),
        "__GAP__": json.dumps(signature(virtual_mic.AudioWatch).parameters["gap"].default),
        "__SETTLE__": json.dumps(SETTLE_MS),
    }.items():
        head = head.replace(name, value)
    page = PAGE.replace("<head>", "<head>\n" + head, 1)
    return page.replace("<body></body>", '<body><audio id="bot-audio" autoplay></audio></body>', 1)


class PipecatVoicePage(PipecatJSPage):
    """The official client's page with the kit's virtual microphone and bot-audio watch."""

    @classmethod
    def open(cls, context: BrowserContext, origin: str) -> PipecatVoicePage:
        ensure_bundle()
        return cls(open_bundle_page(context, origin, PREFIX, BUNDLE, voice_page()))

    def say(self, wav: bytes, timeout_s: float = 60.0) -> float | None:
        """Speak a 16-bit WAV into the microphone; voice to voice in ms once the bot finished
        answering (None: no audible answer in ``timeout_s``)."""
        from rtvi.transports.virtual_mic import pcm_of

        pcm, rate, channels = pcm_of(wav)
        encoded = base64.b64encode(pcm).decode("ascii")
        result = self.page.evaluate(
            "([pcm, rate, channels, ms]) => window.voice.say(pcm, rate, channels, ms)",
            [encoded, rate, channels, timeout_s * 1000],
        )
        v2v = json.loads(result)["v2v"]
        return None if v2v is None else float(v2v)
