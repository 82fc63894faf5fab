"""The CPython transport's audio, pure (stdlib only, no I/O but the WAV file read).

- :class:`PCM`: mono 16-bit samples at a rate; from a WAV file or bytes (channels mixed down),
  resampled (linear), sliced into frames, written back as WAV.
- :class:`Microphone`: the source the transport sends from, fed with :class:`PCM` utterances
  and paced in real time (one frame every ``frame_ms``, silence when it has nothing to say, and at
  least ``gap_s`` of silence after each utterance so the bot's VAD hears the end of speech). It
  remembers when it sent the last audible sample of each utterance.
- :class:`BotAudio`: the bot's audio frames as a player would play them: each frame starts when
  it arrives or when the previous one ends, whichever is later; :meth:`BotAudio.flush` (the
  interruption signal) drops what has not started playing yet, as the browser player does.
  :meth:`BotAudio.first_audible` finds the first audible sample played after a time.

The clock is handed in (``time()`` and ``sleep()``, a :class:`~rtvi.transports.liveness.Clock`),
so pacing is unit-tested on a fake clock in milliseconds.
"""

from __future__ import annotations

import asyncio
import io
import math
import os
import wave
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..liveness import Clock

#: A sample at least this loud (of 32767) is audible: about -50 dBFS, above dither and hiss.
AUDIBLE = 100
#: Sample positions from float times are rounded this close to a whole sample.
_EPS = 1e-6


