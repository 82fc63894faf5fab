"""Where the RTVI endpoints send their requests: no bot, a remote bot service, or the embedded bot.

All three give the proxy the same thing, an `Upstream` speaking the bot service contract, so the
embedded bot is reached through exactly the code path a remote runner is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from pyrtvi_server import botproc, runner
from pyrtvi_server.config import Settings, in_checkout, server_config_options
from pyrtvi_server.guard import Secrets
from pyrtvi_server.upstream import ProxyError, Upstream

log = logging.getLogger("pyrtvi.bots")

#: Seconds a remote bot service health probe may take (the result is cached briefly).
PROBE_TIMEOUT = 1.0
PROBE_CACHE_SECONDS = 5.0
#: Least seconds between two restarts of a dead embedded bot (the first one is immediate).
RESTART_BACKOFF = 10.0
#: Sessions whose bot process the embedded service remembers (oldest forgotten first).
MAX_TRACKED_SESSIONS = 1024
#: Seconds between two looks at the embedded bot's sessions and memory.
MONITOR_SECONDS = 2.0
#: The header carrying the embedded bot's per-launch secret (see pyrtvi_bot.app).
BOT_TOKEN_HEADER = "X-Pyrtvi-Bot-Token"


def upstream_for(settings: Settings, url: str, headers: dict[str, str] | None = None) -> Upstream:
    """The bot service client with the settings' timeout, reply cap and secrets."""
    return Upstream(
        url,
        {**settings.bot_headers, **(headers or {})},
        settings.upstream_timeout,
        secrets=Secrets.from_config(settings.bot_extra, settings.bot_headers),
        max_reply_bytes=settings.max_upstream_bytes,
    )


def rss_mib(pid: int | None) -> float | None:
    """Resident memory of a process in MiB (Linux /proc), None when unknown."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class ChildBot(Protocol):
    """What the embedded bot's process manager offers (`pyrtvi_server.botproc.BotProcess`)."""

    @property
    def url(self) -> str: ...
    @property
    def running(self) -> bool: ...
    @property
    def returncode(self) -> int | None: ...
    async def start(self, timeout: float) -> None: ...
    async def stop(self) -> None: ...


class BotSetupError(RuntimeError):
    """The configured bot cannot be started at all (e.g. its virtualenv is missing)."""


