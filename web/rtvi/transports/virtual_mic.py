"""A virtual microphone and a watch on received audio, in the browser: speech without a person.

:class:`VirtualMic` is a WebAudio graph whose ``track`` is a ``MediaStreamTrack`` that is silent
except while :meth:`VirtualMic.play` plays an utterance (WAV or PCM bytes handed from Python).
Give the track to a browser transport as its audio source (``audio_source=mic.track`` or
``await transport.set_audio_source(mic.track)``) and the bot hears exactly that utterance with
clean silence around it, so its VAD sees where the speech ends.

:class:`AudioWatch` sits on a received track (the bot's: ``client.tracks().bot.audio``) and
reports the first audible sample after a mark. Together they measure voice to voice as the page
feels it (:func:`voice_to_voice_ms`): the first audible bot sample after the utterance minus the
utterance's last audible sample. Built on the same ``AudioContext`` (``mic.watch(track)``), both
ends are read off one audio clock. Samples are handled in JS (an ``AudioBuffer`` and an
``AudioWorklet``); Python sees one result per utterance. Runs only under Pyodide.

"Audible" is ``abs(sample) >= threshold``, :data:`AUDIBLE` (0.02, about -34 dBFS) by default:
well above the near-zero samples of a silent stream, well below speech or a TTS voice. The
definitions (audible, onset, voice to voice) are :mod:`rtvi.latency`'s, which the console's
latency panel uses too; an :class:`AudioWatch` also reports where each audible stretch ends
(``on_end``), which is how the console finds the end of a real microphone's speech.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import latency
from ..latency import AUDIBLE, GAP_S
from ._browser import AudioContext, AudioWorkletNode, js_function, media_stream, module_url
from ._interop import Listeners, js_global, to_js_object, to_py

__all__ = ["AUDIBLE", "AudioWatch", "Heard", "Utterance", "VirtualMic", "voice_to_voice_ms"]

#: How many onsets a watch keeps for :meth:`AudioWatch.first_audible_after`.
KEEP_ONSETS = 1000

#: ``(ctx, dest, pcm, rate, channels, threshold) => Promise<result>``: plays 16-bit PCM once.
_PLAY = """
const frames = Math.floor(pcm.byteLength / 2 / channels);
const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
const buffer = ctx.createBuffer(1, Math.max(frames, 1), rate);
const data = buffer.getChannelData(0);
let first = -1, last = -1;
for (let i = 0; i < frames; i++) {
  let sum = 0;
  for (let c = 0; c < channels; c++) sum += view.getInt16((i * channels + c) * 2, true);
  const value = sum / channels / 32768;
  data[i] = value;
  if (Math.abs(value) >= threshold) { if (first < 0) first = i; last = i; }
}
const source = ctx.createBufferSource();
source.buffer = buffer;
source.connect(dest);
const start = ctx.currentTime + 0.02;
const perf = (t) => performance.now() - (ctx.currentTime - t) * 1000;
return new Promise((resolve) => {
  source.onended = () => {
    source.disconnect();
    const at = (i) => (i < 0 ? null : start + i / rate);
    const end = start + frames / rate;
    resolve({
      start, end, first_audible: at(first), last_audible: at(last),
      start_ms: perf(start), end_ms: perf(end),
      first_audible_ms: first < 0 ? null : perf(at(first)),
      last_audible_ms: last < 0 ? null : perf(at(last)),
    });
  };
  source.start(start);
});
"""

#: The watch worklet: posts each onset ``{kind: "onset", time, level}``, an audible sample after
#: ``gap`` s of silence (or the first ever), and each end ``{kind: "end", time}``, the last
#: audible sample before ``gap`` s of silence; ``time`` is the context time of that very sample.
_WATCH_WORKLET = """
class PyrtviAudioWatch extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.threshold = options.processorOptions.threshold;
    this.gap = Math.round(options.processorOptions.gap * sampleRate);
    this.quiet = this.gap;
    this.last = null;
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const level = Math.abs(channel[i]);
      if (level >= this.threshold) {
        const time = currentTime + i / sampleRate;
        if (this.quiet >= this.gap) this.port.postMessage({ kind: "onset", time, level });
        this.quiet = 0;
        this.last = time;
      } else if (++this.quiet === this.gap && this.last !== null) {
        this.port.postMessage({ kind: "end", time: this.last });
      }
    }
    return true;
  }
}
registerProcessor("pyrtvi-audio-watch", PyrtviAudioWatch);
"""

#: ``(ctx, port) => collector`` for pages without Python (``bench/pipecat_js.py``'s, on the same
#: worklet): keeps the onsets; ``after(mark)`` resolves with the first one at or after ``mark``
#: (already heard or still to come), as :meth:`AudioWatch.first_audible_after` does.
#: ``ms``: its ``performance.now()`` time.
_COLLECTOR = """
const onsets = [];
let waiters = [];
port.onmessage = (event) => {
  if (event.data.kind === "end") return;
  const { time, level } = event.data;
  const onset = { time, level, ms: performance.now() - (ctx.currentTime - time) * 1000 };
  onsets.push(onset);
  waiters = waiters.filter((w) => (time >= w.mark ? (w.resolve(onset), false) : true));
};
return {
  after(mark) {
    const onset = onsets.find((o) => o.time >= mark);
    return onset ? Promise.resolve(onset) : new Promise((resolve) => waiters.push({ mark, resolve }));
  },
  count() { return onsets.length; },
  close() { port.onmessage = null; waiters = []; },
};
"""

_watch_url: str | None = None
_functions: dict[str, Any] = {}


def _function(name: str, *params_and_body: str) -> Any:
    fn = _functions.get(name)
    if fn is None:
        fn = _functions[name] = js_function(*params_and_body)
    return fn


def pcm_of(audio: bytes, sample_rate: int | None = None) -> tuple[bytes, int, int]:
    """``(pcm16le, rate, channels)`` of a 16-bit PCM WAV, or of raw mono PCM at ``sample_rate``."""
    if not audio.startswith(b"RIFF"):
        if sample_rate is None:
            raise ValueError("raw PCM needs its sample_rate")
        return audio, sample_rate, 1
    if audio[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    rate = channels = bits = 0
    at = 12
    while at + 8 <= len(audio):
        chunk, size = audio[at : at + 4], struct.unpack_from("<I", audio, at + 4)[0]
        body = at + 8
        if chunk == b"fmt ":
            fmt, channels, rate = struct.unpack_from("<HHI", audio, body)
            bits = struct.unpack_from("<H", audio, body + 14)[0]
            if fmt not in (1, 0xFFFE) or bits != 16:
                raise ValueError(f"only 16-bit PCM WAV is played (format {fmt}, {bits} bits)")
        elif chunk == b"data":
            if not rate:
                raise ValueError("WAV data before its fmt chunk")
            return audio[body : body + size], rate, channels
        at = body + size + (size & 1)
    raise ValueError("WAV without a data chunk")


@dataclass(frozen=True)
class Utterance:
    """One played utterance: context times (s) and ``performance.now()`` times (ms).

    ``end``: the last sample entered the track; ``last_audible``: the last sample at or above
    the threshold (None for a silent utterance).
    """

    start: float
    end: float
    first_audible: float | None
    last_audible: float | None
    start_ms: float
    end_ms: float
    first_audible_ms: float | None
    last_audible_ms: float | None


@dataclass(frozen=True)
class Heard:
    """The first audible received sample after a mark: context time (s), ms, its level."""

    time: float
    ms: float
    level: float


class VirtualMic:
    """A silent ``MediaStreamTrack`` that speaks what :meth:`play` is given.

    Make one with ``await VirtualMic.open()``; ``close()`` stops the track and the context.
    """

    def __init__(self, context: AudioContext) -> None:
        self.context = context
        self.destination = context.createMediaStreamDestination()
        #: The microphone track (silence between utterances); one proxy, kept.
        self.track: Any = self.destination.stream.getAudioTracks()[0]
        self._lock = asyncio.Lock()  # one utterance at a time

    @classmethod
    async def open(cls) -> VirtualMic:
        context = AudioContext()
        if context.state == "suspended":
            await context.resume()
        return cls(context)

    async def play(
        self, audio: bytes, *, sample_rate: int | None = None, threshold: float = AUDIBLE
    ) -> Utterance:
        """Play a 16-bit WAV (or raw mono PCM at ``sample_rate``); returns once it has all
        entered the track. Utterances played concurrently are queued."""
        pcm, rate, channels = pcm_of(audio, sample_rate)
        play = _function("play", "ctx", "dest", "pcm", "rate", "channels", "threshold", _PLAY)
        async with self._lock:
            result = await play(
                self.context.js, self.destination.js, to_js_object(pcm), rate, channels, threshold
            )
        return Utterance(**to_py(result))

    def watch(self, track: Any, *, threshold: float = AUDIBLE) -> AudioWatch:
        """An :class:`AudioWatch` on ``track`` in this mic's context (one clock for both)."""
        return AudioWatch(track, context=self.context, threshold=threshold)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.track.stop()
        with contextlib.suppress(Exception):
            await self.context.close()


