"""Our protobuf codec (rtvi.transports.websocket.protobuf) against pipecat's own, both ways.

pipecat's generated ``frames_pb2`` and its ``ProtobufFrameSerializer`` run in each bot venv
(``tests/server/pipecat_frames.py`` as a subprocess); the codec runs here, as it will in Pyodide,
and the worklets' JS audio codec (``audio_js.AUDIO_CODEC``) runs in node.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyrtvi_server.botproc import bot_python
from rtvi.transports.websocket.protobuf import (
    AudioRawFrame,
    Frame,
    InterruptionFrame,
    MessageFrame,
    TextFrame,
    TranscriptionFrame,
    decode_frame,
    encode_frame,
)

from tests.server.conftest import LEGACY_PIPECAT, MODERN_PIPECAT
from tests.unit.test_websocket_audio_codec import json_subprocess, run_js

SCRIPT = Path(__file__).with_name("pipecat_frames.py")
PCM = bytes(range(256)) * 3

FRAMES: list[tuple[str, Frame]] = [
    ("text", TextFrame(text="héllo ✓", id=7, name="TextFrame#1")),
    ("text", TextFrame()),
    ("audio", AudioRawFrame(audio=PCM, sample_rate=16000, num_channels=1)),
    ("audio", AudioRawFrame(audio=b"\x01\x00", sample_rate=24000, num_channels=2, pts=0)),
    ("audio", AudioRawFrame(audio=PCM[:7], sample_rate=48000, num_channels=1, pts=2**63 + 5)),
    (
        "transcription",
        TranscriptionFrame(text="hi", user_id="u1", timestamp="2026-12-03T07:00:00Z", id=2**40),
    ),
    ("message", MessageFrame.of({"label": "rtvi-ai", "type": "client-ready", "data": {"x": "é"}})),
    ("message", MessageFrame("x" * 70_000)),  # a multi-byte length prefix
]
MODERN_ONLY: list[tuple[str, Frame]] = [("interruption", InterruptionFrame(id=3, name="i"))]


def _fields(frame: Frame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in vars(frame).items():
        if value is None or (not value and name != "pts"):
            continue
        out[name] = value.hex() if isinstance(value, bytes) else value
    return out


def pipecat(version: str, cases: dict[str, Any]) -> dict[str, Any]:
    python = bot_python(version)
    if not python.exists():
        pytest.skip(f"no bot environment for pipecat {version}: run `make setup-test`")
    return json_subprocess([str(python), str(SCRIPT)], cases)


@pytest.mark.parametrize("version", [LEGACY_PIPECAT, MODERN_PIPECAT])
def test_codec_bytes_match_pipecat_frames_pb2_both_ways(version: str) -> None:
    frames = FRAMES + (MODERN_ONLY if version == MODERN_PIPECAT else [])
    ours = [encode_frame(frame) for _, frame in frames]
    message = {"label": "rtvi-ai", "type": "bot-ready", "id": "1", "data": {"v": [1, 2.5, None]}}
    bot_pcm = bytes(range(0, 256, 3)) * 4
    mic = AudioRawFrame(audio=PCM, sample_rate=16000, num_channels=1)
    client_ready = MessageFrame.of({"label": "rtvi-ai", "type": "client-ready", "id": "9"})
    got = pipecat(
        version,
        {
            "encode": [[kind, _fields(frame)] for kind, frame in frames],
            "decode": [data.hex() for data in ours],
            "serialize": [
                {"type": "message", "message": message},
                {"type": "audio", "audio": bot_pcm.hex(), "sample_rate": 24000, "num_channels": 1},
            ],
            "deserialize": [encode_frame(mic).hex(), encode_frame(client_ready).hex()],
        },
    )
    # frames_pb2 writes the very bytes we write, and parses ours into the same fields.
    assert got["encode"] == [data.hex() for data in ours]
    assert got["decode"] == [[kind, _fields(frame)] for kind, frame in frames]
    # We decode what frames_pb2 wrote back into the same frames.
    assert [decode_frame(bytes.fromhex(data)) for data in got["encode"]] == [f for _, f in frames]
    # What pipecat's serializer sends a client...
    sent_message, sent_audio = (decode_frame(bytes.fromhex(d)) for d in got["serialize"])
    assert isinstance(sent_message, MessageFrame) and json.loads(sent_message.data) == message
    assert isinstance(sent_audio, AudioRawFrame)
    assert (sent_audio.audio, sent_audio.sample_rate, sent_audio.num_channels) == (
        bot_pcm,
        24000,
        1,
    )
    assert sent_audio.name.startswith("OutputAudioRawFrame")  # pipecat also sends id and name
    # ... and what it makes of what we send.
    assert got["deserialize"] == [
        ["InputAudioRawFrame", PCM.hex(), 16000, 1],
        ["InputTransportMessageFrame", json.loads(client_ready.data)],
    ]


@pytest.mark.parametrize("version", [LEGACY_PIPECAT, MODERN_PIPECAT])
def test_js_audio_codec_against_pipecat(version: str) -> None:
    """The worklets' JS audio codec (run in node) and pipecat: what each writes, the other reads."""
    mic = [(PCM[:1024], 16000), (PCM[:2], 16000), (PCM[:766], 48000), (b"", 16000)]
    bot = [
        AudioRawFrame(audio=PCM[:7], sample_rate=24000, num_channels=1, id=2**64 - 1, name="n"),
        AudioRawFrame(audio=PCM, sample_rate=16000, num_channels=2, pts=2**63 + 5),
        AudioRawFrame(sample_rate=24000, num_channels=1),  # empty audio
    ]
    js = run_js(
        {"encode": [[pcm.hex(), rate] for pcm, rate in mic], "decode": []},
    )
    got = pipecat(
        version,
        {
            "encode": [["audio", _fields(frame)] for frame in bot],
            "decode": [],
            "serialize": [
                {"type": "audio", "audio": pcm.hex(), "sample_rate": 24000, "num_channels": 1}
                for pcm in (PCM[:7], PCM[:960], b"\x01\x00" * 4800)
            ],
            "deserialize": js["encoded"],
        },
    )
    # pipecat reads the mic frames the JS wrote (empty audio included) ...
    assert got["deserialize"] == [["InputAudioRawFrame", pcm.hex(), rate, 1] for pcm, rate in mic]
    # ... and the JS reads what frames_pb2 and pipecat's serializer write.
    sent = got["encode"] + got["serialize"]
    decoded = run_js({"encode": [], "decode": sent})["decoded"]
    assert decoded[: len(bot)] == [[f.audio.hex(), f.sample_rate, f.num_channels] for f in bot]
    assert decoded[len(bot) :] == [
        [pcm.hex(), 24000, 1] for pcm in (PCM[:7], PCM[:960], b"\x01\x00" * 4800)
    ]
