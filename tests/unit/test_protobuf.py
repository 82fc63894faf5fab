"""The pipecat frame codec on its own: round trips and bad bytes (always a FrameDecodeError)."""

from __future__ import annotations

import random

import pytest
from rtvi.errors import RTVIError
from rtvi.transports.websocket.protobuf import (
    AudioRawFrame,
    FrameDecodeError,
    InterruptionFrame,
    MessageFrame,
    TextFrame,
    TranscriptionFrame,
    UnknownFrameError,
    decode_frame,
    encode_frame,
)

SAMPLES = [
    TextFrame(text="hi", id=1),
    AudioRawFrame(audio=b"\x00\x01" * 300, sample_rate=16000, num_channels=1, pts=12),
    TranscriptionFrame(text="t", user_id="u", timestamp="now"),
    MessageFrame.of({"label": "rtvi-ai", "type": "send-text", "data": {"content": "x"}}),
    InterruptionFrame(),
]


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: type(f).__name__)
def test_round_trip(frame: object) -> None:
    assert decode_frame(encode_frame(frame)) == frame  # type: ignore[arg-type]


def test_known_bytes() -> None:
    # Frame{message: {data: "{}"}}: field 4, length 4, field 1, length 2.
    assert encode_frame(MessageFrame("{}")) == b"\x22\x04\x0a\x02{}"
    assert encode_frame(InterruptionFrame()) == b"\x2a\x00"
    assert decode_frame(b"\x12\x05\x20\x80\x7d\x28\x01") == AudioRawFrame(
        sample_rate=16000, num_channels=1
    )


def test_unknown_fields_are_skipped_and_unknown_kinds_are_typed() -> None:
    # An unknown field (9, varint) inside TextFrame and an unknown sibling (7, fixed32) in Frame.
    data = b"\x0a\x05\x48\x01\x1a\x01x" + b"\x3d\x00\x00\x00\x00"
    assert decode_frame(data) == TextFrame(text="x")
    with pytest.raises(UnknownFrameError) as caught:
        decode_frame(b"\x32\x00")  # field 6: a frame kind from a future pipecat
    assert caught.value.field_number == 6
    with pytest.raises(UnknownFrameError):
        decode_frame(b"")


@pytest.mark.parametrize(
    "data",
    [
        b"\x22",  # key without a value
        b"\x22\x05\x0a\x02",  # length past the end
        b"\x22\x03\x0a\x01\xff",  # MessageFrame.data not UTF-8
        b"\x20\x01",  # frame field 4 as a varint
        b"\x12\x02\x20\x05"[:3],  # truncated varint
        b"\x12\x02\x22\x00",  # sample_rate as bytes
        b"\x0b",  # group start (wire type 3)
        b"\x00\x01",  # field number 0
        b"\x0a\x0b" + b"\xff" * 11,  # an 11-byte varint
    ],
)
def test_malformed_bytes_raise_frame_decode_error(data: bytes) -> None:
    with pytest.raises(FrameDecodeError):
        decode_frame(data)


def test_random_and_truncated_bytes_never_raise_anything_else() -> None:
    rng = random.Random(13)
    valid = [encode_frame(frame) for frame in SAMPLES]  # type: ignore[arg-type]
    inputs = [data[:cut] for data in valid for cut in range(len(data))]
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(3000)]
    for data in inputs:
        try:
            decode_frame(data)
        except FrameDecodeError as exc:
            assert isinstance(exc, RTVIError) and str(exc)


def test_encode_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        encode_frame(AudioRawFrame(sample_rate=2**32))
    with pytest.raises(TypeError):
        encode_frame(TextFrame(text=b"x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_frame("not a frame")  # type: ignore[arg-type]
    with pytest.raises(FrameDecodeError):
        decode_frame("text")  # type: ignore[arg-type]
