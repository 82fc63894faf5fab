"""Offline speech for tests: text → a padded mono 16-bit WAV, with espeak-ng, cached.

    from pyrtvi_testing.speech import speech_wav
    wav = speech_wav("What time is it?")           # bytes: 48 kHz mono, silence around it

espeak-ng (``apt install espeak-ng``) speaks at 22050 Hz; the samples are resampled here, by
linear interpolation in pure Python (no sox; ``audioop`` is gone in Python 3.13). Silence is
added before and after (``pad_before`` / ``pad_after`` s), so a bot's VAD hears a clean start
and end of speech. Results are cached per (text, voice, rate, speed, padding) in ``cache_dir``
(default ``$PYRTVI_SPEECH_CACHE``, else ``$XDG_CACHE_HOME/pyrtvi/speech``, else
``~/.cache/pyrtvi/speech``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import wave
from array import array
from pathlib import Path
from typing import Any

__all__ = ["SpeechError", "default_cache_dir", "resample", "speech_wav", "speech_wav_path"]

ESPEAK = "espeak-ng"


class SpeechError(RuntimeError):
    """espeak-ng is missing or failed."""


def default_cache_dir() -> Path:
    explicit = os.environ.get("PYRTVI_SPEECH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pyrtvi" / "speech"


def resample(samples: array[int], src_rate: int, dst_rate: int) -> array[int]:
    """16-bit mono ``samples`` (``array('h')``) from ``src_rate`` to ``dst_rate`` (linear).

    Downsampling first averages each output sample's span, a crude low-pass against aliasing.
    """
    if src_rate == dst_rate or not samples:
        return array("h", samples)
    n = len(samples)
    count = max(1, round(n * dst_rate / src_rate))
    step = src_rate / dst_rate
    out = array("h", bytes(2 * count))
    if step > 1:  # downsampling: the mean of the input samples each output sample covers
        for i in range(count):
            lo = int(i * step)
            hi = min(n, max(lo + 1, int((i + 1) * step)))
            out[i] = int(sum(samples[lo:hi]) / (hi - lo))
        return out
    last = n - 1
    for i in range(count):
        pos = i * step
        j = int(pos)
        if j >= last:
            out[i] = samples[last]
            continue
        frac = pos - j
        out[i] = round(samples[j] + (samples[j + 1] - samples[j]) * frac)
    return out


def _espeak(text: str, voice: str, speed: int | None) -> tuple[array[int], int]:
    binary = shutil.which(ESPEAK)
    if binary is None:
        raise SpeechError(f"{ESPEAK} not found: install it (e.g. `apt install espeak-ng`)")
    cmd = [binary, "-v", voice, "--stdout"]
    if speed is not None:
        cmd += ["-s", str(speed)]
    done = subprocess.run([*cmd, "--", text], capture_output=True, check=False, timeout=60)
    if done.returncode != 0 or not done.stdout:
        raise SpeechError(f"{ESPEAK} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    # espeak-ng's --stdout WAV has placeholder sizes (it streams): read the header, not sizes.
    raw = done.stdout
    with wave.open(io.BytesIO(raw)) as reader:
        rate, width, channels = reader.getframerate(), reader.getsampwidth(), reader.getnchannels()
    data_at = raw.find(b"data") + 8
    if width != 2 or channels != 1 or data_at < 8:
        raise SpeechError(f"unexpected {ESPEAK} output ({width * 8} bits, {channels} channels)")
    pcm = raw[data_at:]
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    return samples, rate


def wav_bytes(samples: array[int], rate: int) -> bytes:
    """A mono 16-bit WAV of ``samples``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return out.getvalue()


def speech_wav_path(
    text: str,
    *,
    voice: str = "en-us",
    rate: int = 48000,
    speed: int | None = None,
    pad_before: float = 0.3,
    pad_after: float = 1.0,
    cache_dir: Path | str | None = None,
) -> Path:
    """The cached WAV file of ``text`` spoken by espeak-ng (made on first use)."""
    if not text.strip():
        raise ValueError("nothing to say")
    key = json.dumps([text, voice, rate, speed, pad_before, pad_after])
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{digest}.wav"
    if path.exists():
        return path
    samples, espeak_rate = _espeak(text, voice, speed)
    spoken = resample(samples, espeak_rate, rate)
    padded = array("h", bytes(2 * round(pad_before * rate)))
    padded.extend(spoken)
    padded.extend(array("h", bytes(2 * round(pad_after * rate))))
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")  # concurrent writers never see half a file
    partial.write_bytes(wav_bytes(padded, rate))
    partial.replace(path)
    return path


def speech_wav(text: str, **options: Any) -> bytes:
    """``text`` as WAV bytes (see :func:`speech_wav_path` for the options)."""
    return speech_wav_path(text, **options).read_bytes()
