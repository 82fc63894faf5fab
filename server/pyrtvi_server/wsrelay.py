"""WebSocket sessions through `pyrtvi serve`: the bot's socket behind a URL on our own server.

`/start {"transport": "websocket"}` (the Pipecat runner's contract) and `/connect` with
`"transport": "websocket"` ask the bot service's own `/start {"transport": "websocket"}` for its
`wsUrl` (plus `token`, when it gives one), keep that URL here, and answer a URL of ours instead:
`ws(s)://<our host>/sessions/{id}/ws`. A browser that connects there is relayed, frame for frame
and type for type (binary protobuf, text), to the bot's endpoint; the bot's address never reaches
the browser. A later socket on the same session (a reconnect) asks the bot's `/start` again, for a
fresh URL and token (a runner's `--ws-auth token` tokens are good for one socket). The remote runner and the embedded bot are asked the same way, so an embedded bot
with a WebSocket endpoint needs nothing more here.

Refusals accept the socket and close it at once with a code and a reason the page can read:

====  ======================================================================================
4003  the page's Origin may not use this server (the CORS rules: own origin or an allowed one)
4404  no such session (never issued, or expired: it lives `session_ttl` seconds)
4409  the session already has a connected socket
1014  the bot's endpoint is unreachable or refused the socket
1009  a message over `max_message_bytes` (either way)
1008  the browser sent messages faster than `messages_per_second` (burst `burst`)
====  ======================================================================================

When either side closes, the other is closed too: the bot's close code and reason pass to the
browser as they are when a page may receive them, 1011 (or 1014 for a lost connection) otherwise.

A Pipecat runner (1.14) drops the `/start` body of a WebSocket session: its `/ws-client`
sessions get `runner_args.body` from the file named by its `--runner-body PATH`, read as each
socket opens. With `runner_body_file` set to that path, the relay writes each session's body
there just before it opens the bot's socket (:class:`RunnerBodyFile`), so the bot gets the
session's own request data as a WebRTC session does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import websockets
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection

from pyrtvi_server.bots import BotService
from pyrtvi_server.config import Settings
from pyrtvi_server.cors import origin_permitted
from pyrtvi_server.limits import TokenBucket as TokenBucket  # the relay's rate limit
from pyrtvi_server.models import SESSION_ID_RE
from pyrtvi_server.runner import start_request
from pyrtvi_server.upstream import ProxyError, UpstreamReply
from pyrtvi_server.urls import app_url

log = logging.getLogger("pyrtvi.wsrelay")

#: Close codes a server may send and a page may see as they are (RFC 6455 §7.4, the registry).
PASSABLE_CODES = frozenset({1000, 1001, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})
#: A close reason is at most 123 bytes of UTF-8.
MAX_REASON_BYTES = 123


@dataclass(frozen=True)
class RelayLimits:
    """Bounds of one relayed session (the JS transport's own limit is 1 MiB per message)."""

    max_message_bytes: int = 1024 * 1024
    #: Browser → bot messages: 16 kHz mic audio in 512-sample chunks is ~31 a second.
    messages_per_second: float = 200.0
    burst: int = 400
    #: Seconds an issued session URL stays valid (reconnects to it included).
    session_ttl: float = 300.0
    max_sessions: int = 1024


class Refusal(Exception):
    """Close the browser's socket with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


@dataclass
class Target:
    """Where one session's socket goes: the bot's `wsUrl` (with its token), and the `/start`
    that gave it (asked again for each later socket: a runner's token is good for one)."""

    url: str
    start: dict[str, Any]
    issued: float
    connected: bool = False
    used: bool = False


class Sessions:
    """Issued session URLs: id → the bot's endpoint, bounded in number and lifetime."""

    def __init__(self, limits: RelayLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._targets: OrderedDict[str, Target] = OrderedDict()

    def issue(self, url: str, start: dict[str, Any]) -> str:
        self._expire()
        session_id = secrets.token_urlsafe(18)
        self._targets[session_id] = Target(url, start, self.clock())
        while len(self._targets) > self.limits.max_sessions:
            self._targets.popitem(last=False)
        return session_id

    def claim(self, session_id: str) -> Target:
        """The session's target, marked connected; a `Refusal` when there is none to have."""
        self._expire()
        target = self._targets.get(session_id) if SESSION_ID_RE.match(session_id) else None
        if target is None:
            raise Refusal(4404, "unknown or expired session: start a new one")
        if target.connected:
            raise Refusal(4409, "this session already has a connected socket")
        target.connected = True
        return target

    def release(self, target: Target) -> None:
        target.connected = False

    def _expire(self) -> None:
        now = self.clock()
        for session_id, target in list(self._targets.items()):
            if now - target.issued > self.limits.session_ttl and not target.connected:
                del self._targets[session_id]


class RunnerBodyFile:
    """Hands each session's body to a runner through its `--runner-body` file, one session at a
    time: the file is written, the bot's socket opened, and the next session waits until the
    bot has sent its first message (then it surely read the file) or `timeout` seconds."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = asyncio.Lock()

    async def hand(self, body: Any) -> Callable[[], None]:
        """Write ``body`` for the next socket; the callable lets the next session go."""
        await self._lock.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                timer.cancel()
                self._lock.release()

        timer = asyncio.get_running_loop().call_later(self.timeout, release)
        try:
            await asyncio.to_thread(self.path.write_text, json.dumps(body))
        except BaseException:
            release()
            raise
        return release


def _nothing() -> None:
    pass


def bot_ws_url(reply: UpstreamReply) -> str:
    """The bot's socket URL from its `/start` answer (`wsUrl`/`ws_url`, `token` appended)."""
    try:
        data: Any = reply.json()
    except (ValueError, RecursionError):
        data = None
    url = data.get("wsUrl", data.get("ws_url")) if isinstance(data, dict) else None
    if not isinstance(url, str) or urlsplit(url).scheme not in {"ws", "wss"}:
        log.warning("bot service /start for a websocket session gave no ws(s) URL: %.200r", data)
        raise ProxyError(
            502,
            "bot service error",
            "the bot service offers no WebSocket sessions (its /start answered no ws:// or "
            "wss:// wsUrl)",
        )
    token = data.get("token")
    if isinstance(token, str) and token:
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}token={token}"
    return url


def reason_text(reason: str) -> str:
    encoded = reason.encode()
    if len(encoded) <= MAX_REASON_BYTES:
        return reason
    return encoded[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


def size_of(data: str | bytes) -> int:
    return len(data.encode()) if isinstance(data, str) else len(data)


class WebSocketRelay:
    """The websocket half of `/start` and `/connect`, and the `/sessions/{id}/ws` endpoint."""

    def __init__(
        self, settings: Settings, bots: BotService, limits: RelayLimits | None = None
    ) -> None:
        self.settings = settings
        self.bots = bots
        self.limits = limits or RelayLimits()
        self.sessions = Sessions(self.limits)
        self.allowed_origins = {o.strip().rstrip("/").lower() for o in settings.allowed_origins}
        path = settings.runner_body_file
        self.runner_body = RunnerBodyFile(path, settings.upstream_timeout) if path else None

    # -- issuing sessions -----------------------------------------------------------------------

    async def issue(self, request: Request, body: dict[str, Any]) -> str:
        """Ask the bot service for a websocket session; our URL for it."""
        upstream = await self.bots.upstream()
        start = start_request(body, dict(self.settings.bot_extra), transport="websocket")
        target = bot_ws_url(await upstream.start(start))
        session_id = self.sessions.issue(target, start)
        path = str(request.app.url_path_for("ws_relay", session_id=session_id))
        url = urlsplit(app_url(self.settings, request) + path)
        scheme = "wss" if url.scheme == "https" else "ws"
        return url._replace(scheme=scheme).geturl()

    async def start(self, request: Request, body: dict[str, Any]) -> JSONResponse:
        """`/start {"transport": "websocket"}`: `{"wsUrl"}` and nothing else.

        The official JS transport refuses any other key in its connection parameters (a runner's
        own `{wsUrl, sessionId, token: null}` fails its `startBotAndConnect`).
        """
        return JSONResponse({"wsUrl": await self.issue(request, body)})

    async def connect(self, request: Request, body: dict[str, Any]) -> JSONResponse:
        """`/connect` with `"transport": "websocket"`: pyrtvi's bundle, `{session_id, ws_url}`."""
        url = await self.issue(request, body)
        return JSONResponse({"session_id": url.rsplit("/", 2)[-2], "ws_url": url})

    # -- the relay ------------------------------------------------------------------------------

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/sessions/{session_id}/ws", self.endpoint, name="ws_relay")]

    def check_origin(self, websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        # No Origin: not a browser (which always sends one); the session id is the capability.
        if origin is not None and not origin_permitted(
            origin, self.allowed_origins, websocket.headers.get("host")
        ):
            raise Refusal(4003, f"origin {origin!r} may not use this server")

    async def endpoint(self, websocket: WebSocket) -> None:
        try:
            self.check_origin(websocket)
            target = self.sessions.claim(str(websocket.path_params["session_id"]))
        except Refusal as refusal:
            await self.refuse(websocket, refusal)
            return
        handed = _nothing
        try:
            if self.runner_body is not None:
                handed = await self.runner_body.hand(target.start.get("body"))
            try:
                bot = await self.open_bot(target, websocket)
            except Refusal as refusal:
                await self.refuse(websocket, refusal)
                return
            await websocket.accept()
            try:
                await self.pump(websocket, bot, target, handed)
            finally:
                await bot.close()
        finally:
            handed()
            self.sessions.release(target)

    async def refuse(self, websocket: WebSocket, refusal: Refusal) -> None:
        log.info("websocket %s refused: %s", websocket.url.path, refusal)
        await websocket.accept()
        await websocket.close(refusal.code, reason_text(refusal.reason))

    async def bot_url(self, target: Target) -> str:
        """The first socket takes the issued URL; a reconnect asks the bot's `/start` anew."""
        if not target.used:
            target.used = True
            return target.url
        try:
            upstream = await self.bots.upstream()
            target.url = bot_ws_url(await upstream.start(target.start))
        except ProxyError as exc:
            raise Refusal(1014, f"the bot service refused a new socket: {exc.error}") from None
        return target.url

    async def open_bot(self, target: Target, websocket: WebSocket) -> ClientConnection:
        origin = websocket.headers.get("origin")
        url = await self.bot_url(target)
        try:
            upstream = await self.bots.upstream()
        except ProxyError as exc:
            raise Refusal(1014, f"no bot service: {exc.error}") from None
        try:
            return await websockets.connect(
                url,
                origin=websockets.Origin(origin) if origin else None,
                additional_headers=upstream.headers,
                max_size=self.limits.max_message_bytes,
                open_timeout=self.settings.upstream_timeout,
                proxy=None,
                compression=None,
            )
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            log.warning("the bot refused the websocket: HTTP %s", status)
            raise Refusal(1014, f"the bot refused the connection (HTTP {status})") from None
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            log.warning("the bot's websocket is unreachable: %r", exc)
            raise Refusal(1014, "the bot is unreachable (see the server log)") from None

    async def pump(
        self,
        websocket: WebSocket,
        bot: ClientConnection,
        target: Target,
        first_message: Callable[[], None] = _nothing,
    ) -> None:
        """Frames both ways until one side closes or breaks a limit; then close the other.
        ``first_message`` is called when the bot's first message arrives."""
        to_bot = asyncio.create_task(self.browser_to_bot(websocket, bot))
        to_browser = asyncio.create_task(self.bot_to_browser(websocket, bot, first_message))
        done, pending = await asyncio.wait({to_bot, to_browser}, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        error = to_bot.exception() if to_bot in done else None
        # A send to a bot that has just closed: its side ended, as below.
        if to_bot in done and not isinstance(error, websockets.ConnectionClosed):
            if isinstance(error, Refusal):  # a limit: the browser is told why, the bot goes
                log.info("websocket %s closed: %s", websocket.url.path, error)
                await self.close_browser(websocket, error.code, error.reason)
                await bot.close(1001, "the client broke a relay limit")
            elif error is not None:
                log.warning("websocket relay to the bot failed: %r", error)
                await self.close_browser(websocket, 1011, "relay error (see the server log)")
            else:  # the browser left: its session is free for a reconnect at once
                self.sessions.release(target)
                await bot.close(1000, "the client left")
            return
        code, reason = self.browser_close_for(bot)
        await self.close_browser(websocket, code, reason)

    async def browser_to_bot(self, websocket: WebSocket, bot: ClientConnection) -> None:
        bucket = TokenBucket(self.limits.messages_per_second, self.limits.burst)
        limit = self.limits.max_message_bytes
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data: str | bytes | None = message.get("bytes")
            if data is None:
                data = message.get("text")
            if data is None:
                continue
            if size_of(data) > limit:
                raise Refusal(1009, f"message of {size_of(data)} bytes: the limit is {limit}")
            if not bucket.take():
                raise Refusal(
                    1008,
                    f"more than {self.limits.messages_per_second:g} messages a second "
                    f"(burst {self.limits.burst})",
                )
            await bot.send(data)

    async def bot_to_browser(
        self,
        websocket: WebSocket,
        bot: ClientConnection,
        first_message: Callable[[], None] = _nothing,
    ) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for data in bot:
                first_message()
                if isinstance(data, bytes):
                    await websocket.send_bytes(data)
                else:
                    await websocket.send_text(data)

    def browser_close_for(self, bot: ClientConnection) -> tuple[int, str]:
        """What the browser hears when the bot's side ended."""
        received = bot.protocol.close_rcvd
        if received is None:  # no close frame: the connection broke, or we closed it (1009)
            sent = bot.protocol.close_sent
            if sent is not None and sent.code == 1009:
                limit = self.limits.max_message_bytes
                return 1009, f"the bot sent a message over the limit of {limit} bytes"
            return 1014, "the connection to the bot was lost"
        if received.code in PASSABLE_CODES or 3000 <= received.code <= 4999:
            return received.code, received.reason or "the bot closed the connection"
        return 1011, f"the bot closed the connection ({received.code})"

    async def close_browser(self, websocket: WebSocket, code: int, reason: str) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(code, reason_text(reason))
