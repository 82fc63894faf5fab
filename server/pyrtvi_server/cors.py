"""CORS for the RTVI endpoints (`/connect`, `/start`, `/action`, `/sessions/...`).

Policy: the page's own origin always works; other origins only when listed in
`Settings.allowed_origins` (no wildcard, ever). A preflight from an allowed origin may ask for any
request header (the client adds `params.headers`), unless `Settings.allowed_headers` narrows that.
Requests from any other origin are refused with 403 *before* they reach the bot service: a
browser would hide the answer from the page anyway, but the bot would already have been started.
No credentials are involved (the client sends none), so no `Access-Control-Allow-Credentials`.

Static files are not covered here: they are public and carry `Access-Control-Allow-Origin: *`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyrtvi_server.urls import route_path

#: Paths under CORS control, with the methods a preflight may ask for.
RTVI_EXACT = {"/connect": ("POST",), "/action": ("POST",), "/start": ("POST",)}
RTVI_PREFIX = ("/sessions/", ("POST", "PATCH"))
#: Headers a browser never needs permission for (CORS-safelisted); always acceptable.
SAFELISTED = {"accept", "accept-language", "content-language", "content-type"}
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_AGE = "600"


def normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None]:
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        return netloc.lower(), None
    default = 443 if scheme == "https" else 80
    return (parts.hostname or "").lower(), port or default


def same_origin(origin: str, host_header: str | None) -> bool:
    """Origin names the host the request was sent to (scheme ignored: TLS may end at a proxy)."""
    if not host_header:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    return _host_port(parts.netloc, parts.scheme) == _host_port(host_header, parts.scheme)


def origin_permitted(origin: str, allowed: set[str], host_header: str | None) -> bool:
    """The policy: `origin` is listed in `allowed` (normalized) or is the server's own."""
    return normalize_origin(origin) in allowed or same_origin(origin, host_header)


class RTVICors:
    """Pure ASGI middleware (streams pass through untouched, no buffering)."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_origins: Iterable[str] = (),
        allowed_headers: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.allowed_origins = {normalize_origin(o) for o in allowed_origins}
        self.allowed_headers = {h.strip().lower() for h in allowed_headers if h.strip()}

    @staticmethod
    def methods_for(path: str) -> tuple[str, ...] | None:
        if path in RTVI_EXACT:
            return RTVI_EXACT[path]
        if path.startswith(RTVI_PREFIX[0]):
            return RTVI_PREFIX[1]
        return None

    def origin_allowed(self, origin: str, headers: Headers) -> bool:
        return origin_permitted(origin, self.allowed_origins, headers.get("host"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        methods = self.methods_for(route_path(scope))
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if methods is None or origin is None:
            await self.app(scope, receive, send)
            return
        allowed = self.origin_allowed(origin, headers)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self.preflight(origin, allowed, methods, headers, send)
            return
        if not allowed:
            await refuse(send, f"origin {origin!r} may not call this server")
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                raw.append((b"access-control-allow-origin", origin.encode("latin-1")))
                raw.append((b"vary", b"Origin"))
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def preflight(
        self,
        origin: str,
        allowed: bool,
        methods: tuple[str, ...],
        headers: Headers,
        send: Send,
    ) -> None:
        if not allowed:
            await refuse(send, f"origin {origin!r} may not call this server", preflight=True)
            return
        method = headers["access-control-request-method"].strip().upper()
        if method not in methods:
            await refuse(send, f"method {method} is not allowed here", preflight=True)
            return
        requested = [
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        ]
        bad = [h for h in requested if not TOKEN.match(h)]
        if self.allowed_headers:
            bad += [h for h in requested if h not in self.allowed_headers | SAFELISTED]
        if bad:
            await refuse(send, f"request headers not allowed: {', '.join(bad)}", preflight=True)
            return
        reply = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ", ".join(methods).encode()),
            (b"access-control-max-age", MAX_AGE.encode()),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            (b"content-length", b"0"),
        ]
        if requested:
            reply.append((b"access-control-allow-headers", ", ".join(requested).encode()))
        if headers.get("access-control-request-private-network", "").lower() == "true":
            # Chrome's Private Network Access: a public page calling this (loopback) server.
            reply.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": reply})
        await send({"type": "http.response.body", "body": b""})


async def refuse(send: Send, detail: str, *, preflight: bool = False) -> None:
    error = "CORS preflight refused" if preflight else "cross-origin request refused"
    body = json.dumps({"error": error, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"vary", b"Origin"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
