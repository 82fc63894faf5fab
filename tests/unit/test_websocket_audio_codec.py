"""The JS audio-frame codec of the worklets and the router (``audio_js.AUDIO_CODEC``), run in node,
byte for byte against the Python codec (``protobuf``); pipecat's ``frames_pb2`` is checked in
tests/server/test_protobuf_pipecat.py. So is the router's reading of RTVI messages and of
pipecat 1.x interruptions (``audio_js.MESSAGE_CODEC``).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from typing import Any

import pytest
from rtvi.transports.websocket.audio_js import AUDIO_CODEC, MESSAGE_CODEC
from rtvi.transports.websocket.protobuf import (
    AudioRawFrame,
    Frame,
    FrameDecodeError,
    InterruptionFrame,
    MessageFrame,
    TextFrame,
    TranscriptionFrame,
    decode_frame,
    encode_frame,
)

#: Reads ``{"encode": [[pcm hex, rate], ...], "decode": [hex, ...]}``; writes the encoded hex
#: and, per decode case, ``null`` (not an audio frame / refused) or ``[audio hex, rate, channels]``.
DRIVER = """
const hex = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString("hex");
const bytes = (h) => { const b = Buffer.from(h, "hex"); return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)); };
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const encoded = cases.encode.map(([pcm, rate]) => {
    const b = bytes(pcm);
    return hex(new Uint8Array(encodeAudioFrame(new Int16Array(b.buffer, 0, b.length / 2), rate)));
  });
  const decoded = cases.decode.map((h) => {
    const b = bytes(h);
    if (!isAudioFrame(b)) return null;
    try { const f = decodeAudio(b.buffer); return [hex(f.audio), f.rate, f.channels]; }
    catch (e) { return "error"; }
  });
  process.stdout.write(JSON.stringify({ encoded, decoded }));
});
"""

NODE = shutil.which("node")


def json_subprocess(command: list[str], cases: dict[str, Any]) -> dict[str, Any]:
    """Run ``command`` with ``cases`` as JSON on stdin; its JSON answer on stdout."""
    done = subprocess.run(
        command,
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def run_js(cases: dict[str, Any]) -> dict[str, Any]:
    """The JS codec's answers to ``cases`` (see :data:`DRIVER`)."""
    if NODE is None:
        pytest.skip("node is not installed")
    return json_subprocess([NODE, "-e", AUDIO_CODEC + DRIVER], cases)


def python_view(data: bytes) -> list[Any] | str | None:
    """The Python codec's reading of ``data``: audio fields, ``"error"`` or ``None`` (not audio)."""
    try:
        frame = decode_frame(data)
    except FrameDecodeError:
        return "error"
    if not isinstance(frame, AudioRawFrame):
        return None
    return [frame.audio.hex(), frame.sample_rate, frame.num_channels]


def check(frames: list[bytes], answers: list[Any]) -> None:
    """Whatever JS takes as audio (not ``None``), it reads as the Python codec does."""
    for data, answer in zip(frames, answers, strict=True):
        if answer is not None:
            assert answer == python_view(data), data.hex()


PCM = bytes(random.Random(27).randrange(256) for _ in range(4096))
MIC = [(PCM[:1024], 16000), (b"", 16000), (PCM[:2], 8000), (PCM[:4094], 48000), (PCM, 2**32 - 1)]
AUDIO: list[AudioRawFrame] = [
    AudioRawFrame(audio=PCM[:1024], sample_rate=16000, num_channels=1),
    AudioRawFrame(audio=PCM[:7], sample_rate=24000, num_channels=1),  # odd size
    AudioRawFrame(),  # empty audio, no rate
    AudioRawFrame(audio=b"", sample_rate=24000, num_channels=2, pts=0),
    AudioRawFrame(audio=PCM, sample_rate=48000, num_channels=2, pts=2**63 + 5, id=2**64 - 1),
    AudioRawFrame(audio=PCM[:960], sample_rate=24000, num_channels=1, id=2**53 + 1, name="Out#7"),
    AudioRawFrame(audio=b"\x00" * 200_000, sample_rate=2**32 - 1, num_channels=1),  # 3-byte length
]
OTHERS: list[Frame] = [
    MessageFrame.of({"label": "rtvi-ai", "type": "bot-ready", "data": {}}),
    TextFrame(text="hi", id=2),
    TranscriptionFrame(text="t", user_id="u"),
    InterruptionFrame(),
]


