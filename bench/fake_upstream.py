"""A small bot service speaking the bot HTTP contract, served by a real uvicorn in a thread.

It records every request it gets, so proxy tests can check what reached the bot (and what did
not). Behaviour is steered by the request itself: `request_data.mode` on `/start`, the action
name on `/action`. Used where the proxy is under test; the real bot is tested elsewhere.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import uvicorn
from pyrtvi_testing.processes import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

ICE_SERVERS = [{"urls": "stun:stun.invalid:3478"}, {"urls": ["turn:turn.invalid"], "username": "u"}]
#: The bot socket `/start {"transport": "websocket"}` names.
FAKE_WS_URL = "ws://127.0.0.1:9/ws-client"
#: Seconds the slow endpoints sleep (longer than the proxy's timeout in the tests).
SLOW_SECONDS = 3.0
#: Upper bound for the streaming test's gate (the test opens it much sooner).
GATE_TIMEOUT = 20.0


def sse_event(message: dict[str, Any]) -> bytes:
    """One event as realtime-ai's disconnected-action reader expects: base64 JSON in `data:`."""
    return b"data: " + base64.b64encode(json.dumps(message).encode()) + b"\n\n"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeUpstream:
    port: int = field(default_factory=free_port)
    requests: list[Recorded] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)
    #: The streaming action waits on this between its first and second event.
    gate: threading.Event = field(default_factory=threading.Event)
    gate_timed_out: bool = False
    stream_finished: threading.Event = field(default_factory=threading.Event)
    #: Set when the streaming action ended early (its client, the proxy, went away).
    stream_abandoned: threading.Event = field(default_factory=threading.Event)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def recorded(self, path_part: str) -> list[Recorded]:
        return [r for r in self.requests if path_part in r.path]

    # -- endpoints ------------------------------------------------------------------------------

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        self.requests.append(
            Recorded(request.method, request.url.path, dict(request.headers), body)
        )
        return body

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def start(self, request: Request) -> Response:
        body = await self._record(request)
        if body.get("transport") == "websocket":  # a runner's answer (nothing listens there)
            return JSONResponse({"wsUrl": FAKE_WS_URL, "sessionId": uuid.uuid4().hex})
        mode = (body.get("request_data") or {}).get("mode")
        if mode == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        if mode == "reject":
            return JSONResponse({"detail": "no such voice: robo"}, status_code=422)
        if mode == "unauthorized":
            return Response("bad api key", status_code=401, media_type="text/plain")
        if mode == "crash":
            return Response("Internal Server Error", status_code=500)
        if mode == "bad_session":
            return JSONResponse({"sessionId": "../../admin"})
        if mode == "not_json":
            return Response("<html>hello</html>", media_type="text/html")
        session_id = uuid.uuid4().hex
        self.sessions.add(session_id)
        return JSONResponse({"sessionId": session_id, "iceConfig": {"iceServers": ICE_SERVERS}})

    async def offer(self, request: Request) -> Response:
        body = await self._record(request)
        if request.path_params["session_id"] not in self.sessions:
            return JSONResponse({"detail": "Session not found"}, status_code=404)
        if request.method == "PATCH":
            if body.get("pc_id") != "pc-1":
                return JSONResponse({"detail": "Peer connection not found"}, status_code=404)
            return JSONResponse({"status": "success"})
        return JSONResponse({"sdp": "v=0\r\nanswer", "type": "answer", "pc_id": "pc-1"})

    async def action(self, request: Request) -> Response:
        body = await self._record(request)
        action = body["actions"][0]
        name = action["data"]["action"]
        reply = {
            "label": "rtvi-ai",
            "type": "action-response",
            "id": action["id"],
            "data": {"result": "ok"},
        }
        if name == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        if name == "refuse":
            return JSONResponse({"error": "unknown action"}, status_code=400)
        if name != "stream":
            return JSONResponse(reply)
        self.stream_finished.clear()
        self.stream_abandoned.clear()

        async def events() -> AsyncIterator[bytes]:
            try:
                yield sse_event({"label": "rtvi-ai", "type": "bot-llm-started", "data": {}})
                opened = await anyio.to_thread.run_sync(self.gate.wait, GATE_TIMEOUT)
                self.gate_timed_out = not opened
                for word in ("Hello", " world"):
                    yield sse_event(
                        {"label": "rtvi-ai", "type": "bot-llm-text", "data": {"text": word}}
                    )
                    await asyncio.sleep(0.05)
                yield sse_event(reply)
                self.stream_finished.set()
            finally:
                if not self.stream_finished.is_set():
                    self.stream_abandoned.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    # -- lifecycle ------------------------------------------------------------------------------

    def start_server(self) -> FakeUpstream:
        app = Starlette(
            routes=[
                Route("/health", self.health),
                Route("/start", self.start, methods=["POST"]),
                Route("/sessions/{session_id}/api/offer", self.offer, methods=["POST", "PATCH"]),
                Route("/action", self.action, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
