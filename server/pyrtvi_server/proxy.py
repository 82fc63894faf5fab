"""The RTVI developer endpoints: `/connect`, `/sessions/{id}/offer`, `/action`, and the Pipecat
runner's `/start` and `/sessions/{id}/api/offer` (contract in `pyrtvi_server.runner`).

Each validates the browser's request, adds the server-side extras (`Settings.bot_extra`,
`Settings.bot_headers` via the upstream client) and forwards it to the configured bot service.
Every failure is a JSON `{"error": ..., "detail": ...}` answer with a 4xx/5xx status.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from pyrtvi_server.bots import BotService
from pyrtvi_server.config import Settings, server_config_options
from pyrtvi_server.guard import (
    DEFAULT_ALLOWED,
    CandidatePolicy,
    Secrets,
    loads_json,
)
from pyrtvi_server.limits import ConnectLimits
from pyrtvi_server.models import (
    SESSION_ID_RE,
    ActionRequest,
    AnswerReply,
    ConnectRequest,
    IcePatch,
    OfferRequest,
    StartReply,
)
from pyrtvi_server.runner import RunnerStartRequest, deep_merge, runner_body, start_request
from pyrtvi_server.state import ReplicaCounts, SharedState, create_state
from pyrtvi_server.upstream import ProxyError, UpstreamReply
from pyrtvi_server.urls import app_url
from pyrtvi_server.wsrelay import WebSocketRelay

log = logging.getLogger("pyrtvi.proxy")

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]


def error_response(exc: ProxyError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.error, "detail": exc.detail}, status_code=exc.status, headers=exc.headers
    )


#: Disconnected actions that read back what the bot was configured with.
READ_BACK_ACTIONS = {"get_context", "get_config", "describe_config"}


async def read_json(request: Request, max_bytes: int, *, empty: object = None) -> object:
    """The request body as JSON, refusing oversized (413), non-JSON (415) and malformed (400) ones."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise ProxyError(
            415,
            "unsupported content type",
            f"send Content-Type: application/json, not {content_type}",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ProxyError(413, "request body too large", f"the limit is {max_bytes} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise ProxyError(413, "request body too large", f"the limit is {max_bytes} bytes")
    except ClientDisconnect:
        raise ProxyError(400, "request body incomplete", "the client disconnected") from None
    if not body.strip() and empty is not None:
        return empty
    try:
        return loads_json(bytes(body))
    except ValueError as exc:
        raise ProxyError(400, "invalid JSON", str(exc)) from None


def validate(model: type[M], data: object) -> M:
    if not isinstance(data, dict):
        raise ProxyError(422, "invalid request", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "loc": ".".join(str(part) for part in error["loc"]),
                "msg": error["msg"],
                "type": error["type"],
            }
            for error in exc.errors(include_url=False, include_input=False)[:20]
        ]
        raise ProxyError(422, "invalid request", errors) from None
    except RecursionError:
        raise ProxyError(400, "invalid JSON", "nested too deeply") from None


def parse_reply(model: type[M], reply: UpstreamReply) -> M:
    try:
        return model.model_validate(reply.json())
    except (ValueError, ValidationError, RecursionError) as exc:
        log.warning("bot service sent an invalid %s: %s", model.__name__, exc)
        raise ProxyError(
            502, "bot service error", f"the bot service sent an invalid {model.__name__}"
        ) from None


def ice_servers(reply: StartReply) -> list[dict[str, Any]]:
    ice = reply.iceConfig.iceServers if reply.iceConfig else []
    return [server.model_dump(exclude_none=True) for server in ice]


def session_id_of(request: Request) -> str:
    session_id = str(request.path_params["session_id"])
    if not SESSION_ID_RE.match(session_id):
        raise ProxyError(
            400, "invalid session id", "session ids are 1-128 letters, digits, '-' or '_'"
        )
    return session_id


def client_host(request: Request) -> str:
    """The address the per-client limits count: uvicorn's view, which is the `X-Forwarded-For`
    address only when the connection comes from `--forwarded-allow-ips`."""
    return request.client.host if request.client else "?"