class AudioWatch:
    """Reports the onsets of an audio track (audible samples after ``gap`` s of silence) and the
    ends of its audible stretches (the last audible sample before ``gap`` s of silence).

    Create it with :meth:`open` (or :meth:`VirtualMic.watch`, then ``await watch.start()``).
    ``on_onset(heard)`` and ``on_end(time)`` (context time, s) are called as they happen.
    """

    def __init__(
        self,
        track: Any,
        *,
        context: AudioContext | None = None,
        threshold: float = AUDIBLE,
        gap: float = GAP_S,
        on_onset: Callable[[Heard], None] | None = None,
        on_end: Callable[[float], None] | None = None,
    ) -> None:
        self.track = track
        self.threshold = threshold
        self.gap = gap
        self.on_onset = on_onset
        self.on_end = on_end
        #: The onsets heard so far (the last :data:`KEEP_ONSETS`).
        self.heard: list[Heard] = []
        self._count = 0
        self._waiters: list[tuple[float, asyncio.Future[Heard]]] = []
        self._listeners = Listeners()
        self._started = False
        self._own_context = context is None
        self.context = context if context is not None else AudioContext()
        self._source: Any = None
        self._node: AudioWorkletNode | None = None

    @classmethod
    async def open(cls, track: Any, *, threshold: float = AUDIBLE) -> AudioWatch:
        watch = cls(track, threshold=threshold)
        await watch.start()
        return watch

    async def start(self) -> None:
        """Load the worklet and connect the track to it."""
        global _watch_url
        if self.context.state == "suspended":
            await self.context.resume()
        if _watch_url is None:
            _watch_url = module_url(_WATCH_WORKLET)
        await self.context.audioWorklet.addModule(_watch_url)
        self._node = AudioWorkletNode(
            self.context,
            "pyrtvi-audio-watch",
            {
                "numberOfInputs": 1,
                "numberOfOutputs": 0,
                "channelCount": 1,
                "channelCountMode": "explicit",
                "processorOptions": {"threshold": self.threshold, "gap": self.gap},
            },
        )
        self._listeners.add(self._node.port, "message", self._message)
        self._node.port.start()  # a port listened to with addEventListener starts explicitly
        self._started = True
        self._source = self.context.createMediaStreamSource(media_stream(self.track))
        self._source.connect(self._node)

    def _message(self, event: Any) -> None:
        data = to_py(event.data)
        time = float(data["time"])
        if data.get("kind") == "end":
            if self.on_end is not None:
                self.on_end(time)
            return
        # Its performance.now() time: now, minus how long ago it was on the audio clock.
        ms = float(js_global().performance.now()) - (self.context.currentTime - time) * 1000
        heard = Heard(time=time, ms=ms, level=float(data["level"]))
        self.heard = [*self.heard[-KEEP_ONSETS + 1 :], heard]
        self._count += 1
        waiting = []
        for mark, future in self._waiters:
            if not future.done() and time >= mark:
                future.set_result(heard)
            elif not future.done():
                waiting.append((mark, future))
        self._waiters = waiting
        if self.on_onset is not None:
            self.on_onset(heard)

    def _first_after(self, mark: float) -> Heard | None:
        time = latency.first_onset((h.time for h in self.heard), mark)
        return next((h for h in self.heard if h.time == time), None)

    async def first_audible_after(self, mark: float, timeout: float = 30.0) -> Heard:
        """The first onset (audible after silence) at or after context time ``mark`` (s),
        already heard or still to come. ``asyncio.TimeoutError`` after ``timeout`` s.
        """
        if not self._started:
            raise RuntimeError("AudioWatch.start() was not awaited")
        found = self._first_after(mark)
        if found is not None:
            return found
        future: asyncio.Future[Heard] = asyncio.get_running_loop().create_future()
        self._waiters.append((mark, future))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters = [(m, f) for m, f in self._waiters if f is not future]

    def now(self) -> float:
        """The context's current time (s), e.g. as a mark."""
        return self.context.currentTime

    @property
    def onsets(self) -> int:
        """How many onsets were heard so far."""
        return self._count

    async def close(self) -> None:
        self._listeners.clear()
        for _mark, future in self._waiters:
            future.cancel()
        self._waiters = []
        for node in (self._source, self._node):
            with contextlib.suppress(Exception):
                if node is not None:
                    node.disconnect()
        if self._node is not None:
            with contextlib.suppress(Exception):
                self._node.port.close()
        if self._own_context:
            with contextlib.suppress(Exception):
                await self.context.close()


def voice_to_voice_ms(utterance: Utterance, heard: Heard, *, same_clock: bool = True) -> float:
    """Last audible sample of ``utterance`` → first audible received sample, in ms.

    ``same_clock``: both were measured in one ``AudioContext`` (``mic.watch``): the audio clock
    is used; otherwise their ``performance.now()`` times.
    """
    if utterance.last_audible is None or utterance.last_audible_ms is None:
        raise ValueError("the utterance had no audible sample")
    if same_clock:
        return latency.voice_to_voice_ms(utterance.last_audible * 1000, heard.time * 1000)
    return latency.voice_to_voice_ms(utterance.last_audible_ms, heard.ms)
