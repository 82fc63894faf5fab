"""The WebSocket transport's mic resampler (``audio_js.CAPTURE_WORKLET``), run in node: its
anti-alias low-pass. A sine above the bot's Nyquist frequency is attenuated by at least 30 dB
(it would fold back into the band the bot's STT listens to), one well inside passes within
1 dB and stays a clean sine across the worklet's blocks, fed here at odd sizes."""

from __future__ import annotations

import math
from array import array

import pytest
from rtvi.transports.websocket.audio_js import CAPTURE_WORKLET
from rtvi.transports.websocket.protobuf import AudioRawFrame, decode_frame

from .test_websocket_audio_codec import NODE, json_subprocess

#: An AudioWorkletGlobalScope's names, enough for the capture worklet.
SCOPE = """
var sampleRate = 48000;
const posted = [];
class AudioWorkletProcessor { constructor() { this.port = { postMessage: (b) => posted.push(b) }; } }
let Processor = null;
function registerProcessor(name, cls) { Processor = cls; }
"""

#: Reads ``{"inRate", "outRate", "freq", "seconds", "sizes"}``: feeds a sine of amplitude 0.5 in
#: blocks of ``sizes`` (cycled); writes the posted frames, hex.
DRIVER = """
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const c = JSON.parse(input);
  sampleRate = c.inRate;
  const worklet = new Processor({ processorOptions: { sampleRate: c.outRate, frameSamples: 160 } });
  const total = Math.round(c.seconds * c.inRate);
  for (let at = 0, k = 0; at < total; k++) {
    const n = Math.min(c.sizes[k % c.sizes.length], total - at);
    const block = new Float32Array(n);
    for (let i = 0; i < n; i++) block[i] = 0.5 * Math.sin(2 * Math.PI * c.freq * (at + i) / c.inRate);
    worklet.process([[block]]);
    at += n;
  }
  process.stdout.write(JSON.stringify(posted.map((b) => Buffer.from(b).toString("hex"))));
});
"""

#: Block sizes: the real 128 (twice running, as a worklet gets it) among odd ones, one sample.
SIZES = [127, 128, 128, 128, 1, 333, 50, 129, 7, 7]


def resampled(in_rate: int, out_rate: int, freq: float, seconds: float = 1.0) -> list[float]:
    """The worklet's output for a sine of amplitude 0.5, as floats (full scale 1)."""
    if NODE is None:
        pytest.skip("node is not installed")
    case = {"inRate": in_rate, "outRate": out_rate, "freq": freq, "seconds": seconds}
    frames = json_subprocess(
        [NODE, "-e", SCOPE + CAPTURE_WORKLET + DRIVER], {**case, "sizes": SIZES}
    )
    samples = array("h")
    for data in frames:  # type: ignore[attr-defined]
        frame = decode_frame(bytes.fromhex(data))
        assert isinstance(frame, AudioRawFrame) and frame.sample_rate == out_rate
        samples.frombytes(frame.audio)
    assert abs(len(samples) - seconds * out_rate) <= 160  # all but the last partial frame
    return [s / 32768 for s in samples]


def rms(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values))


def db(ratio: float) -> float:
    return 20 * math.log10(max(ratio, 1e-12))


def sine_fit(values: list[float], freq: float, rate: int) -> tuple[float, float]:
    """A sine's amplitude fitted to ``values`` (a whole number of periods) and the RMS of what
    is left over (a click, a step, any distortion)."""
    w = 2 * math.pi * freq / rate
    n = len(values)
    a = 2 / n * sum(v * math.sin(w * i) for i, v in enumerate(values))
    b = 2 / n * sum(v * math.cos(w * i) for i, v in enumerate(values))
    rest = [v - a * math.sin(w * i) - b * math.cos(w * i) for i, v in enumerate(values)]
    return math.hypot(a, b), rms(rest)


CASES = [(48000, 16000, 10000.0), (44100, 16000, 10000.0), (48000, 24000, 14000.0)]


@pytest.mark.parametrize(("in_rate", "out_rate", "above"), CASES)
def test_a_sine_above_the_new_nyquist_is_filtered_one_below_passes(
    in_rate: int, out_rate: int, above: float
) -> None:
    skip = out_rate // 10  # the filter's first 100 ms (its warm-up)
    aliased = resampled(in_rate, out_rate, above)[skip:]
    assert db(rms(aliased) / (0.5 / math.sqrt(2))) <= -30, "folds back unfiltered"

    period = out_rate // 1000
    passed = resampled(in_rate, out_rate, 1000.0)[skip:]
    passed = passed[: len(passed) // period * period]
    amplitude, rest = sine_fit(passed, 1000.0, out_rate)
    assert abs(db(amplitude / 0.5)) <= 1
    assert db(rest / (0.5 / math.sqrt(2))) <= -40, "not a clean sine across blocks"
