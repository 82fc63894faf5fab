"""espeak-ng as an offline speech synthesizer (pure Python + the `espeak-ng` binary)."""

from __future__ import annotations

import asyncio
import functools
import shutil
import struct
import subprocess

DEFAULT_VOICE = "en-us"
#: espeak-ng's default speaking rate in words per minute (its `-s`), and the range it accepts.
DEFAULT_RATE = 175
MIN_RATE, MAX_RATE = 80, 450
#: Longest text handed to one espeak-ng run (longer text is an error, not a long hang).
MAX_TEXT = 4000


class EspeakError(RuntimeError):
    """espeak-ng is missing or failed."""


def binary() -> str:
    path = shutil.which("espeak-ng")
    if not path:
        raise EspeakError("espeak-ng is not installed (apt-get install espeak-ng)")
    return path


@functools.cache
def voices() -> tuple[str, ...]:
    """Names accepted by `espeak-ng -v`: the installed voices' language codes, sorted.

    MBROLA voices (files under `mb/`) are left out: they need the separate mbrola program.
    """
    out = subprocess.run(
        [binary(), "--voices"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        cols = line.split()
        # Pty Language Age/Gender VoiceName File [Other languages...]
        if len(cols) >= 5 and not cols[4].startswith("mb/"):
            names.add(cols[1])
    return tuple(sorted(names))


def check_voice(voice: object) -> str:
    """`voice` if espeak-ng has it, else ValueError naming a few valid ones."""
    if not isinstance(voice, str) or voice not in voices():
        sample = ", ".join(v for v in voices() if v.startswith("en"))
        raise ValueError(f"unknown espeak-ng voice {voice!r} (English ones: {sample})")
    return voice


def check_rate(rate: object) -> int:
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise ValueError(f"speed must be a number of words per minute, not {rate!r}")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"speed must be between {MIN_RATE} and {MAX_RATE} words per minute")
    return int(rate)


def parse_wav(data: bytes) -> tuple[bytes, int]:
    """(16-bit mono PCM, sample rate) from espeak-ng's streamed WAV (its sizes are placeholders)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise EspeakError("espeak-ng did not produce a WAV file")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt ":
            _, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
        elif chunk == b"data":
            if channels != 1 or bits != 16:
                raise EspeakError(f"unexpected espeak-ng format: {channels} ch, {bits} bit")
            pcm = data[pos + 8 :]
            return pcm[: len(pcm) - len(pcm) % 2], rate
        pos += 8 + size
    raise EspeakError("espeak-ng WAV has no data chunk")


async def synthesize(
    text: str, voice: str = DEFAULT_VOICE, rate: int = DEFAULT_RATE
) -> tuple[bytes, int]:
    """Speak `text`: (16-bit mono PCM, sample rate), 22.05 kHz with Debian's espeak-ng."""
    if len(text) > MAX_TEXT:
        raise EspeakError(f"text too long for one utterance ({len(text)} > {MAX_TEXT} chars)")
    proc = await asyncio.create_subprocess_exec(
        binary(),
        "--stdout",
        "-v",
        voice,
        "-s",
        str(rate),
        "--",
        text,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise EspeakError(f"espeak-ng failed ({proc.returncode}): {err.decode(errors='replace')}")
    return parse_wav(out)
