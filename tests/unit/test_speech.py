"""Offline speech (``pyrtvi_testing.speech``): resampling, padding, caching."""

from __future__ import annotations

import itertools
import math
import shutil
import wave
from array import array
from pathlib import Path

import pytest
from pyrtvi_testing import speech


def sine(rate: int, hz: float, seconds: float) -> array[int]:
    n = int(rate * seconds)
    return array("h", (int(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(n)))


def zero_crossings(samples: array[int]) -> int:
    return sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))


@pytest.mark.parametrize("dst", [48000, 16000])
def test_resample_keeps_duration_and_pitch(dst: int) -> None:
    src = sine(22050, 440, 1.0)
    out = speech.resample(src, 22050, dst)
    assert abs(len(out) - dst) <= 1
    # 440 Hz: 880 zero crossings per second, whatever the rate.
    assert abs(zero_crossings(out) - zero_crossings(src)) <= 2
    assert max(out) > 7500


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")
def test_speech_is_padded_cached_and_at_the_rate_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = speech.speech_wav_path("hello there", cache_dir=tmp_path, pad_before=0.5, pad_after=1.0)
    with wave.open(str(path)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (
            48000,
            1,
            2,
        )
        samples = array("h", reader.readframes(reader.getnframes()))
    assert max(map(abs, samples[:24000])) == 0 and max(map(abs, samples[-48000:])) == 0
    assert max(map(abs, samples)) > 3000  # speech in between
    assert speech.speech_wav_path("hello there", cache_dir=tmp_path, rate=16000) != path
    # Cached: espeak-ng is not run again for the same text and voice.
    monkeypatch.setattr(speech, "_espeak", lambda *a: pytest.fail("espeak-ng ran again"))
    again = speech.speech_wav("hello there", cache_dir=tmp_path, pad_before=0.5, pad_after=1.0)
    assert again == path.read_bytes()
