"""`/health`: what the server runs and how busy it is."""

from __future__ import annotations

import contextlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pyrtvi_server import __version__
from pyrtvi_server.bots import BotService
from pyrtvi_server.config import Settings
from pyrtvi_server.runtime import Runtime
from pyrtvi_server.state import SharedState
from pyrtvi_server.upstream import ProxyError


class HealthRoute:
    """200 whatever the bot's or the shared state's condition: `status` is "ok", or "degraded"
    while the shared state (Redis) is unreachable (`state` says why)."""

    def __init__(
        self, settings: Settings, runtime: Runtime, bots: BotService, state: SharedState
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.bots = bots
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [Route("/health", self.health, methods=["GET"])]

    async def health(self, request: Request) -> Response:
        sessions: dict[str, object] = {
            "max": self.settings.max_sessions,
            "half_open_timeout": self.settings.half_open_timeout,
        }
        with contextlib.suppress(ProxyError):  # `state` says why
            sessions.update(await self.state.sessions(await self.bots.active_sessions()))
        state = await self.state.status()
        return JSONResponse(
            {
                "status": "ok" if state["state"] == "ok" else "degraded",
                "version": __version__,
                "runtime": {
                    "pyodide": self.runtime.pyodide_version,
                    "pyscript": self.runtime.pyscript_version,
                },
                "bot_mode": self.settings.bot_mode,
                "bot": await self.bots.status(),
                "state": state,
                "sessions": sessions,
            }
        )
