"""The CPython transport's pure audio: WAV in and out, frames, audibility, pacing, the bot's
playback timeline (on a fake clock, in milliseconds)."""

from __future__ import annotations

import asyncio
import io
import itertools
import wave
from array import array

import pytest
from rtvi.transports.python_websocket import AUDIBLE, PCM, BotAudio, Microphone
from rtvi.transports.python_websocket.audio import first_audible, last_audible, level

from .fake_clock import FakeClock


def wav_bytes(samples: list[int], rate: int, channels: int = 1, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(array("h", samples).tobytes() if width == 2 else bytes(samples))
    return out.getvalue()


def pcm(samples: list[int], rate: int = 1000) -> PCM:
    return PCM(array("h", samples), rate)


# --- PCM ------------------------------------------------------------------------------------------


def test_wav_bytes_and_files_read_as_mono_and_write_back(tmp_path: object) -> None:
    stereo = PCM.from_wav(wav_bytes([100, 300, -200, -400], 8000, channels=2))
    assert list(stereo.samples) == [200, -300] and stereo.sample_rate == 8000
    path = tmp_path / "x.wav"  # type: ignore[operator]
    path.write_bytes(pcm([1, 2, 3], 16000).to_wav())
    again = PCM.from_wav(path)
    assert list(again.samples) == [1, 2, 3] and again.duration == 3 / 16000
    assert PCM.from_wav(str(path)).samples == again.samples


def test_only_16_bit_wav_is_read() -> None:
    with pytest.raises(ValueError, match="16-bit"):
        PCM.from_wav(wav_bytes([1, 2, 3, 4], 8000, width=1))


def test_resampling_keeps_duration_and_interpolates() -> None:
    down = pcm([0, 30, 60, 90, 120, 150], 48000).resampled(16000)
    assert list(down.samples) == [0, 90] and down.sample_rate == 16000
    up = pcm([0, 100], 8000).resampled(16000)
    assert list(up.samples) == [0, 50, 100, 100]
    same = pcm([1], 16000)
    assert same.resampled(16000) is same
    assert PCM(array("h"), 8000).resampled(16000).sample_rate == 16000


def test_frames_are_sliced_and_the_last_padded() -> None:
    frames = pcm([1, 2, 3, 4, 5]).frames(2)
    assert [list(f) for f in frames] == [[1, 2], [3, 4], [5, 0]]
    assert PCM.silence(0.02, 16000).frames(320) == [array("h", bytes(640))]


def test_audible_and_level() -> None:
    quiet = [0, 5, -AUDIBLE + 1, 0]
    assert first_audible(array("h", quiet)) == last_audible(array("h", quiet)) == -1
    loud = array("h", [0, AUDIBLE, 0, -AUDIBLE, 0])
    assert (first_audible(loud), last_audible(loud)) == (1, 3)
    assert level(array("h")) == 0.0
    assert level(array("h", [-32768, -32768])) == 1.0


# --- the microphone -------------------------------------------------------------------------------


async def run_for(mic: Microphone, clock: FakeClock, seconds: float) -> list[tuple[float, int]]:
    """Run the mic on the fake clock for `seconds`: (send time, first sample) per frame."""
    sent: list[tuple[float, int]] = []
    task = asyncio.ensure_future(mic.run(lambda f: sent.append((clock.time(), f[0])), clock))
    while clock.time() < 100.0 + seconds - 1e-9:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return sent


async def test_the_mic_paces_frames_in_real_time_and_sends_silence_when_idle() -> None:
    clock = FakeClock()
    mic = Microphone(sample_rate=1000, frame_ms=20)
    sent = await run_for(mic, clock, 0.2)
    assert [round(t - 100.0, 3) for t, _ in sent] == [round(0.02 * i, 3) for i in range(10)]
    assert all(first == 0 for _, first in sent)
    assert mic.frame_samples == 20 and mic.frames_sent == 10


async def test_an_utterance_is_sent_then_a_gap_of_silence_before_the_next() -> None:
    clock = FakeClock()
    mic = Microphone(sample_rate=1000, frame_ms=20, gap_s=0.06)
    speech = pcm([500] * 30 + [0] * 30)  # 60 ms: audible in the first 30 samples (frames 0-1)
    first, second = mic.say(speech), mic.say(pcm([700] * 20))
    assert mic.busy
    sent = await run_for(mic, clock, 0.3)
    firsts = [value for _, value in sent]
    # 3 frames of speech, 3 of silence (the gap), 1 of the second utterance, then silence.
    assert firsts[:8] == [500, 500, 0, 0, 0, 0, 700, 0]
    assert await first == pytest.approx(100.02)  # frame 1 held the last audible sample
    assert await second == pytest.approx(100.12)
    assert mic.last_audible_at == pytest.approx(100.12) and not mic.busy


async def test_silent_utterance_muted_mic_and_cancel() -> None:
    clock = FakeClock()
    mic = Microphone(sample_rate=1000, frame_ms=20, gap_s=0)
    silent = mic.say(pcm([0] * 20))
    mic.muted = True
    muted = mic.say(pcm([900] * 20))
    sent = await run_for(mic, clock, 0.06)
    assert await silent is None
    assert await muted == pytest.approx(100.02)  # sent (as silence) all the same
    assert all(value == 0 for _, value in sent)
    later = mic.say(pcm([1] * 20))
    mic.cancel()
    assert later.cancelled() and not mic.busy


async def test_a_stalled_loop_resynchronises_instead_of_bursting() -> None:
    clock = FakeClock()
    mic = Microphone(sample_rate=1000, frame_ms=20)
    sent: list[float] = []

    def send(_frame: array[int]) -> None:
        sent.append(clock.time())
        if len(sent) == 3:
            clock.now += 1.0  # the loop was blocked for a second

    task = asyncio.ensure_future(mic.run(send, clock))
    while len(sent) < 6:
        await asyncio.sleep(0)
    task.cancel()
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(sent[3:])]
    assert gaps == [0.02, 0.02]  # no catch-up burst of 50 frames


