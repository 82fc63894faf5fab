"""Runs in the kit's page (PyScript): one pyrtvi client, driven by the test process.

``window.kitRun(code)`` evaluates ``code`` (top-level ``await`` allowed) in one namespace and
resolves to the JSON of the last expression. Every client event but the 10 Hz audio levels is
recorded in ``window.kitEvents`` as ``{"type", "data", "t"}`` (``t``: ``performance.now()``).

The client's microphone is a :class:`~rtvi.transports.virtual_mic.VirtualMic` (Chromium needs
no fake device): ``window.rtviMic.play(wavBase64)`` speaks a WAV into it and resolves to the page
time of its last audible sample; ``window.rtviMic.firstBotAudioAfter(t, timeoutMs)`` resolves to
the page time of the first audible sample of the bot's audio after ``t`` (null on timeout).

A :class:`Recorder` beside them, on the mic's audio context, records from the connect on what
the microphone track carried and what the bot's track brought, side by side on one clock
(16-bit mono, about 16 kHz): ``window.rtviMic.recording("user" | "bot")`` resolves to a WAV in
base64 (null before the connect).
"""

import base64
import json
import logging
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.code import eval_code_async  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy  # type: ignore[import-not-found]
from rtvi import RTVIClient, RTVIEvent
from rtvi.events import jsonable
from rtvi.transports._browser import AudioWorkletNode, js_function, media_stream, module_url
from rtvi.transports.small_webrtc import SmallWebRTCTransport
from rtvi.transports.virtual_mic import AudioWatch, Utterance, VirtualMic


class ConsoleHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        js.console.log(self.format(record))


handler = ConsoleHandler()
handler.setFormatter(
    logging.Formatter("py %(relativeCreated)d %(levelname)s %(name)s: %(message)s")
)
logging.getLogger("rtvi").addHandler(handler)
logging.getLogger("rtvi").setLevel(logging.INFO)

js.kitEvents = js.Array.new()
SKIPPED = {RTVIEvent.LOCAL_AUDIO_LEVEL, RTVIEvent.REMOTE_AUDIO_LEVEL}


def _recorder(event: RTVIEvent) -> Any:
    def record(*args: Any) -> None:
        data = jsonable(args[0]) if len(args) == 1 else [jsonable(a) for a in args]
        line = {"type": str(event), "data": data, "t": js.performance.now()}
        js.kitEvents.push(json.dumps(line))

    return record


def make_transport(kind: str, mic: VirtualMic) -> Any:
    """The page's transport, the virtual microphone its audio source."""
    audio = js.document.getElementById("bot-audio")
    if kind == "websocket":
        from rtvi.transports.websocket import WebSocketTransport

        return WebSocketTransport(audio_element=audio, audio_source=mic.track)
    return SmallWebRTCTransport(audio_element=audio, audio_source=mic.track)


#: Two inputs (0: the mic track, 1: the bot's track), each averaged down to ~16 kHz 16-bit and
#: posted in chunks of half a second; "flush" posts what is left, then ``{flushed: true}``.
RECORDER_WORKLET = """
class PyrtviKitRecorder extends AudioWorkletProcessor {
  constructor() {
    super();
    this.factor = Math.max(1, Math.round(sampleRate / 16000));
    this.size = Math.round(sampleRate / this.factor / 2);
    this.out = [new Int16Array(this.size), new Int16Array(this.size)];
    this.sum = [0, 0];
    this.phase = 0;
    this.length = 0;
    this.port.onmessage = () => { this.post(); this.port.postMessage({ flushed: true }); };
  }
  post() {
    if (!this.length) return;
    const chunk = this.out.map((o) => o.slice(0, this.length));
    this.port.postMessage({ rate: sampleRate / this.factor, chunk }, chunk.map((c) => c.buffer));
    this.length = 0;
  }
  process(inputs) {
    const data = [0, 1].map((c) => inputs[c] && inputs[c][0]);
    const frames = (data[0] || data[1] || { length: 128 }).length;
    for (let i = 0; i < frames; i++) {
      for (let c = 0; c < 2; c++) this.sum[c] += data[c] ? data[c][i] : 0;
      if (++this.phase < this.factor) continue;
      for (let c = 0; c < 2; c++) {
        const value = Math.max(-1, Math.min(1, this.sum[c] / this.factor));
        this.out[c][this.length] = Math.round(value * 32767);
        this.sum[c] = 0;
      }
      this.phase = 0;
      if (++this.length === this.size) this.post();
    }
    return true;
  }
}
registerProcessor("pyrtvi-kit-recorder", PyrtviKitRecorder);
"""

#: ``(port) => store``: keeps the chunks; ``wav(channel)`` flushes and resolves to base64.
RECORDER_STORE = """
const chunks = [];
let rate = 16000, flushed = null;
port.onmessage = (event) => {
  if (event.data.flushed) { if (flushed) flushed(); flushed = null; return; }
  rate = event.data.rate;
  chunks.push(event.data.chunk);
};
return {
  async wav(channel) {
    await new Promise((resolve) => { flushed = resolve; port.postMessage("flush"); });
    const frames = chunks.reduce((n, c) => n + c[channel].length, 0);
    const bytes = new Uint8Array(44 + frames * 2);
    const view = new DataView(bytes.buffer);
    const text = (at, s) => { for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i); };
    text(0, "RIFF"); view.setUint32(4, 36 + frames * 2, true); text(8, "WAVEfmt ");
    view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true);
    view.setUint16(32, 2, true); view.setUint16(34, 16, true);
    text(36, "data"); view.setUint32(40, frames * 2, true);
    let at = 44;
    for (const c of chunks) {
      for (const v of c[channel]) { view.setInt16(at, v, true); at += 2; }
    }
    let binary = "";
    for (let i = 0; i < bytes.length; i += 32768) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
    }
    return btoa(binary);
  },
};
"""