def test_encoder_writes_the_python_codecs_bytes() -> None:
    got = run_js({"encode": [[pcm.hex(), rate] for pcm, rate in MIC], "decode": []})
    expected = [
        encode_frame(AudioRawFrame(audio=pcm, sample_rate=rate, num_channels=1)).hex()
        for pcm, rate in MIC
    ]
    assert got["encoded"] == expected


def test_decoder_reads_what_the_python_codec_reads() -> None:
    frames = [encode_frame(frame) for frame in [*AUDIO, *OTHERS]]
    # One Frame holding audio then a message (the message wins, for protobuf): not audio.
    frames.append(encode_frame(AUDIO[0]) + encode_frame(OTHERS[0]))
    # Fields out of order, repeated (the last wins), unknown (skipped), a too-wide uint32.
    body = b"\x28\x02\x20\x80\x7d\x1a\x02\x01\x02\x1a\x02\x03\x04\x38\x05\x45\x00\x00\x00\x00"
    frames.append(b"\x12" + bytes([len(body)]) + body)
    frames.append(b"\x12\x0a\x20\xff\xff\xff\xff\x1f\x1a\x02\x05\x06")
    got = run_js({"encode": [], "decode": [data.hex() for data in frames]})
    check(frames, got["decoded"])
    assert got["decoded"][len(AUDIO) :] == [None] * len(OTHERS) + [
        None,
        ["0304", 16000, 2],
        ["0506", 2**32 - 1, 0],
    ]
    assert got["decoded"][: len(AUDIO)] == [
        [f.audio.hex(), f.sample_rate, f.num_channels] for f in AUDIO
    ]


def test_bad_audio_bytes_are_refused_like_the_python_codec() -> None:
    good = encode_frame(AUDIO[1])
    bad = [
        good[:-1],  # truncated: the outer length runs past the end
        good + b"\x00",  # trailing byte: not one field
        b"\x12\x02\x1a\x05",  # audio length past the end
        b"\x12\x02\x08\x80",  # truncated varint
        b"\x12\x02\x1b\x00",  # wire type 3
        b"\x12\x02\x00\x00",  # field number 0
        b"\x12\x02\x18\x01",  # audio as a varint
        b"\x12\x03\x22\x01\x00",  # sample_rate as bytes
        b"\x12\x0c\x08" + b"\xff" * 10 + b"\x01",  # an 11-byte varint
        b"\x12",
        b"",
    ]
    rng = random.Random(1)
    for _ in range(300):  # random damage to real frames
        data = bytearray(encode_frame(rng.choice(AUDIO[:6])))
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        bad.append(bytes(data))
    got = run_js({"encode": [], "decode": [data.hex() for data in bad]})
    check(bad, got["decoded"])
    # The hand-made ones: refused by the player (to Python, which refuses them too) or not audio.
    assert got["decoded"][:9] == [None, None] + ["error"] * 7
    assert [python_view(data) for data in bad[:11]] == ["error"] * 11


#: Reads ``{"frames": [hex, ...]}``; writes ``{"texts": [...], "interruptions": [...]}``: each
#: frame's ``messageText`` (``null``: left to Python) and ``isInterruption``.
MESSAGE_DRIVER = """
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const frames = JSON.parse(input).frames.map((h) => new Uint8Array(Buffer.from(h, "hex")));
  const texts = frames.map(messageText);
  const interruptions = frames.map(isInterruption);
  process.stdout.write(JSON.stringify({ texts, interruptions }));
});
"""


def router_reading(frames: list[bytes]) -> dict[str, list[Any]]:
    """The router's reading of each frame (:data:`MESSAGE_DRIVER`)."""
    if NODE is None:
        pytest.skip("node is not installed")
    command = [NODE, "-e", AUDIO_CODEC + MESSAGE_CODEC + MESSAGE_DRIVER]
    return json_subprocess(command, {"frames": [f.hex() for f in frames]})


def message_texts(frames: list[bytes]) -> list[str | None]:
    """The RTVI message text the router reads in each frame (``None``: handed to Python)."""
    texts: list[str | None] = router_reading(frames)["texts"]
    return texts


