"""Hostile peers for the reliability suite and `bench/load.py`: an upstream that misbehaves,
an SDP offer whose ICE can never complete, raw-socket slow clients."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bench.fake_upstream import FakeUpstream, sse_event

#: Seconds the drip upstream keeps dripping (far longer than any timeout under test).
DRIP_SECONDS = 60.0
HUGE_BYTES = 8 * 1024 * 1024


class AbusiveUpstream(FakeUpstream):
    """FakeUpstream plus `request_data.mode` = `echo` (a FastAPI-style 422 echoing the whole
    request, secrets included), `echo_text`, `drip` (one byte every 0.2 s), `huge` (an 8 MB
    reply); action `echo` streams the request back as an SSE event."""

    async def start(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        mode = (body.get("request_data") or {}).get("mode")
        if mode == "echo":
            detail = [{"loc": ["body"], "msg": "Field required", "type": "missing", "input": body}]
            return JSONResponse({"detail": detail}, status_code=422)
        if mode == "echo_text":
            return Response(f"bad request: {raw.decode()}", status_code=400)
        if mode == "drip":

            async def drip() -> AsyncIterator[bytes]:
                for _ in range(int(DRIP_SECONDS / 0.2)):
                    yield b" "
                    await asyncio.sleep(0.2)

            return StreamingResponse(drip(), media_type="application/json")
        if mode == "huge":
            padding = "x" * HUGE_BYTES
            return Response(json.dumps({"sessionId": "s1", "pad": padding}), media_type="text/json")
        request._body = raw  # FakeUpstream.start reads it again
        return await super().start(request)

    async def action(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw)
        if body["actions"][0]["data"]["action"] != "echo":
            request._body = raw
            return await super().action(request)

        async def events() -> AsyncIterator[bytes]:
            yield sse_event({"label": "rtvi-ai", "type": "bot-llm-started", "data": {}})
            yield sse_event({"label": "rtvi-ai", "type": "echo", "data": body})
            yield sse_event({"label": "rtvi-ai", "type": "bot-llm-stopped", "data": {}})

        return StreamingResponse(events(), media_type="text/event-stream")


async def dead_offer_sdp() -> str:
    """A real aiortc offer (audio, video, data channel) with its candidates removed: the bot
    answers it and starts a pipeline, but ICE can never complete (a half-open session)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio", direction="sendrecv")
        pc.addTransceiver("video", direction="sendrecv")
        pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
    finally:
        await pc.close()
    lines = [line for line in sdp.splitlines() if not line.startswith(("a=candidate", "a=end-of"))]
    return "\r\n".join(lines) + "\r\n"


def raw_request(port: int, data: bytes, wait: float) -> bytes:
    """Send `data` on a fresh connection, then read until the server closes it (or `wait` s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            return received + b"<still open>"
        return received


def status_of(raw: bytes) -> int | None:
    try:
        return int(raw.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def json_body(raw: bytes) -> Any:
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])