class Recorder:
    """Records the mic track (input 0) and the bot's track (input 1) in the mic's context."""

    def __init__(self, mic: VirtualMic) -> None:
        self.context = mic.context
        self.mic = mic
        self.node: AudioWorkletNode | None = None
        self.store: Any = None
        self.mic_source: Any = None
        self.bot_source: Any = None
        self.bot_track_id: str | None = None

    async def start(self) -> None:
        await self.context.audioWorklet.addModule(module_url(RECORDER_WORKLET))
        options: dict[str, Any] = {"numberOfInputs": 2, "numberOfOutputs": 0}
        options.update(channelCount=1, channelCountMode="explicit")
        self.node = AudioWorkletNode(self.context, "pyrtvi-kit-recorder", options)
        self.store = js_function("port", RECORDER_STORE)(self.node.port)
        self.mic_source = self.context.createMediaStreamSource(media_stream(self.mic.track))
        self.mic_source.js.connect(self.node.js, 0, 0)

    def attach_bot(self, track: Any) -> None:
        """Record ``track`` as the bot's (again when the bot's track changes)."""
        if self.node is None or track is None or str(track.id) == self.bot_track_id:
            return
        if self.bot_source is not None:
            self.bot_source.disconnect()
        self.bot_source = self.context.createMediaStreamSource(media_stream(track))
        self.bot_source.js.connect(self.node.js, 0, 1)
        self.bot_track_id = str(track.id)

    async def wav(self, which: str) -> str:
        return str(await self.store.wav(0 if which == "user" else 1))


client: RTVIClient | None = None
mic: VirtualMic | None = None
watch: AudioWatch | None = None
recorder: Recorder | None = None
#: The last utterance played: its audio-clock time anchors the next bot-audio wait.
last_said: Utterance | None = None


async def bot_watch() -> AudioWatch:
    """A watch on the bot's current audio track, in the mic's context (one clock for both)."""
    global watch
    bot = client.tracks().bot if client is not None else None
    track = bot.audio if bot is not None else None
    if mic is None or track is None:
        raise RuntimeError("no bot audio track: is the client connected?")
    if recorder is not None:
        recorder.attach_bot(track)
    if watch is None or watch.track.id != track.id:
        if watch is not None:
            await watch.close()
        watch = mic.watch(track)
        await watch.start()
    return watch


async def play(wav_base64: str) -> float:
    """Speak a WAV into the mic; the page time of its last audible sample (its end if silent)."""
    global last_said
    if mic is None:
        raise RuntimeError("not connected: the page has no microphone yet")
    await bot_watch()  # watching before the utterance: an answer cannot slip past
    last_said = await mic.play(base64.b64decode(wav_base64))
    ms = last_said.last_audible_ms
    return last_said.end_ms if ms is None else ms


async def first_bot_audio_after(t: float, timeout_ms: float) -> float | None:
    """The page time of the first audible bot sample after page time ``t`` (None on timeout).

    After an utterance's ``t`` (what ``play`` returned), the wait starts at that very sample on
    the audio clock and the result is ``t`` plus the audio-clock voice to voice (exact); any
    other ``t`` is carried onto the audio clock through ``performance.now()``.
    """
    current = await bot_watch()
    said = last_said
    if said is not None and t in (said.last_audible_ms, said.end_ms):
        mark = said.last_audible if t == said.last_audible_ms else said.end
        assert mark is not None
    else:
        mark = current.now() - (float(js.performance.now()) - t) / 1000
    try:
        heard = await current.first_audible_after(mark, timeout=timeout_ms / 1000)
    except TimeoutError:
        return None
    return t + (heard.time - mark) * 1000


async def connect(kind: str, request_data: Any, options: dict[str, Any]) -> Any:
    """Connect through this page's server (`/connect`); resolves to the bot-ready data."""
    global client, mic
    if mic is None:
        mic = await VirtualMic.open()
    data = dict(request_data or {})
    if kind == "websocket":
        data["transport"] = "websocket"  # pyrtvi serve's `/connect` relays a WebSocket then
    params = {"base_url": str(js.location.origin), "request_data": data}
    client = RTVIClient(make_transport(kind, mic), params=params, **options)
    for event in RTVIEvent:
        if event not in SKIPPED:
            client.on(event, _recorder(event))
    ready = await client.connect()
    await start_recorder()
    return ready


async def start_recorder() -> None:
    """Record from now on (once per page); the bot's track as soon as the client has one."""
    global recorder
    if recorder is None and mic is not None:
        recorder = Recorder(mic)
        await recorder.start()
    bot = client.tracks().bot if client is not None else None
    if recorder is not None and bot is not None:
        recorder.attach_bot(bot.audio)


async def recording(which: str) -> str | None:
    """The recording of ``"user"`` (the mic track) or ``"bot"`` as base64 WAV (None: none)."""
    if recorder is None:
        return None
    bot = client.tracks().bot if client is not None else None
    if which == "bot" and bot is not None:
        recorder.attach_bot(bot.audio)
    return await recorder.wav(which)


NS: dict[str, object] = {"__name__": "kit", "js": js, "connect": connect, "jsonable": jsonable}


async def run(code: str) -> str:
    NS["client"] = client
    result = await eval_code_async(code, NS)
    return json.dumps(jsonable(result))


js.kitRun = create_proxy(run)
js.rtviMic = js.Object.new()
js.rtviMic.play = create_proxy(play)
js.rtviMic.firstBotAudioAfter = create_proxy(first_bot_audio_after)
js.rtviMic.recording = create_proxy(recording)
js.document.documentElement.dataset.kit = "ready"