def python_text(data: bytes) -> str | None:
    """The ``MessageFrame.data`` the Python codec reads in ``data`` (``None``: no message)."""
    try:
        frame = decode_frame(data)
    except FrameDecodeError:
        return None
    return frame.data if isinstance(frame, MessageFrame) else None


def test_router_reads_rtvi_messages_as_the_python_codec_does() -> None:
    texts = [
        json.dumps({"label": "rtvi-ai", "type": "bot-llm-text", "data": {"text": " talking."}}),
        json.dumps({"label": "rtvi-ai", "type": "server-response", "data": {"x": "é€😀" * 50}}),
        "\ufeff{}",  # a BOM is text, as in Python
        "x" * 200_000,  # a 3-byte length
        "not json",
    ]
    frames = [encode_frame(MessageFrame(text)) for text in texts]
    assert message_texts(frames) == texts
    bad_utf8 = [b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"ok\xe2\x82"]  # surrogate, overlong, cut
    others = [
        *(b"\x22" + bytes([len(raw) + 2, 0x0A, len(raw)]) + raw for raw in bad_utf8),
        encode_frame(MessageFrame("")),  # no data field: Python's to read
        b"\x22\x05\x0a\x01a\x10\x01",  # an unknown field after data
        b"\x22\x03\x0a\x01a" + encode_frame(InterruptionFrame()),  # two frame fields
        encode_frame(TextFrame(text="hi")),
        encode_frame(AUDIO[0]),
        encode_frame(MessageFrame("a"))[:-1],
        b"\x22",
        b"",
    ]
    assert message_texts(others) == [None] * len(others)
    rng = random.Random(27)
    damaged: list[bytes] = []
    for _ in range(300):  # random damage to real messages: read as Python reads it, or left to it
        hurt = bytearray(rng.choice(frames[:3]))
        for _ in range(rng.randint(1, 3)):
            hurt[rng.randrange(len(hurt))] = rng.randrange(256)
        damaged.append(bytes(hurt))
    for data, text in zip(damaged, message_texts(damaged), strict=True):
        if text is not None:
            assert text == python_text(data), data.hex()


def interruptions(frames: list[bytes]) -> list[bool]:
    """Whether the router keeps each frame from Python as an interruption it has handled."""
    found: list[bool] = router_reading(frames)["interruptions"]
    return found


def python_interruption(data: bytes) -> bool:
    try:
        return isinstance(decode_frame(data), InterruptionFrame)
    except FrameDecodeError:
        return False


def test_router_keeps_from_python_only_what_it_reads_as_an_interruption() -> None:
    good = [
        encode_frame(InterruptionFrame()),
        encode_frame(InterruptionFrame(id=2**64 - 1, name="InterruptionFrame#3")),
        encode_frame(InterruptionFrame(name="é€😀" * 40)),  # a 2-byte length
        b"\x2a\x04\x08\x01\x18\x07",  # an unknown varint field, skipped
    ]
    assert interruptions(good) == [True] * len(good)
    assert all(python_interruption(data) for data in good)
    others = [
        b"\x2a\x03\x12\x01\xff",  # name not UTF-8
        b"\x2a\x02\x0a\x00",  # id as bytes
        b"\x2a\x02\x10\x01",  # name as a varint
        b"\x2a\x02\x08\x80",  # truncated varint
        b"\x2a\x00" + encode_frame(MessageFrame("a")),  # two frame fields: the message wins
        b"\x2a\x01",
        b"\x2a",
        encode_frame(TextFrame(text="hi")),
        encode_frame(MessageFrame.of({"label": "rtvi-ai", "type": "bot-interrupted"})),
        encode_frame(AUDIO[0]),
        b"",
    ]
    assert interruptions(others) == [False] * len(others)
    rng = random.Random(5)
    damaged: list[bytes] = []
    for _ in range(300):  # random damage: kept from Python only when Python reads an interruption
        hurt = bytearray(rng.choice(good[:3]))
        for _ in range(rng.randint(1, 3)):
            hurt[rng.randrange(len(hurt))] = rng.randrange(256)
        damaged.append(bytes(hurt))
    for data, kept in zip(damaged, interruptions(damaged), strict=True):
        if kept:
            assert python_interruption(data), data.hex()
