"""The Starlette application, assembled: the page and runtime routes, the RTVI endpoints,
`/health`, the middleware and the lifespan (the bot service and the runtime's warm-up)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from pyrtvi_server.bots import BotService, create_bot_service
from pyrtvi_server.config import Settings, check_install
from pyrtvi_server.cors import RTVICors
from pyrtvi_server.health import HealthRoute
from pyrtvi_server.middleware import (
    LifespanGuard,
    SecurityHeaders,
    http_error,
    internal_error,
)
from pyrtvi_server.pages import CONSOLE_SKIPPED_PLUGINS, PageRoutes, pyscript_config
from pyrtvi_server.proxy import ProxyRoutes
from pyrtvi_server.runtime import Runtime
from pyrtvi_server.state import SharedState

__all__ = ["CONSOLE_SKIPPED_PLUGINS", "create_app", "pyscript_config"]


class Lifespan:
    """Starts the bot service and warms the runtime files; stops the bot service."""

    def __init__(self, pages: PageRoutes, bots: BotService, state: SharedState) -> None:
        self.pages = pages
        self.bots = bots
        self.state = state
        self.ran = False

    def started(self) -> bool:
        """Whether the lifespan has started (for `LifespanGuard`)."""
        return self.ran

    @contextlib.asynccontextmanager
    async def __call__(self, app: Starlette) -> AsyncIterator[None]:
        warming = asyncio.ensure_future(self.pages.warm())
        await self.state.startup()
        await self.bots.startup()
        self.ran = True
        try:
            yield
        finally:
            await self.bots.shutdown()
            await self.state.shutdown()
            await warming


def create_app(settings: Settings | None = None) -> Starlette:
    """The whole server as one ASGI app: run by `pyrtvi serve`, or mounted in yours (under
    any path: every URL it hands out carries it) with `pyrtvi_server.mount`."""
    check_install()  # an installed wheel missing files: one error now, not a page half loaded
    settings = settings or Settings()
    runtime = Runtime.locate(settings.node_modules)
    bots = create_bot_service(settings)  # raises BotSetupError, e.g. for a missing bot venv
    pages = PageRoutes(settings, runtime)
    proxy = ProxyRoutes(settings, bots)
    health = HealthRoute(settings, runtime, bots, proxy.state)
    lifespan = Lifespan(pages, bots, proxy.state)
    middleware = [
        Middleware(LifespanGuard, started=lifespan.started),
        Middleware(SecurityHeaders, trusted_hosts=settings.trusted_hosts),
        Middleware(
            RTVICors,
            allowed_origins=settings.allowed_origins,
            allowed_headers=settings.allowed_headers,
        ),
    ]
    app = Starlette(
        routes=[*pages.routes(), *health.routes(), *proxy.routes()],
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.state.settings = settings
    app.state.bots = bots
    app.state.runtime = runtime
    return app
