"""Runs in the kit's page (PyScript): one pyrtvi client, driven by the test process.

``window.kitRun(code)`` evaluates ``code`` (top-level ``await`` allowed) in one namespace and
resolves to the JSON of the last expression. Every client event but the 10 Hz audio levels is
recorded in ``window.kitEvents`` as ``{"type", "data", "t"}`` (``t``: ``performance.now()``).

The client's microphone is a :class:`~rtvi.transports.virtual_mic.VirtualMic` (Chromium needs
no fake device): ``window.rtviMic.play(wavBase64)`` speaks a WAV into it and resolves to the page
time of its last audible sample; ``window.rtviMic.firstBotAudioAfter(t, timeoutMs)`` resolves to
the page time of the first audible sample of the bot's audio after ``t`` (null on timeout).
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


client: RTVIClient | None = None
mic: VirtualMic | None = None
watch: AudioWatch | None = None
#: The last utterance played: its audio-clock time anchors the next bot-audio wait.
last_said: Utterance | None = None


async def bot_watch() -> AudioWatch:
    """A watch on the bot's current audio track, in the mic's context (one clock for both)."""
    global watch
    bot = client.tracks().bot if client is not None else None
    track = bot.audio if bot is not None else None
    if mic is None or track is None:
        raise RuntimeError("no bot audio track: is the client connected?")
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
    return await client.connect()


NS: dict[str, object] = {"__name__": "kit", "js": js, "connect": connect, "jsonable": jsonable}


async def run(code: str) -> str:
    NS["client"] = client
    result = await eval_code_async(code, NS)
    return json.dumps(jsonable(result))


js.kitRun = create_proxy(run)
js.rtviMic = js.Object.new()
js.rtviMic.play = create_proxy(play)
js.rtviMic.firstBotAudioAfter = create_proxy(first_bot_audio_after)
js.document.documentElement.dataset.kit = "ready"
