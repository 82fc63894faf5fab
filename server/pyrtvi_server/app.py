"""The Starlette application: page, offline runtime, client package, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

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
        origin = str(request.base_url).rstrip("/")
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
        *proxy.routes(settings, bots),
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
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[cors])
    app.state.settings = settings
    app.state.bots = bots
    app.state.runtime = runtime
    return app