def test_mic_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        Microphone(sample_rate=0)


# --- the bot's audio ------------------------------------------------------------------------------


def test_bot_frames_play_back_to_back_from_their_arrival() -> None:
    bot = BotAudio()
    bot.receive(pcm([0] * 100), now=10.0)  # 0.1 s at 1 kHz
    bot.receive(pcm([0] * 50 + [400] * 50), now=10.05)  # queued behind the first
    bot.receive(pcm([300] * 100), now=11.0)  # after a pause: plays on arrival
    assert [s.start for s in bot.segments] == [10.0, 10.1, 11.0]
    assert bot.queued(10.05) == pytest.approx(1.05)
    assert bot.first_audible() == pytest.approx(10.15)
    assert bot.first_audible(after=10.18) == pytest.approx(10.18)
    assert bot.first_audible(after=10.5) == pytest.approx(11.0)
    assert bot.first_audible(after=11.2) is None
    played = bot.pcm()
    assert played.duration == pytest.approx(1.1)
    assert played.samples[150] == 400 and played.samples[500] == 0 and played.samples[1000] == 300


def test_a_flush_drops_what_has_not_played() -> None:
    bot = BotAudio()
    for _ in range(5):
        bot.receive(pcm([500] * 100), now=20.0)  # 0.5 s sent at once, faster than real time
    dropped = bot.flush(20.125)
    assert dropped == 375 and bot.dropped_samples == 375 and bot.flushes == 1
    assert sum(len(s.samples) for s in bot.segments) == 125
    assert bot.queued(20.125) == 0
    bot.receive(pcm([600] * 10), now=20.2)
    assert bot.segments[-1].start == 20.2
    assert bot.first_audible(after=20.13) == pytest.approx(20.2)


def test_the_recording_resamples_to_the_first_rate_and_clears() -> None:
    bot = BotAudio()
    bot.receive(pcm([100] * 10, rate=1000), now=1.0)
    bot.receive(pcm([200] * 20, rate=2000), now=1.01)
    assert list(bot.pcm().samples) == [100] * 10 + [200] * 10
    bot.clear()
    assert bot.pcm(16000).duration == 0 and bot.queued(0) == 0
