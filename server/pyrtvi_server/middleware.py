"""What wraps every route: security headers and the trusted-host check, and errors as JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyrtvi_server.static import json_error

log = logging.getLogger("pyrtvi.server")

#: On every response.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
#: On HTML pages as well. Scripts are not restricted (PyScript evaluates code and compiles wasm);
#: plugins, base-URL hijacking and framing by other sites are.
PAGE_HEADERS = [
    (b"content-security-policy", b"object-src 'none'; base-uri 'self'; frame-ancestors 'self'"),
    (b"x-frame-options", b"SAMEORIGIN"),
]


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every answer; with `trusted_hosts`, a request
    naming any other `Host` is refused (400) before it reaches a route (no DNS rebinding, no
    reflected host in the URLs the server builds)."""

    def __init__(self, app: ASGIApp, trusted_hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted_hosts = {h.lower() for h in trusted_hosts}

    def host_trusted(self, host: str) -> bool:
        host = host.lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return host in self.trusted_hosts or name in self.trusted_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.trusted_hosts:
            host = Headers(scope=scope).get("host", "")
            if not self.host_trusted(host):
                response = JSONResponse(
                    {"error": "untrusted host", "detail": f"this server does not serve {host!r}"},
                    status_code=400,
                )
                await response(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                raw += SECURITY_HEADERS
                content_type = dict(raw).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    raw += PAGE_HEADERS
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path 404, wrong method 405) in the documented JSON shape."""
    assert isinstance(exc, HTTPException)
    error = exc.detail.lower() if isinstance(exc.detail, str) else "error"
    detail = f"{request.method} {request.url.path}: {exc.detail}"
    return json_error(exc.status_code, error, detail, exc.headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return json_error(500, "internal error", "see the server log")


class LifespanGuard:
    """Pure ASGI middleware: until `started()` says the app's lifespan has run (the bot service
    started), every request gets one clear error instead of a page that half loads. Starlette
    never runs a mounted app's lifespan: `pyrtvi_server.mount` chains it into the parent's."""

    DETAIL = (
        "pyrtvi's lifespan has not run: a Starlette or FastAPI app does not run a mounted app's "
        "lifespan. Mount it with pyrtvi_server.mount(app, '/rtvi', ...), which chains it into "
        "your app's, or enter create_app(...).router.lifespan_context in your own lifespan"
    )

    def __init__(self, app: ASGIApp, started: Callable[[], bool]) -> None:
        self.app = app
        self.started = started
        self.logged = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or self.started():
            await self.app(scope, receive, send)
            return
        if not self.logged:
            log.error("%s", self.DETAIL)
            self.logged = True
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1011, "reason": "pyrtvi not started"})
            return
        response = json_error(503, "pyrtvi not started", self.DETAIL)
        await response(scope, receive, send)
