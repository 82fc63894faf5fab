"""Runs in a bot venv (``python pipecat_frames.py < cases.json``): pipecat's own view of frames.

Input: ``{"encode": [[kind, fields], ...], "decode": [hex, ...], "serialize": [...],
"deserialize": [hex, ...]}``. Output (JSON on stdout): ``frames_pb2`` bytes for each ``encode``
case, the fields ``frames_pb2`` parses from each ``decode`` case, and what pipecat's
``ProtobufFrameSerializer`` makes of ``serialize`` (pipecat frames → bytes) and ``deserialize``
(bytes → pipecat frames). Bytes travel as hex.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


def _fields(message: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        out[field.name] = value.hex() if isinstance(value, bytes) else value
    return out


async def main() -> None:
    # pipecat lives in the bot venv only, not in the one mypy checks the tests with.
    from pipecat.frames import frames as pf  # type: ignore[import-not-found]
    from pipecat.frames.protobufs import frames_pb2  # type: ignore[import-not-found]
    from pipecat.serializers.protobuf import ProtobufFrameSerializer  # type: ignore[import-not-found]

    cases = json.load(sys.stdin)
    out: dict[str, Any] = {"encode": [], "decode": [], "serialize": [], "deserialize": []}
    for kind, fields in cases["encode"]:
        frame = frames_pb2.Frame()
        sub = getattr(frame, kind)
        sub.SetInParent()
        for name, value in fields.items():
            setattr(sub, name, bytes.fromhex(value) if name == "audio" else value)
        out["encode"].append(frame.SerializeToString().hex())
    for data in cases["decode"]:
        frame = frames_pb2.Frame.FromString(bytes.fromhex(data))
        which = frame.WhichOneof("frame")
        out["decode"].append([which, _fields(getattr(frame, which))])
    serializer = ProtobufFrameSerializer()
    for item in cases["serialize"]:
        if item["type"] == "message":
            frame = pf.OutputTransportMessageUrgentFrame(message=item["message"])
        else:
            frame = pf.OutputAudioRawFrame(
                audio=bytes.fromhex(item["audio"]),
                sample_rate=item["sample_rate"],
                num_channels=item["num_channels"],
            )
        data = await serializer.serialize(frame)
        assert isinstance(data, bytes)
        out["serialize"].append(data.hex())
    for data in cases["deserialize"]:
        got = await serializer.deserialize(bytes.fromhex(data))
        if isinstance(got, pf.InputAudioRawFrame):
            out["deserialize"].append(
                ["InputAudioRawFrame", got.audio.hex(), got.sample_rate, got.num_channels]
            )
        elif isinstance(got, pf.InputTransportMessageFrame):
            out["deserialize"].append(["InputTransportMessageFrame", got.message])
        else:
            out["deserialize"].append([type(got).__name__])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    from loguru import logger  # type: ignore[import-not-found]

    logger.remove()
    asyncio.run(main())