def guarded(handler: Handler, secrets: Secrets | None = None) -> Handler:
    """Turn `ProxyError`s (and anything unexpected) into JSON answers; a (non-streamed) answer
    that would carry a configured secret becomes a 502 instead (last line of defence)."""

    async def endpoint(request: Request) -> Response:
        try:
            response = await handler(request)
            body = bytes(response.body) if isinstance(response, JSONResponse) else b""
            if secrets and secrets.found_in(body.decode("utf-8", errors="replace")):
                log.warning("%s answer held a configured secret: withheld", request.url.path)
                raise ProxyError(
                    502, "bot service error", "the answer was withheld (see the server log)"
                )
            return response
        except ProxyError as exc:
            return error_response(exc)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return JSONResponse(
                {"error": "internal error", "detail": "see the server log"}, status_code=500
            )

    endpoint.__name__ = handler.__name__
    return endpoint


def server_sets_config(extra: dict[str, Any]) -> bool:
    return bool(server_config_options(extra))


def candidate_policy(settings: Settings) -> CandidatePolicy:
    if settings.ice_allow is not None:
        return CandidatePolicy(settings.ice_allow)
    return CandidatePolicy(DEFAULT_ALLOWED)


def connect_limits(settings: Settings) -> ConnectLimits:
    return ConnectLimits.from_settings(settings)


@dataclass(frozen=True)
class SessionStart:
    """What one admitted session start asks of the bot service."""

    #: The bot's request data (`runner_args.body`), for a WebSocket session's relay.
    body: dict[str, Any]
    #: The upstream `/start` of a WebRTC session.
    start: dict[str, Any]
    #: The relay's session id and reply for a WebSocket session (`WebSocketRelay.connect` or
    #: `.start`); None: a WebRTC session, answered by `answer` from the bot's start reply.
    relay: Callable[[Request, dict[str, Any]], Awaitable[tuple[str, JSONResponse]]] | None
    answer: Callable[[Request, StartReply], Response]


