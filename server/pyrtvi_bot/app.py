"""The bot process's HTTP interface (the contract `pyrtvi_server` proxies to), for both flavours.

    GET   /health                           {"status": "ok", "pipecat": ..., "rtvi": ...}
    GET   /load                             {"sessions", "pipelines", "half_open", "reaped", ...}
    POST  /start                            {"sessionId", "iceConfig": {"iceServers": []}}
    POST  /sessions/{id}/api/offer          SDP offer → {"sdp", "type": "answer", "pc_id"}
    PATCH /sessions/{id}/api/offer          trickle ICE candidates for a known pc_id
    POST  /action                           disconnected actions as an SSE stream
    WS    /ws, /sessions/{id}/ws            pipecat's protobuf WebSocket (see `websocket.py`)

Errors are JSON `{"detail": ...}` with a 4xx status. Each first offer of a peer connection starts
one pipecat pipeline (the flavour's `run_bot`) that lives until the peer leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import hmac
import json
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from loguru import logger
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from pyrtvi_bot.disconnected import (
    DisconnectedConversation,
    RequestError,
    parse_actions,
    stream_actions,
)
from pyrtvi_bot.state import BotSettings, ConfigError, check_config
from pyrtvi_bot.websocket import serve_websocket

#: Largest request body; the pyrtvi server raises it to fit the `/start` bodies it builds.
MAX_BODY = int(os.environ.get("PYRTVI_BOT_MAX_BODY", 512 * 1024))
MAX_SESSIONS = 500
#: Seconds a session may stay half-open (started, or offered, but no peer connected) before its
#: resources are freed. The pyrtvi server sets it from its own `half_open_timeout`.
HALF_OPEN_TIMEOUT = float(os.environ.get("PYRTVI_BOT_HALF_OPEN_TIMEOUT", 30.0))
#: When set (the pyrtvi server sets a fresh one per launch), every request but `GET /health`
#: must carry it in `X-Pyrtvi-Bot-Token`: nobody else on the machine can drive the bot.
TOKEN_HEADER = "x-pyrtvi-bot-token"
#: Give freed memory back to the system once the last pipeline has ended (`0` turns it off).
MALLOC_TRIM = os.environ.get("PYRTVI_BOT_MALLOC_TRIM", "1") != "0"
MAX_CONNECTIONS_PER_SESSION = 8
#: Seconds the bots get to end when the process stops.
SHUTDOWN_GRACE = 4.0


class HTTPError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Session:
    """What `/start` stored: the client's request data, services and (checked) config.

    `request_data` is the runner body (`runner_args.body` of a Pipecat bot) when `/start` was
    sent in the runner's shape, services and config included.
    """

    id: str
    request_data: dict[str, Any]
    services: dict[str, Any]
    config: list[dict[str, Any]]
    created: float = field(default_factory=time.time)
    connections: dict[str, SmallWebRTCConnection] = field(default_factory=dict)
    conversation: DisconnectedConversation | None = None
    websockets: int = 0  # open WebSocket clients

    def settings(self) -> BotSettings:
        """Fresh settings from the initial config (each pipeline gets its own copy)."""
        return BotSettings.from_config(self.config)


class Flavor(Protocol):
    """A pipecat-version-specific bot: runs one pipeline for one peer connection."""

    pipecat_version: str
    rtvi_version: str

    async def run_bot(self, connection: SmallWebRTCConnection, session: Session) -> None: ...

    async def run_websocket_bot(self, websocket: WebSocket, session: Session) -> None: ...


async def read_json(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPError(413, f"request body too large (limit {MAX_BODY} bytes)")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise HTTPError(413, f"request body too large (limit {MAX_BODY} bytes)")
    except ClientDisconnect:
        raise HTTPError(400, "request body incomplete") from None
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPError(400, f"body is not valid JSON: {exc}") from None


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HTTPError(400, f"{name} must be a JSON object")
    return value


class SessionRoutes:
    """The HTTP routes and what they keep: sessions, their peer connections and running bots."""

    def __init__(self, flavor: Flavor) -> None:
        self.flavor = flavor
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.bots: set[asyncio.Task[None]] = set()
        #: Offered peer connections not connected yet: connection → (deadline, its bot task).
        self.half_open: dict[SmallWebRTCConnection, tuple[float, asyncio.Task[None]]] = {}
        self.reaped = 0
        self.trims = 0
        self._busy = False

    # -- routes ---------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "pipecat": self.flavor.pipecat_version,
                "rtvi": self.flavor.rtvi_version,
            }
        )

    async def load(self, request: Request) -> Response:
        """What runs: for the pyrtvi server's admission control and memory watch."""
        return JSONResponse(
            {
                "sessions": len(self.sessions),
                "pipelines": len(self.bots),
                "half_open": len(self.half_open),
                "reaped": self.reaped,
                "trims": self.trims,
            }
        )

    async def start(self, request: Request) -> Response:
        body = _object(await read_json(request), "the body")
        if "body" in body:
            # A Pipecat runner's /start (what pyrtvi serve sends): `body` is the request data
            # itself, with the services and config as keys of it.
            request_data = _object(body["body"], "body")
            services = _object(request_data.get("services"), "body.services")
            config_entries = request_data.get("config")
        else:  # pyrtvi's older contract: {request_data, services, config}
            request_data = _object(
                body.get("request_data", body.get("requestData")), "request_data"
            )
            services = _object(body.get("services"), "services")
            config_entries = body.get("config")
        for slot, name in services.items():
            if not isinstance(name, str):
                raise HTTPError(400, f"services.{slot} must be a string")
        try:
            config = check_config(config_entries or [])
        except ConfigError as exc:
            raise HTTPError(400, f"config: {exc}") from None
        self._evict()
        session = Session(str(uuid.uuid4()), request_data, services, config)
        self.sessions[session.id] = session
        logger.info(
            f"session {session.id} started (services {services}, {len(config)} config entries)"
        )
        if body.get("transport") == "websocket":
            # As a Pipecat runner answers: the socket to open (pyrtvi serve relays to it).
            path = request.app.url_path_for("session_ws", session_id=session.id)
            ws_url = str(request.base_url.replace(scheme="ws")).rstrip("/") + path
            return JSONResponse({"sessionId": session.id, "wsUrl": ws_url})
        return JSONResponse({"sessionId": session.id, "iceConfig": {"iceServers": []}})

    async def offer(self, request: Request) -> Response:
        session = self._session(request)
        body = _object(await read_json(request), "the body")
        sdp, kind = body.get("sdp"), body.get("type")
        if not isinstance(sdp, str) or not sdp.strip():
            raise HTTPError(400, "sdp must be a non-empty string")
        if kind != "offer":
            raise HTTPError(400, "type must be 'offer'")
        if not sdp.lstrip().startswith("v=0") or "\nm=" not in sdp:
            raise HTTPError(400, "sdp is not an SDP offer with media sections")
        pc_id, restart = body.get("pc_id"), body.get("restart_pc")
        if pc_id is not None and not isinstance(pc_id, str):
            raise HTTPError(400, "pc_id must be a string or null")
        if restart is not None and not isinstance(restart, bool):
            raise HTTPError(400, "restart_pc must be true or false")
        _object(body.get("requestData", body.get("request_data")), "requestData")

        connection = session.connections.get(pc_id) if pc_id else None
        try:
            if connection is not None:
                logger.info(f"session {session.id}: renegotiating {pc_id} (restart={restart})")
                await connection.renegotiate(sdp=sdp, type=kind, restart_pc=bool(restart))
            else:
                if len(session.connections) >= MAX_CONNECTIONS_PER_SESSION:
                    raise HTTPError(429, "too many peer connections in this session")
                connection = SmallWebRTCConnection(ice_servers=[])
                try:
                    await connection.initialize(sdp=sdp, type=kind)
                except BaseException:
                    with contextlib.suppress(Exception):
                        await connection.pc.close()
                    raise
                self._launch(session, connection)
        except HTTPError:
            raise
        except Exception as exc:  # aiortc rejects malformed SDP with assorted exceptions
            logger.warning(f"session {session.id}: offer failed: {exc!r}")
            raise HTTPError(400, f"cannot answer this SDP offer: {exc}") from None
        answer = connection.get_answer()
        if answer is None:
            raise HTTPError(500, "no SDP answer was produced")
        for known in [k for k, v in session.connections.items() if v is connection]:
            del session.connections[known]
        session.connections[answer["pc_id"]] = connection
        return JSONResponse(answer)

    async def ice_candidates(self, request: Request) -> Response:
        from aiortc.sdp import candidate_from_sdp

        session = self._session(request)
        body = _object(await read_json(request), "the body")
        pc_id, candidates = body.get("pc_id"), body.get("candidates")
        if not isinstance(pc_id, str):
            raise HTTPError(400, "pc_id must be a string")
        if not isinstance(candidates, list):
            raise HTTPError(400, "candidates must be a list")
        connection = session.connections.get(pc_id)
        if connection is None:
            raise HTTPError(404, f"unknown peer connection {pc_id!r} in this session")
        parsed: list[Any] = []  # RTCIceCandidate, or None for end-of-candidates
        for i, item in enumerate(candidates):
            if not isinstance(item, dict) or not isinstance(item.get("candidate"), str):
                raise HTTPError(400, f"candidates[{i}] must be an object with a 'candidate' string")
            text = item["candidate"].strip()
            if not text:
                parsed.append(None)  # end of candidates
                continue
            mid, index = item.get("sdp_mid"), item.get("sdp_mline_index")
            if mid is None and index is None:
                raise HTTPError(400, f"candidates[{i}] needs sdp_mid or sdp_mline_index")
            try:
                candidate = candidate_from_sdp(text.removeprefix("candidate:"))
            except (AssertionError, ValueError, IndexError):
                raise HTTPError(400, f"candidates[{i}] is not an ICE candidate line") from None
            candidate.sdpMid = mid if isinstance(mid, str) else None
            candidate.sdpMLineIndex = index if isinstance(index, int) else None
            parsed.append(candidate)
        for candidate in parsed:
            try:
                await connection.add_ice_candidate(candidate)
            except Exception as exc:
                raise HTTPError(400, f"cannot add ICE candidate: {exc}") from None
        return JSONResponse({"status": "ok", "added": len(parsed)})

    async def action(self, request: Request) -> Response:
        body = await read_json(request)
        try:
            calls = parse_actions(body)
        except RequestError as exc:
            raise HTTPError(400, str(exc)) from None
        assert isinstance(body, dict)
        session_id = body.get("sessionId", body.get("session_id"))
        if session_id is not None:
            if not isinstance(session_id, str) or session_id not in self.sessions:
                raise HTTPError(404, f"unknown session {session_id!r}")
            session = self.sessions[session_id]
            if session.conversation is None:
                session.conversation = DisconnectedConversation(session.settings())
            conversation = session.conversation
        else:
            conversation = DisconnectedConversation(BotSettings())
        return StreamingResponse(
            stream_actions(conversation, calls),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # -- helpers --------------------------------------------------------------------------

    def _session(self, request: Request) -> Session:
        session_id = request.path_params["session_id"]
        session = self.sessions.get(session_id)
        if session is None:
            raise HTTPError(404, f"unknown session {session_id!r}: call /start first")
        return session

    def _evict(self) -> None:
        """Forget the oldest sessions without clients once there are too many."""
        while len(self.sessions) >= MAX_SESSIONS:
            idle = next(
                (s for s in self.sessions.values() if not s.connections and not s.websockets), None
            )
            if idle is None:
                raise HTTPError(503, "too many active sessions")
            del self.sessions[idle.id]

    def _launch(self, session: Session, connection: SmallWebRTCConnection) -> None:
        async def on_closed(conn: SmallWebRTCConnection) -> None:
            for key in [k for k, v in session.connections.items() if v is conn]:
                del session.connections[key]

        connection.add_event_handler("closed", on_closed)

        async def run() -> None:
            try:
                await self.flavor.run_bot(connection, session)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(f"session {session.id}: bot failed")
            finally:
                with contextlib.suppress(Exception):
                    await connection.disconnect()
                for key in [k for k, v in session.connections.items() if v is connection]:
                    del session.connections[key]
                logger.info(f"session {session.id}: bot for {connection.pc_id} ended")

        task = asyncio.create_task(run(), name=f"bot-{connection.pc_id}")
        self.bots.add(task)
        task.add_done_callback(self.bots.discard)
        self.half_open[connection] = (time.monotonic() + HALF_OPEN_TIMEOUT, task)
        task.add_done_callback(lambda _: self.half_open.pop(connection, None))

    def reap(self) -> None:
        """End what stayed half-open past `HALF_OPEN_TIMEOUT`: bots whose peer never connected
        (pipecat itself only gives up after minutes, or never while ICE has not started), and
        sessions that were started but never offered."""
        now = time.monotonic()
        for connection, (deadline, task) in list(self.half_open.items()):
            if connection.is_connected():
                del self.half_open[connection]
            elif now >= deadline:
                del self.half_open[connection]
                self.reaped += 1
                logger.info(f"bot for {connection.pc_id}: peer never connected, ending it")
                task.cancel()
        wall = time.time()
        for session in list(self.sessions.values()):
            idle = not session.connections and session.conversation is None
            if idle and wall - session.created >= HALF_OPEN_TIMEOUT:
                del self.sessions[session.id]

    async def reaper(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, HALF_OPEN_TIMEOUT / 4))
            try:
                self.reap()
                if self.bots:
                    self._busy = True
                elif self._busy:  # the last pipeline has just ended
                    self._busy = False
                    if MALLOC_TRIM:
                        release_memory()
                        self.trims += 1
            except Exception:
                logger.exception("reaping half-open sessions failed")

    async def shutdown(self) -> None:
        """Stop every running bot (used on SIGTERM/SIGINT)."""
        tasks = list(self.bots)
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
            if pending:
                logger.warning(f"{len(pending)} bot(s) did not stop in {SHUTDOWN_GRACE} s")