def _mono(samples: array[int], channels: int) -> array[int]:
    if channels == 1:
        return samples
    mixed = array("h", bytes(2 * (len(samples) // channels)))
    for i in range(len(mixed)):
        frame = samples[i * channels : (i + 1) * channels]
        mixed[i] = sum(frame) // channels
    return mixed


@dataclass(frozen=True)
class PCM:
    """Mono signed 16-bit samples at ``sample_rate`` Hz."""

    samples: array[int]
    sample_rate: int

    @classmethod
    def from_bytes(cls, data: bytes, sample_rate: int, num_channels: int = 1) -> PCM:
        """Raw little-endian 16-bit PCM (interleaved channels are mixed down)."""
        samples = array("h")
        samples.frombytes(data[: len(data) - len(data) % 2])
        return cls(_mono(samples, max(1, num_channels)), sample_rate)

    @classmethod
    def from_wav(cls, source: bytes | str | os.PathLike[str]) -> PCM:
        """A 16-bit PCM WAV file (a path, or the file's bytes)."""
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
        with stream, wave.open(stream, "rb") as wav:
            if wav.getsampwidth() != 2:
                raise ValueError(
                    f"only 16-bit PCM WAV is supported, not {8 * wav.getsampwidth()}-bit"
                )
            data = wav.readframes(wav.getnframes())
            return cls.from_bytes(data, wav.getframerate(), wav.getnchannels())

    @classmethod
    def silence(cls, seconds: float, sample_rate: int) -> PCM:
        return cls(array("h", bytes(2 * round(seconds * sample_rate))), sample_rate)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def resampled(self, sample_rate: int) -> PCM:
        """At another rate, by linear interpolation (enough for a VAD and a recording)."""
        if sample_rate == self.sample_rate:
            return self
        if not self.samples:
            return PCM(self.samples, sample_rate)
        src, n = self.samples, len(self.samples)
        count = max(1, round(n * sample_rate / self.sample_rate))
        step = self.sample_rate / sample_rate
        out = array("h", bytes(2 * count))
        for i in range(count):
            pos = i * step
            j = int(pos)
            if j >= n - 1:
                out[i] = src[n - 1]
            else:
                frac = pos - j
                out[i] = int(src[j] + (src[j + 1] - src[j]) * frac)
        return PCM(out, sample_rate)

    def frames(self, frame_samples: int) -> list[array[int]]:
        """Slices of ``frame_samples`` samples; the last is padded with silence."""
        out = []
        for start in range(0, len(self.samples), frame_samples):
            frame = self.samples[start : start + frame_samples]
            if len(frame) < frame_samples:
                frame.extend([0] * (frame_samples - len(frame)))
            out.append(frame)
        return out

    def to_wav(self) -> bytes:
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self.sample_rate)
            wav.writeframes(self.samples.tobytes())
        return out.getvalue()


def as_pcm(source: PCM | bytes | str | os.PathLike[str]) -> PCM:
    """A :class:`PCM` as given, or read from a WAV file (path or bytes)."""
    return source if isinstance(source, PCM) else PCM.from_wav(source)


def last_audible(samples: array[int], threshold: int = AUDIBLE) -> int:
    """Index of the last sample at least ``threshold`` loud, or -1."""
    for i in range(len(samples) - 1, -1, -1):
        if abs(samples[i]) >= threshold:
            return i
    return -1


def first_audible(samples: array[int], threshold: int = AUDIBLE) -> int:
    """Index of the first sample at least ``threshold`` loud, or -1."""
    for i, value in enumerate(samples):
        if abs(value) >= threshold:
            return i
    return -1


def level(samples: array[int]) -> float:
    """RMS level, 0 (silence) to 1 (full scale)."""
    if not samples:
        return 0.0
    return math.sqrt(sum(v * v for v in samples) / len(samples)) / 32768


# --- the microphone ------------------------------------------------------------------------------


@dataclass
class Utterance:
    """One :meth:`Microphone.say`: await ``done`` for when its last audible sample was sent."""

    frames: deque[array[int]]
    done: asyncio.Future[float | None]
    #: When the frame holding the last audible sample was sent (``None``: it was all silence).
    last_audible_at: float | None = None
    last_frame: int = -1  # index of the frame holding the last audible sample
    sent: int = 0


@dataclass
class Microphone:
    """A microphone fed with PCM, sent one ``frame_ms`` frame at a time in real time.

    The transport runs :meth:`run` from ``ready`` until disconnect. Between utterances it sends
    silence (as a real mic does), and each utterance starts only after ``gap_s`` of silence since
    the previous one ended, so the bot's VAD sees a clean end of speech.
    """

    sample_rate: int = 16000
    frame_ms: int = 20
    gap_s: float = 1.0
    threshold: int = AUDIBLE
    #: The last audible sample of any utterance was sent at (clock time), or ``None``.
    last_audible_at: float | None = None
    frames_sent: int = 0
    muted: bool = False
    _queue: deque[Utterance] = field(default_factory=deque)
    _silence_left: int = 0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.frame_ms <= 0:
            raise ValueError("sample_rate and frame_ms must be positive")

    @property
    def frame_samples(self) -> int:
        return self.sample_rate * self.frame_ms // 1000

    @property
    def busy(self) -> bool:
        """An utterance is queued or playing."""
        return bool(self._queue)

    def say(self, source: PCM | bytes | str | os.PathLike[str]) -> asyncio.Future[float | None]:
        """Queue an utterance (a :class:`PCM`, a WAV path or WAV bytes), resampled to the mic's
        rate; the future gives the clock time its last audible sample was sent."""
        pcm = as_pcm(source).resampled(self.sample_rate)
        frames = pcm.frames(self.frame_samples)
        audible = last_audible(pcm.samples, self.threshold)
        done: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        last_frame = audible // self.frame_samples if audible >= 0 else -1
        self._queue.append(Utterance(deque(frames), done, last_frame=last_frame))
        return done

    def cancel(self) -> None:
        """Drop every queued utterance (their futures are cancelled)."""
        while self._queue:
            self._queue.popleft().done.cancel()
        self._silence_left = 0

    def next_frame(self, now: float) -> array[int]:
        """The frame to send at ``now`` (an utterance's, else silence); bookkeeping included."""
        utterance = self._queue[0] if self._queue and not self._silence_left else None
        if utterance is None:
            self._silence_left = max(0, self._silence_left - 1)
            return array("h", bytes(2 * self.frame_samples))
        frame = utterance.frames.popleft()
        if utterance.sent == utterance.last_frame:
            utterance.last_audible_at = self.last_audible_at = now
        utterance.sent += 1
        if not utterance.frames:
            self._queue.popleft()
            self._silence_left = math.ceil(self.gap_s * 1000 / self.frame_ms)
            if not utterance.done.done():
                utterance.done.set_result(utterance.last_audible_at)
        return array("h", bytes(2 * self.frame_samples)) if self.muted else frame

    async def run(self, send: Callable[[array[int]], None], clock: Clock) -> None:
        """Send a frame every ``frame_ms`` until cancelled, on absolute deadlines (no drift);
        more than 200 ms late (a stalled loop), it starts counting again from now."""
        period = self.frame_ms / 1000
        start, n = clock.time(), 0
        try:
            while True:
                now = clock.time()
                send(self.next_frame(now))
                self.frames_sent += 1
                n += 1
                delay = start + n * period - clock.time()
                if delay < -0.2:
                    start, n = clock.time(), 0
                    delay = 0.0
                await clock.sleep(max(0.0, delay))
        finally:
            self.cancel()


# --- the bot's audio -----------------------------------------------------------------------------


@dataclass
class Segment:
    """One bot audio frame as played: from ``start`` (clock time) at ``sample_rate``."""

    start: float
    samples: array[int]
    sample_rate: int
    arrived: float

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / self.sample_rate


@dataclass
class BotAudio:
    """The bot's audio frames, laid on a playback timeline as a player with no jitter buffer
    plays them; :meth:`flush` drops what has not played yet (an interruption)."""

    threshold: int = AUDIBLE
    segments: list[Segment] = field(default_factory=list)
    frames: int = 0
    flushes: int = 0
    dropped_samples: int = 0
    _end: float = 0.0

    def receive(self, pcm: PCM, now: float) -> Segment:
        """A frame arrived at ``now``: it plays from ``now`` or when the previous one ends."""
        segment = Segment(max(now, self._end), pcm.samples, pcm.sample_rate, now)
        self.segments.append(segment)
        self._end = segment.end
        self.frames += 1
        return segment

    def queued(self, now: float) -> float:
        """Seconds of bot audio received and not played yet at ``now``."""
        return max(0.0, self._end - now)

    def flush(self, now: float) -> int:
        """Drop the audio that has not played by ``now``; returns the samples dropped."""
        dropped = 0
        kept: list[Segment] = []
        for segment in self.segments:
            if segment.end <= now:
                kept.append(segment)
                continue
            played = max(0, int((now - segment.start) * segment.sample_rate + _EPS))
            dropped += len(segment.samples) - played
            if played:
                kept.append(
                    Segment(
                        segment.start,
                        segment.samples[:played],
                        segment.sample_rate,
                        segment.arrived,
                    )
                )
        self.segments = kept
        self._end = min(self._end, now)
        self.flushes += 1
        self.dropped_samples += dropped
        return dropped

    def first_audible(self, after: float = 0.0) -> float | None:
        """When the first audible sample played at or after ``after`` plays, or ``None``."""
        for segment in self.segments:
            if segment.end < after:
                continue
            skip = max(0, math.ceil((after - segment.start) * segment.sample_rate - _EPS))
            index = first_audible(segment.samples[skip:], self.threshold)
            if index >= 0:
                return segment.start + (skip + index) / segment.sample_rate
        return None

    def pcm(self, sample_rate: int | None = None) -> PCM:
        """Everything played, silence between frames kept, from the first frame's start."""
        if not self.segments:
            return PCM(array("h"), sample_rate or 16000)
        rate = sample_rate or self.segments[0].sample_rate
        origin = self.segments[0].start
        out = array("h")
        for segment in self.segments:
            offset = round((segment.start - origin) * rate)
            if offset > len(out):
                out.extend(array("h", bytes(2 * (offset - len(out)))))
            out.extend(PCM(segment.samples, segment.sample_rate).resampled(rate).samples)
        return PCM(out, rate)

    def clear(self) -> None:
        self.segments.clear()
        self._end = 0.0