class BotService:
    """No bot (`--bot none`): the RTVI endpoints answer 503."""

    mode = "none"

    async def startup(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def upstream(self) -> Upstream:
        """The client for the bot service, or a `ProxyError` telling why there is none."""
        raise ProxyError(
            503,
            "no bot service",
            "this server runs without a bot (--bot none); restart it with --bot embedded "
            "or --bot url --bot-url URL",
        )

    async def status(self) -> dict[str, object]:
        return {"mode": self.mode, "state": "disabled"}

    def session_started(self, session_id: str) -> None:
        """`/connect` got `session_id` from this service."""

    def check_session(self, session_id: str) -> None:
        """Raise a `ProxyError` when `session_id` is known to be over (its bot is gone)."""

    async def active_sessions(self) -> int:
        """Sessions the bot service reports as active (0 when it does not say)."""
        return 0


class RemoteBot(BotService):
    """A bot service at a configured URL (`--bot url --bot-url ...`)."""

    mode = "url"

    def __init__(self, settings: Settings) -> None:
        assert settings.bot_url
        self.settings = settings
        self._upstream: Upstream | None = None
        self._probe: tuple[float, bool] | None = None

    async def startup(self) -> None:
        self._upstream = upstream_for(self.settings, self.settings.bot_url or "")

    async def shutdown(self) -> None:
        if self._upstream:
            await self._upstream.aclose()

    async def upstream(self) -> Upstream:
        if self._upstream is None:
            raise ProxyError(503, "bot service not ready", "the server is starting or stopping")
        return self._upstream

    async def status(self) -> dict[str, object]:
        """Reachability of the remote service; its URL is not shown (it may carry secrets)."""
        now = time.monotonic()
        if self._upstream and (self._probe is None or now - self._probe[0] > PROBE_CACHE_SECONDS):
            healthy = await self._upstream.health(
                min(PROBE_TIMEOUT, self.settings.upstream_timeout), runner.HEALTH_PATHS
            )
            self._probe = (time.monotonic(), healthy)
        state = (
            "unknown" if self._probe is None else "reachable" if self._probe[1] else "unreachable"
        )
        return {"mode": self.mode, "state": state}


def bot_python(settings: Settings) -> Path:
    return settings.bot_python or botproc.bot_python(settings.bot_pipecat_version)


class EmbeddedBot(BotService):
    """The offline Pipecat bot as a child process on a loopback port, started with the app.

    It starts in the background so the page is served at once; `/connect` waits for it. If it
    dies (or failed to start), the next request restarts it — at once the first time, then at
    most once per `RESTART_BACKOFF` seconds, so a crashing bot cannot eat the CPU.
    """

    mode = "embedded"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.python = bot_python(settings)
        if not self.python.exists():
            setup = (
                f"`make run` (or `make setup BOT_PIPECAT={settings.bot_pipecat_version}`)"
                if in_checkout()
                else "`pyrtvi setup-bot`"
            )
            raise BotSetupError(
                f"the embedded bot's Python environment is missing ({self.python}): run {setup} "
                "first, or start with --bot-python PATH, --bot url or --bot none"
            )
        self._process: ChildBot | None = None
        self._upstream: Upstream | None = None
        self._task: asyncio.Task[None] | None = None
        self._failure: str | None = None
        self._ready_after: float | None = None
        self._last_restart: float | None = None
        self.restarts = 0
        self.recycles = 0
        #: session id → the process that runs it
        self._sessions: OrderedDict[str, ChildBot] = OrderedDict()
        #: The bot's last `/health` (session counts) and memory, refreshed by the monitor.
        self._bot_health: dict[str, object] = {}
        self._rss: float | None = None
        self._baseline: float | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._last_used = 0.0

    async def startup(self) -> None:
        self._launch()
        self._monitor = asyncio.create_task(self._watch(), name="embedded-bot-monitor")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(MONITOR_SECONDS)
            try:
                await self._look()
            except Exception:
                log.exception("watching the embedded bot failed")

    async def _look(self) -> None:
        """Refresh the bot's session counts and memory; recycle it when idle and bloated.

        A burst of sessions leaves the bot process holding memory its allocator does not give
        back (see docs/reliability.md); once it is idle again, a fresh process returns it."""
        upstream, process = self._upstream, self._process
        if upstream is None or process is None or not self._task or not self._task.done():
            return
        probed = time.monotonic()
        info = await upstream.get_info("/load", PROBE_TIMEOUT)
        if info is None:
            return
        self._bot_health = info
        self._rss = rss_mib(getattr(process, "pid", None))
        idle = info.get("sessions") == 0 and info.get("pipelines") == 0
        if self._rss is None or self._baseline is None or not idle:
            return
        limit = self.settings.bot_recycle_mb
        # Idle means quiet here too: no request started since before the longest one could take.
        quiet = self._last_used < probed - self.settings.upstream_timeout
        if limit and quiet and self._rss - self._baseline > limit:
            log.warning(
                "embedded bot idle at %.0f MiB (baseline %.0f MiB): recycling it",
                self._rss,
                self._baseline,
            )
            self.recycles += 1
            self._launch()
            await asyncio.shield(self._task)

    async def active_sessions(self) -> int:
        value = self._bot_health.get("sessions")
        return value if isinstance(value, int) else 0

    def _launch(self) -> None:
        self._task = asyncio.create_task(self._start(), name="embedded-bot-start")

    async def _start(self) -> None:
        started = time.monotonic()
        self._failure = None
        old_process, old_upstream = self._process, self._upstream
        self._upstream = None
        if old_upstream:
            await old_upstream.aclose()
        if old_process:
            await old_process.stop()
        token = secrets.token_urlsafe(32)  # per launch; only this server knows it
        env = {
            "PYRTVI_BOT_TOKEN": token,
            "PYRTVI_BOT_HALF_OPEN_TIMEOUT": str(self.settings.half_open_timeout),
            # /start bodies repeat the request data under "body": room for both, plus extras.
            "PYRTVI_BOT_MAX_BODY": str(2 * self.settings.max_body_bytes + 256 * 1024),
        }
        hidden = server_config_options(self.settings.bot_extra)
        if hidden and not self.settings.expose_server_config:
            # Over the data channel too (which this server never sees), the bot answers these
            # options' values as null and refuses llm:get_context when the llm is among them.
            env["PYRTVI_BOT_HIDDEN_CONFIG"] = json.dumps(hidden)
        process: ChildBot = botproc.BotProcess(
            python=self.python, pipecat_version=self.settings.bot_pipecat_version
        )
        child_env = getattr(process, "env", None)
        if isinstance(child_env, dict):
            child_env.update(env)
        self._bot_health = {}
        self._process = process
        try:
            await process.start(timeout=self.settings.bot_start_timeout)
        except Exception as exc:
            self._failure = f"the embedded bot did not start: {exc}"
            log.error("%s", self._failure)
            return
        self._upstream = upstream_for(self.settings, process.url, {BOT_TOKEN_HEADER: token})
        self._ready_after = time.monotonic() - started
        self._baseline = rss_mib(getattr(process, "pid", None))  # a fresh process: the floor
        log.info(
            "embedded bot (pipecat %s) ready at %s in %.1f s",
            self.settings.bot_pipecat_version,
            process.url,
            self._ready_after,
        )

    def _exited(self) -> bool:
        return (
            self._process is not None and self._upstream is not None and not self._process.running
        )

    async def shutdown(self) -> None:
        if self._monitor:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        if self._task and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._upstream:
            await self._upstream.aclose()
        if self._process:
            await self._process.stop()

    async def upstream(self) -> Upstream:
        self._last_used = time.monotonic()
        if self._task is None:
            raise ProxyError(503, "bot not running", "the server is not started")
        if self._task.done() and (self._failure or self._exited()):
            now = time.monotonic()
            wait = 0.0 if self._last_restart is None else self._last_restart + RESTART_BACKOFF - now
            if wait > 0:
                raise ProxyError(503, "bot not running", f"{self._why()}; retrying in {wait:.0f} s")
            log.warning("%s; restarting it", self._why())
            self._last_restart = now
            self.restarts += 1
            self._launch()
        if not self._task.done():
            # Starting: wait (bounded by the start timeout) rather than fail the visitor.
            await asyncio.shield(self._task)
        if self._failure or self._upstream is None or self._exited():
            raise ProxyError(503, "bot not running", self._why())
        return self._upstream

    def session_started(self, session_id: str) -> None:
        if self._process is None:
            return
        self._sessions[session_id] = self._process
        self._sessions.move_to_end(session_id)
        while len(self._sessions) > MAX_TRACKED_SESSIONS:
            self._sessions.popitem(last=False)

    def check_session(self, session_id: str) -> None:
        """A session whose bot process died is over: say so at once (410).

        Without this a reconnecting client's offer would wait for a restart, only for the new
        bot to answer 404 for a session it never had.
        """
        process = self._sessions.get(session_id)
        if process is not None and (process is not self._process or not process.running):
            raise ProxyError(
                410,
                "session ended",
                "the bot process that ran this session has exited; connect again for a new one",
            )

    def _why(self) -> str:
        if self._failure:
            return self._failure
        code = self._process.returncode if self._process else None
        return f"the embedded bot exited (code {code}); see the server log"

    async def status(self) -> dict[str, object]:
        state: str
        if self._task is None:
            state = "stopped"
        elif not self._task.done():
            state = "starting"
        elif self._failure:
            state = "failed"
        elif self._exited():
            state = "exited"
        else:
            state = "running"
        info: dict[str, object] = {
            "mode": self.mode,
            "state": state,
            "pipecat": self.settings.bot_pipecat_version,
            "restarts": self.restarts,
            "recycles": self.recycles,
        }
        if self._rss is not None:
            info["rss_mib"] = round(self._rss)
        if self._baseline is not None:
            info["baseline_mib"] = round(self._baseline)
        for key in ("pipelines", "half_open", "reaped"):  # the bot's /load, refreshed every 2 s
            if key in self._bot_health:
                info[key] = self._bot_health[key]
        if self._ready_after is not None:
            info["start_seconds"] = round(self._ready_after, 2)
        if state in {"failed", "exited"}:
            info["detail"] = self._why()
        return info


def create_bot_service(settings: Settings) -> BotService:
    """The bot service for `settings.bot_mode`; raises `BotSetupError` when it cannot exist."""
    if settings.bot_mode == "url":
        return RemoteBot(settings)
    if settings.bot_mode == "embedded":
        return EmbeddedBot(settings)
    return BotService()
