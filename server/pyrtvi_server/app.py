"""The Starlette application: page, offline runtime, client package, health."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyrtvi_server import __version__, proxy
from pyrtvi_server.boot import (
    BOOT_MODES,
    BUILD_FILES,
    SNAPSHOT_WORKER,
    BootBuild,
    interpreter_module,
    plain_key,
)
from pyrtvi_server.bots import create_bot_service
from pyrtvi_server.config import Settings, public_base
from pyrtvi_server.cors import RTVICors
from pyrtvi_server.runtime import Runtime
from pyrtvi_server.static import (
    IMMUTABLE,
    REVALIDATE,
    Asset,
    AssetCache,
    AssetDirectory,
    PackageZips,
    asset_response,
    json_error,
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
    error = exc.detail.lower() if isinstance(exc.detail, str) else "error"
    detail = f"{request.method} {request.url.path}: {exc.detail}"
    return json_error(exc.status_code, error, detail, exc.headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return json_error(500, "internal error", "see the server log")


#: PyScript's plugins that the console does not use. PyScript imports every plugin not refused
#: in the config before it starts the interpreter: each is a request on the critical path, and
#: on HTTP/1.1 they queue for the connections that the runtime downloads hold. `error` stays (it
#: shows Python errors, which boot.js reports). Embedding pages (`/pyscript.json`) keep them all:
#: they may use `<script type="py-editor">` or `terminal`.
CONSOLE_SKIPPED_PLUGINS = ("deprecations-manager", "donkey", "py-editor", "py-game", "py-terminal")


def pyscript_config(
    interpreter_url: str, origin: str = "", skip_plugins: tuple[str, ...] = ()
) -> dict[str, object]:
    """PyScript config: our interpreter module (it also brings our packages, see interpreter.mjs).

    ``origin`` (e.g. ``http://127.0.0.1:8000``) makes the URLs absolute, so that a page on
    another origin that uses this config loads everything from this server. ``skip_plugins``:
    PyScript plugins not loaded at all.
    """
    config: dict[str, object] = {"interpreter": f"{origin}{interpreter_url}"}
    if skip_plugins:
        config["plugins"] = [f"!{name}" for name in skip_plugins]
    return config


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    runtime = Runtime.locate(settings.node_modules)
    bots = create_bot_service(settings)  # raises BotSetupError, e.g. for a missing bot venv
    cache = AssetCache()
    zips = PackageZips()
    limits = proxy.connect_limits(settings)
    precompressed = settings.boot_dir / "precompressed"
    pyodide_files = AssetDirectory(
        runtime.pyodide_dir, cache, IMMUTABLE, precompressed / "pyodide" / runtime.pyodide_version
    )
    pyscript_files = AssetDirectory(
        runtime.pyscript_dir,
        cache,
        IMMUTABLE,
        precompressed / "pyscript" / runtime.pyscript_version,
    )
    web = settings.web_dir
    packages = {"rtvi": web / "rtvi", "pyrtvi_page": web / "app" / "pyrtvi_page"}
    plain = plain_key(runtime)

    def current_build(mode: str = settings.boot) -> BootBuild | None:
        """The setup's boot build if it matches the sources served now (else a plain boot)."""
        if settings.boot == "plain" or mode == "plain":
            return None
        return BootBuild.load(settings.boot_dir, web, runtime)

    def interpreter_url(
        build: BootBuild | None, mode: str = settings.boot, with_packages: tuple[str, ...] = ()
    ) -> str:
        """`?boot=`: the boot mode (BOOT_MODES; always in the URL, which is cached immutable:
        a server restarted in another mode serves another URL); `?packages=`: more of our
        packages than `rtvi` (the console also needs `pyrtvi_page`)."""
        query = {}
        if build is not None:
            query["boot"] = mode
        if with_packages:
            query["packages"] = ",".join(with_packages)
        url = f"/runtime/boot/{build.key if build else plain}/interpreter.mjs"
        return url + ("?" + urlencode(query, safe=",") if query else "")

    #: PyScript's core chunk and error plugin: imported by core.js before it starts Python.
    pyscript_chunks = runtime.pyscript_chunks()

    def preload_links(build: BootBuild | None, interpreter: str) -> str:
        """Hints so that the big downloads start with the page, not when PyScript asks.

        The small modules PyScript needs before it calls our interpreter come first: with
        HTTP/1.1's six connections per host, the wasm and the snapshot hold two of them for
        most of the boot, and what is requested after them may wait for a free one.
        """
        base = f"/runtime/boot/{build.key if build else plain}"
        links = [
            f'<link rel="modulepreload" href="{runtime.pyscript_url}/{name}">'
            for name in pyscript_chunks
        ]
        links += [
            f'<link rel="modulepreload" href="{html.escape(interpreter)}">',
            f'<link rel="modulepreload" href="{runtime.pyodide_url}/pyodide.mjs">',
            f'<link rel="modulepreload" href="{runtime.pyodide_url}/pyodide.asm.mjs">',
            f'<link rel="preload" href="{runtime.pyodide_url}/pyodide.asm.wasm" as="fetch" '
            "crossorigin>",
        ]
        if build and build.snapshot and settings.boot == "shipped":
            links.append(f'<link rel="preload" href="{base}/snapshot.bin" as="fetch" crossorigin>')
        elif build and build.stdlib:
            # The local mode's first visit needs it, and so does a boot from the local snapshot.
            stdlib = f"{base}/python_stdlib.zip"
            links.append(f'<link rel="preload" href="{stdlib}" as="fetch" crossorigin>')
        return "\n  ".join(links)

    def render_page(name: str) -> Asset:
        """An HTML page with the runtime URLs filled in (they carry the pinned versions)."""
        raw = cache.get(web / name)
        build = current_build()
        interpreter = interpreter_url(build, with_packages=("pyrtvi_page",))
        config = pyscript_config(interpreter, skip_plugins=CONSOLE_SKIPPED_PLUGINS)
        page = (
            raw.body.decode()
            .replace("{{PYSCRIPT_URL}}", runtime.pyscript_url)
            .replace("{{PYODIDE_URL}}", runtime.pyodide_url)
            .replace("{{PRELOAD}}", preload_links(build, interpreter))
            .replace("{{PAGE_CONFIG}}", html.escape(json.dumps(config), quote=True))
        )
        return AssetCache._build(page.encode(), ".html")

    async def index(request: Request) -> Response:
        return asset_response(request, render_page("index.html"), REVALIDATE)

    async def config(request: Request) -> Response:
        """`/pyscript.json`: the fast boot for embedding pages. `?boot=`: `fast` (the server's
        mode), or one of BOOT_MODES: e.g. `plain`, the full stdlib without a snapshot (a page
        that imports stdlib modules the build left out)."""
        origin = public_base(settings, request)
        headers = {"Cache-Control": REVALIDATE, "Vary": "Host"}
        mode = request.query_params.get("boot", "fast")
        if mode == "fast":
            mode = settings.boot
        if mode not in BOOT_MODES:
            return json_error(400, "bad request", f"boot must be fast, {', '.join(BOOT_MODES)}")
        build = current_build(mode)
        response = JSONResponse(
            pyscript_config(interpreter_url(build, mode), origin), headers=headers
        )
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def pyscript_core(request: Request) -> Response:
        """A stable URL for embedding pages: redirects to the pinned, versioned PyScript."""
        headers = {"Cache-Control": REVALIDATE, "Access-Control-Allow-Origin": "*"}
        return RedirectResponse(f"{runtime.pyscript_url}/core.js", 307, headers=headers)

    async def interpreter(request: Request) -> Response:
        """Our interpreter module for one boot key (the current build's, or the plain one)."""
        key = request.path_params["key"]
        build = current_build()
        if key != plain and (build is None or key != build.key):
            return json_error(404, "not found", f"unknown or stale boot build {key}")
        mode = request.query_params.get("boot", settings.boot)
        if mode not in BOOT_MODES:
            return json_error(400, "bad request", f"boot must be one of {', '.join(BOOT_MODES)}")
        wanted = ["rtvi", *request.query_params.get("packages", "").split(",")]
        names = list(dict.fromkeys(name for name in wanted if name))
        unknown = [name for name in names if name not in packages]
        if unknown:
            return json_error(400, "bad request", f"unknown packages: {', '.join(unknown)}")
        body = interpreter_module(
            runtime, build if key != plain else None, mode=mode, packages=names
        )
        return asset_response(request, AssetCache._build(body.encode(), ".mjs"), IMMUTABLE)

    async def snapshot_worker(request: Request) -> Response:
        """The local snapshot's Worker (same for every build; keyed so that it is immutable)."""
        key = request.path_params["key"]
        build = current_build()
        if key != plain and (build is None or key != build.key):
            return json_error(404, "not found", f"unknown or stale boot build {key}")
        return asset_response(request, cache.get(SNAPSHOT_WORKER), IMMUTABLE)

    async def boot_file(request: Request) -> Response:
        """The snapshot and the stdlib zips of the current build (immutable: keyed)."""
        build = current_build()
        name = request.path_params["name"]
        if (
            build is None
            or request.path_params["key"] != build.key
            or name not in BUILD_FILES
            or not (build.directory / name).is_file()
        ):
            return json_error(404, "not found", request.url.path)
        path = build.directory / name
        asset = await asyncio.to_thread(cache.get, path, path)
        return asset_response(request, asset, IMMUTABLE)

    async def client_zip(request: Request) -> Response:
        package = packages.get(request.path_params["name"])
        if package is None:
            return json_error(404, "not found", request.url.path)
        asset = await asyncio.to_thread(zips.get, package)
        return asset_response(request, asset, REVALIDATE)

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
        Route("/py/{name}.zip", client_zip, methods=["GET", "HEAD"]),
        Route("/runtime/boot/{key}/interpreter.mjs", interpreter, methods=["GET", "HEAD"]),
        Route(
            f"/runtime/boot/{{key}}/{SNAPSHOT_WORKER.name}",
            snapshot_worker,
            methods=["GET", "HEAD"],
        ),
        Route("/runtime/boot/{key}/{name}", boot_file, methods=["GET", "HEAD"]),
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