class ProxyRoutes:
    """The RTVI endpoints over one bot service, its admission limits and the WebSocket relay."""

    def __init__(
        self,
        settings: Settings,
        bots: BotService,
        limits: ConnectLimits | None = None,
        state: SharedState | None = None,
    ) -> None:
        self.settings = settings
        self.bots = bots
        self.limits = limits or connect_limits(settings)
        self.extra = dict(settings.bot_extra)
        extra_request_data = self.extra.get("request_data")
        self.action_extra: dict[str, Any] = (
            dict(extra_request_data) if isinstance(extra_request_data, dict) else {}
        )
        self.secrets = Secrets.from_config(settings.bot_extra, settings.bot_headers)
        self.policy = candidate_policy(settings)
        self.hide_config = server_sets_config(self.extra) and not settings.expose_server_config
        self.relay = WebSocketRelay(settings, bots)
        #: Admission and relay sessions: this process's memory, or Redis shared by replicas.
        self.state = state or create_state(
            settings, self.limits, self.relay.sessions, self.replica_counts
        )
        self.relay.state = self.state

    def replica_counts(self) -> ReplicaCounts:
        """This replica's own load, for the `/health` of every replica (Redis)."""
        return ReplicaCounts(relayed_sockets=self.relay.open_sockets)

    def routes(self) -> list[BaseRoute]:
        secrets = self.secrets
        return [
            Route("/connect", guarded(self.connect, secrets), methods=["POST"], name="connect"),
            # The offer URL pyrtvi's auth bundle names, and the one the runner contract derives.
            *(
                Route(path, guarded(self.offer, secrets), methods=["POST", "PATCH"], name=name)
                for path, name in (
                    ("/sessions/{session_id}/offer", "offer"),
                    ("/sessions/{session_id}/api/offer", "runner_offer"),
                )
            ),
            Route("/action", guarded(self.action, secrets), methods=["POST"], name="action"),
            Route("/start", guarded(self.start, secrets), methods=["POST"], name="start"),
            *self.relay.routes(),
        ]

    async def admit(self, request: Request, session: SessionStart) -> Response:
        """The one way a session starts: admit the client, then the relay or the bot service's
        `/start`, then count the session as started."""
        reservation = await self.state.admit(
            client_host(request), await self.bots.active_sessions()
        )
        try:
            if session.relay is not None:
                session_id, relayed = await session.relay(request, session.body)
            else:
                upstream = await self.bots.upstream()  # after validation: bad input waits not
                reply = parse_reply(StartReply, await upstream.start(session.start))
                session_id = reply.sessionId
        except BaseException:
            with contextlib.suppress(ProxyError):  # unreachable state: the start lapses alone
                await self.state.cancel(reservation)
            raise
        try:
            await self.state.started(reservation, session_id)
        except ProxyError as exc:  # the session exists: it counts as half-open till its window ends
            log.warning("session %s started uncounted: %s", session_id, exc)
        if session.relay is not None:
            return relayed
        self.bots.session_started(reply.sessionId)
        return session.answer(request, reply)

    async def connect(self, request: Request) -> Response:
        data = await read_json(request, self.settings.max_body_bytes, empty={})
        websocket = isinstance(data, dict) and data.get("transport") == "websocket"
        if websocket:
            assert isinstance(data, dict)
            data = {k: v for k, v in data.items() if k != "transport"}
        body = validate(ConnectRequest, data)
        request_data = body.bot_request_data()
        services = dict(body.services)
        config = [item.model_dump() for item in body.config]
        # The runner's body is the page's own request data: without the client's version stamp.
        page_data = {k: v for k, v in request_data.items() if k != "rtvi_client_version"}
        bot_body = runner_body(page_data, services, config)
        legacy = {"request_data": request_data, "services": services, "config": config}
        start = start_request(bot_body, self.extra, legacy=legacy)
        relay = self.relay.connect if websocket else None
        return await self.admit(request, SessionStart(bot_body, start, relay, self.bundle))

    def bundle(self, request: Request, reply: StartReply) -> Response:
        """`/connect`'s answer: pyrtvi's auth bundle."""
        offer_path = request.app.url_path_for("offer", session_id=reply.sessionId)
        return JSONResponse(
            {
                "session_id": reply.sessionId,
                "offer_url": app_url(self.settings, request) + offer_path,
                "ice_servers": ice_servers(reply),
            }
        )

    async def start(self, request: Request) -> Response:
        """A Pipecat runner's `/start`: the bot's request data is `body`; `{sessionId, iceConfig}`."""
        data = await read_json(request, self.settings.max_body_bytes, empty={})
        body = validate(RunnerStartRequest, data)
        bot_body = dict(body.body)
        forwarded = start_request(
            bot_body, self.extra, enable_default_ice_servers=body.enableDefaultIceServers
        )
        relay = self.relay.start if body.transport == "websocket" else None
        return await self.admit(request, SessionStart(bot_body, forwarded, relay, runner_reply))

    async def offer(self, request: Request) -> Response:
        session_id = session_id_of(request)
        data = await read_json(request, self.settings.max_body_bytes)
        self.bots.check_session(session_id)
        if request.method == "PATCH":
            patch = validate(IcePatch, data)
            for i, item in enumerate(patch.candidates):
                why = self.policy.refusal(item.candidate)
                if why:
                    raise ProxyError(
                        400, "ICE candidate refused", f"candidates[{i}]: {why} (see --ice-allow)"
                    )
            await (await self.bots.upstream()).ice(session_id, patch.model_dump())
            return Response(status_code=204)
        body = validate(OfferRequest, data)
        body.sdp, dropped = self.policy.filter_sdp(body.sdp)  # candidates in the offer itself
        if dropped:
            log.info("offer for %s: dropped candidates: %s", session_id, "; ".join(dropped))
        upstream = await self.bots.upstream()
        answer = parse_reply(AnswerReply, await upstream.offer(session_id, body.upstream_body()))
        try:
            await self.state.offered(session_id)  # no longer half-open (the global cap)
        except ProxyError as exc:
            log.warning("offer for %s uncounted: %s", session_id, exc)
        return JSONResponse(answer.model_dump())

    async def action(self, request: Request) -> Response:
        body = validate(ActionRequest, await read_json(request, self.settings.max_body_bytes))
        if self.hide_config:
            for message in body.actions:
                if message.data.action in READ_BACK_ACTIONS:
                    raise ProxyError(
                        403,
                        "action not allowed",
                        f"{message.data.service}:{message.data.action} would read back "
                        "server-side configuration (PYRTVI_EXPOSE_SERVER_CONFIG allows it)",
                    )
        upstream = await self.bots.upstream()
        forwarded = deep_merge(body.model_dump(), self.action_extra)
        reply = await upstream.stream("POST", "/action", forwarded)
        return StreamingResponse(
            reply.chunks(),
            background=BackgroundTask(reply.aclose),
            status_code=reply.status,
            media_type=None,
            headers={
                "Content-Type": reply.content_type,
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            },
        )


def runner_reply(request: Request, reply: StartReply) -> Response:
    """`/start`'s answer, a runner's. The client derives the offer URL from this endpoint:
    `/sessions/{id}/api/offer` here."""
    return JSONResponse(
        {"sessionId": reply.sessionId, "iceConfig": {"iceServers": ice_servers(reply)}}
    )
