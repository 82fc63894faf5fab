"""A small protobuf codec for Pipecat's ``pipecat.Frame`` (``frames.proto``), stdlib only.

Pipecat's ``ProtobufFrameSerializer`` puts every WebSocket message in one ``Frame`` whose oneof
holds a ``TextFrame`` (1), ``AudioRawFrame`` (2), ``TranscriptionFrame`` (3), ``MessageFrame`` (4:
the RTVI JSON text) or, since pipecat 1.x, an ``InterruptionFrame`` (5). This module encodes and
decodes exactly that, byte for byte as pipecat's generated ``frames_pb2`` does (fields in number
order, proto3 defaults left out, ``pts`` sent whenever it is set), and runs in Pyodide.

Anything that is not a well-formed ``Frame`` raises :class:`FrameDecodeError` (a frame kind this
codec does not know raises its subclass :class:`UnknownFrameError`); no other exception escapes
:func:`decode_frame`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ...errors import RTVIError

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_UINT32_MAX = (1 << 32) - 1
_UINT64_MAX = (1 << 64) - 1


class FrameDecodeError(RTVIError):
    """Bytes that are not a well-formed ``pipecat.Frame``."""

    default_message = "not a pipecat protobuf frame"


class UnknownFrameError(FrameDecodeError):
    """A well-formed ``Frame`` holding a kind this codec does not know (a newer pipecat)."""

    def __init__(self, field_number: int | None) -> None:
        self.field_number = field_number
        what = "no frame" if field_number is None else f"frame field {field_number}"
        super().__init__(f"unknown pipecat frame: {what}")


@dataclass(frozen=True)
class TextFrame:
    text: str = ""
    id: int = 0
    name: str = ""


@dataclass(frozen=True)
class AudioRawFrame:
    """PCM audio: little-endian signed 16-bit samples, interleaved channels."""

    audio: bytes = b""
    sample_rate: int = 0
    num_channels: int = 0
    pts: int | None = None
    id: int = 0
    name: str = ""


@dataclass(frozen=True)
class TranscriptionFrame:
    text: str = ""
    user_id: str = ""
    timestamp: str = ""
    id: int = 0
    name: str = ""


@dataclass(frozen=True)
class MessageFrame:
    """A transport message: ``data`` is the JSON text (an RTVI message)."""

    data: str = ""

    @classmethod
    def of(cls, message: Any) -> MessageFrame:
        """The frame for a JSON-serializable object (as pipecat's ``json.dumps``)."""
        return cls(json.dumps(message))


@dataclass(frozen=True)
class InterruptionFrame:
    """pipecat ≥ 1.0 sends it when the bot is interrupted: queued bot audio is stale."""

    id: int = 0
    name: str = ""


Frame = TextFrame | AudioRawFrame | TranscriptionFrame | MessageFrame | InterruptionFrame

#: The ``Frame`` oneof: field number of each kind.
FRAME_FIELDS: dict[type[Any], int] = {
    TextFrame: 1,
    AudioRawFrame: 2,
    TranscriptionFrame: 3,
    MessageFrame: 4,
    InterruptionFrame: 5,
}
_KINDS = {number: kind for kind, number in FRAME_FIELDS.items()}

# Each kind's fields: (number, attribute, type); types "u32", "u64", "str", "bytes", "opt_u64".
_SCHEMA: dict[type[Any], tuple[tuple[int, str, str], ...]] = {
    TextFrame: ((1, "id", "u64"), (2, "name", "str"), (3, "text", "str")),
    AudioRawFrame: (
        (1, "id", "u64"),
        (2, "name", "str"),
        (3, "audio", "bytes"),
        (4, "sample_rate", "u32"),
        (5, "num_channels", "u32"),
        (6, "pts", "opt_u64"),
    ),
    TranscriptionFrame: (
        (1, "id", "u64"),
        (2, "name", "str"),
        (3, "text", "str"),
        (4, "user_id", "str"),
        (5, "timestamp", "str"),
    ),
    MessageFrame: ((1, "data", "str"),),
    InterruptionFrame: ((1, "id", "u64"), (2, "name", "str")),
}


# --- encoding ----------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _field(number: int, kind: str, value: Any, name: str) -> tuple[bytes, bytes]:
    """One field as (key and length, or key and value; payload): joined by :func:`encode_frame`."""
    if kind in ("u32", "u64", "opt_u64"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        limit = _UINT32_MAX if kind == "u32" else _UINT64_MAX
        if not 0 <= value <= limit:
            raise ValueError(f"{name}={value} is out of range for a {kind.removeprefix('opt_')}")
        return _key(number, _VARINT) + _varint(value), b""
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")
        data = value.encode("utf-8")
    else:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
        data = value if isinstance(value, bytes) else bytes(value)
    return _key(number, _LEN) + _varint(len(data)), data


def encode_frame(frame: Frame) -> bytes:
    """The bytes of ``Frame{<kind>: frame}``, as ``frames_pb2.Frame.SerializeToString()``.

    Each payload is copied once, into the result (a 1 MiB message is not rebuilt field by
    field)."""
    kind = type(frame)
    number = FRAME_FIELDS.get(kind)
    if number is None:
        raise TypeError(f"not a pipecat frame: {kind.__name__}")
    parts: list[bytes] = []
    for field_number, attr, field_kind in _SCHEMA[kind]:
        value = getattr(frame, attr)
        if field_kind == "opt_u64" and value is None:
            continue
        if field_kind != "opt_u64" and not value:
            continue  # proto3: default values are not sent
        parts += _field(field_number, field_kind, value, f"{kind.__name__}.{attr}")
    size = sum(len(part) for part in parts)
    return b"".join([_key(number, _LEN), _varint(size), *parts])


# --- decoding ----------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def done(self) -> bool:
        return self.pos >= len(self.data)

    def varint(self) -> int:
        result = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise FrameDecodeError("truncated varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result & _UINT64_MAX
            shift += 7
            if shift >= 70:
                raise FrameDecodeError("varint longer than 10 bytes")

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise FrameDecodeError(f"field of {size} bytes runs past the end")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def key(self) -> tuple[int, int]:
        key = self.varint()
        number, wire = key >> 3, key & 7
        if number == 0:
            raise FrameDecodeError("field number 0")
        if wire not in (_VARINT, _I64, _LEN, _I32):
            raise FrameDecodeError(f"unsupported wire type {wire}")
        return number, wire

    def value(self, wire: int) -> int | bytes:
        if wire == _VARINT:
            return self.varint()
        if wire == _LEN:
            return self.take(self.varint())
        return self.take(8 if wire == _I64 else 4)


def _decode_kind(kind: type[Any], data: bytes) -> Frame:
    schema = {number: (attr, field_kind) for number, attr, field_kind in _SCHEMA[kind]}
    values: dict[str, Any] = {}
    reader = _Reader(data)
    while not reader.done():
        number, wire = reader.key()
        value = reader.value(wire)
        spec = schema.get(number)
        if spec is None:
            continue  # unknown fields are skipped, as protobuf does
        attr, field_kind = spec
        expected = _LEN if field_kind in ("str", "bytes") else _VARINT
        if wire != expected:
            raise FrameDecodeError(f"{kind.__name__}.{attr}: wire type {wire}, expected {expected}")
        if field_kind == "str":
            assert isinstance(value, bytes)
            try:
                values[attr] = value.decode("utf-8")
            except UnicodeDecodeError:
                raise FrameDecodeError(f"{kind.__name__}.{attr} is not UTF-8") from None
        elif field_kind == "u32":
            assert isinstance(value, int)
            values[attr] = value & _UINT32_MAX  # protobuf truncates a too-wide uint32
        else:
            values[attr] = value  # last one wins, as protobuf does
    frame: Frame = kind(**values)
    return frame


def decode_frame(data: bytes | bytearray | memoryview) -> Frame:
    """The frame in one WebSocket message; :class:`FrameDecodeError` for anything else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FrameDecodeError(f"expected bytes, got {type(data).__name__}")
    reader = _Reader(bytes(data))
    found: tuple[int, bytes] | None = None
    unknown: int | None = None
    while not reader.done():
        number, wire = reader.key()
        value = reader.value(wire)
        if number in _KINDS:
            if wire != _LEN:
                raise FrameDecodeError(f"frame field {number}: wire type {wire}, expected 2")
            assert isinstance(value, bytes)
            if found is not None and found[0] == number:
                found = (number, found[1] + value)  # a repeated message field merges
            else:
                found = (number, value)  # a later oneof member replaces an earlier one
        else:
            unknown = number
    if found is None:
        raise UnknownFrameError(unknown)
    number, body = found
    return _decode_kind(_KINDS[number], body)