def release_memory() -> None:
    """Collect cycles and hand freed heap back to the system (glibc keeps it otherwise: after a
    burst of pipelines the process stays at its peak; see docs/reliability.md)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _guard(
    handler: Callable[[Request], Awaitable[Response]], *, open_access: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    token = os.environ.get("PYRTVI_BOT_TOKEN", "")

    async def guarded(request: Request) -> Response:
        if token and not open_access:
            sent = request.headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(sent.encode(), token.encode()):
                return JSONResponse({"detail": "missing or wrong bot token"}, status_code=401)
        try:
            return await handler(request)
        except HTTPError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    return guarded


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path 404, wrong method 405) as JSON too."""
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.opt(exception=exc).error(f"{request.method} {request.url.path} failed")
    return JSONResponse({"detail": f"internal error: {exc}"}, status_code=500)


def create_app(flavor: Flavor) -> Starlette:
    service = SessionRoutes(flavor)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        logger.info(f"bot ready: pipecat {flavor.pipecat_version}, RTVI {flavor.rtvi_version}")
        reaper = asyncio.create_task(service.reaper(), name="half-open-reaper")
        yield
        reaper.cancel()
        await service.shutdown()

    offer_path = "/sessions/{session_id}/api/offer"
    routes = [
        Route("/health", _guard(service.health, open_access=True), methods=["GET"]),
        Route("/load", _guard(service.load), methods=["GET"]),
        Route("/start", _guard(service.start), methods=["POST"]),
        Route(offer_path, _guard(service.offer), methods=["POST"]),
        Route(offer_path, _guard(service.ice_candidates), methods=["PATCH"]),
        Route("/action", _guard(service.action), methods=["POST"]),
        WebSocketRoute("/ws", lambda ws: serve_websocket(service, ws)),
        WebSocketRoute(
            "/sessions/{session_id}/ws", lambda ws: serve_websocket(service, ws), name="session_ws"
        ),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={StarletteHTTPException: _http_error, Exception: _internal_error},
    )
    app.state.service = service
    return app
