"""The Starlette application: page, offline runtime, client package, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyrtvi_server import __version__, proxy
from pyrtvi_server.bots import create_bot_service
from pyrtvi_server.config import Settings
from pyrtvi_server.cors import RTVICors
from pyrtvi_server.runtime import Runtime
from pyrtvi_server.static import (
    IMMUTABLE,
    REVALIDATE,
    Asset,
    AssetCache,
    AssetDirectory,
    asset_response,
    package_zip,
)

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
    return JSONResponse(
        {
            "error": exc.detail.lower() if isinstance(exc.detail, str) else "error",
            "detail": f"{request.method} {request.url.path}: {exc.detail}",
        },
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def internal_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"error": "internal error", "detail": "see the server log"}, status_code=500
    )


def pyscript_config(runtime: Runtime, origin: str = "") -> dict[str, object]:
    """PyScript config: the local interpreter and the client package unpacked onto sys.path.

    ``origin`` (e.g. ``http://127.0.0.1:8000``) makes the URLs absolute, so that a page on
    another origin that uses this config loads everything from this server.
    """
    return {
        "interpreter": f"{origin}{runtime.pyodide_url}/pyodide.mjs",
        "files": {f"{origin}/py/rtvi.zip": "./*"},
    }


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    runtime = Runtime.locate(settings.node_modules)
    bots = create_bot_service(settings)  # raises BotSetupError, e.g. for a missing bot venv
    cache = AssetCache()
    limits = proxy.connect_limits(settings)
    pyodide_files = AssetDirectory(runtime.pyodide_dir, cache, IMMUTABLE)
    pyscript_files = AssetDirectory(runtime.pyscript_dir, cache, IMMUTABLE)
    web = settings.web_dir

    def render_page(name: str) -> Asset:
        """An HTML page with the runtime URLs filled in (they carry the pinned versions)."""
        raw = cache.get(web / name)
        html = (
            raw.body.decode()
            .replace("{{PYSCRIPT_URL}}", runtime.pyscript_url)
            .replace("{{PYODIDE_URL}}", runtime.pyodide_url)
        )
        return AssetCache._build(html.encode(), ".html")

    async def index(request: Request) -> Response:
        return asset_response(request, render_page("index.html"), REVALIDATE)

    async def config(request: Request) -> Response:
        origin = proxy.public_base(settings, request)
        headers = {"Cache-Control": REVALIDATE, "Vary": "Host"}
        response = JSONResponse(pyscript_config(runtime, origin), headers=headers)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def pyscript_core(request: Request) -> Response:
        """A stable URL for embedding pages: redirects to the pinned, versioned PyScript."""
        headers = {"Cache-Control": REVALIDATE, "Access-Control-Allow-Origin": "*"}
        return RedirectResponse(f"{runtime.pyscript_url}/core.js", 307, headers=headers)

    async def client_zip(request: Request) -> Response:
        data, etag = await asyncio.to_thread(package_zip, web / "rtvi")
        headers = {"Cache-Control": REVALIDATE, "ETag": etag, "Access-Control-Allow-Origin": "*"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="application/zip", headers=headers)

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "runtime": {
                    "pyodide": runtime.pyodide_version,
                    "pyscript": runtime.pyscript_version,
                },
                "bot_mode": settings.bot_mode,
                "bot": await bots.status(),
                "sessions": {
                    "active": max(await bots.active_sessions(), limits.recent()),
                    "max": settings.max_sessions,
                    "started_recently": limits.recent(),
                    "half_open_timeout": settings.half_open_timeout,
                    "refused_per_client": limits.refused_client,
                    "refused_at_capacity": limits.refused_global,
                },
            }
        )

    routes: list[BaseRoute] = [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/health", health, methods=["GET"]),
        Route("/pyscript.json", config, methods=["GET", "HEAD"]),
        Route("/py/rtvi.zip", client_zip, methods=["GET", "HEAD"]),
        Route("/pyscript/core.js", pyscript_core, methods=["GET", "HEAD"]),
        Mount(runtime.pyodide_url, app=pyodide_files),
        Mount(runtime.pyscript_url, app=pyscript_files),
        Mount("/app", app=AssetDirectory(web / "app", cache, REVALIDATE)),
        *proxy.routes(settings, bots, limits),
    ]
    if (web / "examples").is_dir():
        routes.append(Mount("/examples", app=AssetDirectory(web / "examples", cache, REVALIDATE)))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        warm = asyncio.gather(
            asyncio.to_thread(pyodide_files.warm), asyncio.to_thread(pyscript_files.warm)
        )
        await bots.startup()
        try:
            yield
        finally:
            await bots.shutdown()
            await warm

    cors = Middleware(
        RTVICors,
        allowed_origins=settings.allowed_origins,
        allowed_headers=settings.allowed_headers,
    )
    headers = Middleware(SecurityHeaders, trusted_hosts=settings.trusted_hosts)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[headers, cors],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.state.settings = settings
    app.state.bots = bots
    app.state.runtime = runtime
    return app
