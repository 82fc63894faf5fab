"""`/health`: what the server runs and how busy it is."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pyrtvi_server import __version__
from pyrtvi_server.bots import BotService
from pyrtvi_server.config import Settings
from pyrtvi_server.limits import ConnectLimits
from pyrtvi_server.runtime import Runtime


class HealthRoute:
    def __init__(
        self, settings: Settings, runtime: Runtime, bots: BotService, limits: ConnectLimits
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.bots = bots
        self.limits = limits

    def routes(self) -> list[BaseRoute]:
        return [Route("/health", self.health, methods=["GET"])]

    async def health(self, request: Request) -> Response:
        limits = self.limits
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "runtime": {
                    "pyodide": self.runtime.pyodide_version,
                    "pyscript": self.runtime.pyscript_version,
                },
                "bot_mode": self.settings.bot_mode,
                "bot": await self.bots.status(),
                "sessions": {
                    "active": max(await self.bots.active_sessions(), limits.recent()),
                    "max": self.settings.max_sessions,
                    "started_recently": limits.recent(),
                    "half_open_timeout": self.settings.half_open_timeout,
                    "refused_per_client": limits.refused_client,
                    "refused_at_capacity": limits.refused_global,
                },
            }
        )
