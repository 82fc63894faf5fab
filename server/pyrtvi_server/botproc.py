"""The embedded bot as a child process: spawn `python -m pyrtvi_bot` from a bot venv, wait for its
`/health`, stop it with SIGTERM (then SIGKILL by PID after a grace period).

Runs in the main environment (no pipecat here). The child is a plain `subprocess.Popen`, not tied to
an event loop, so one `BotProcess` may be started and stopped from different loops (test fixtures).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx

from pyrtvi_server.config import LOCATIONS

#: The directory holding the `pyrtvi_bot` package (put on the child's PYTHONPATH): `server/` in a
#: checkout, the installed wheel's copy otherwise (kept out of the server's own site-packages:
#: the bot's environment pins other versions of the same packages).
SERVER_DIR = LOCATIONS.bot_source_dir
HEALTH_POLL_SECONDS = 0.1


class BotStartError(RuntimeError):
    """The bot process exited or did not become healthy in time."""


def bot_python(pipecat_version: str, root: Path | None = None) -> Path:
    """The Python of the bot environment for a pipecat version: `<root>/.venvs/bot-<version>/...`
    for a checkout at `root`; without one, the default place (`LOCATIONS.bot_envs`: the
    checkout's `.venvs`, or the user's cache directory when installed from the wheel)."""
    envs = root / ".venvs" if root is not None else LOCATIONS.bot_envs
    return envs / f"bot-{pipecat_version}" / "bin" / "python"


def _parent_death_signal() -> Callable[[], object] | None:
    """A pre-exec hook giving the child SIGTERM when its parent dies (Linux `PR_SET_PDEATHSIG`),
    so no bot is orphaned even if the server is killed hard. Resolved here, in the parent: the
    hook itself only makes the system call (no imports between fork and exec)."""
    try:
        import ctypes

        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    return functools.partial(prctl, 1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """One bot process on `host:port` (a free port when `port` is None).

    Start it from a long-lived thread (the event loop's): Linux delivers the parent-death signal
    when the *thread* that spawned the child ends."""

    def __init__(
        self,
        python: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        env: dict[str, str] | None = None,
        *,
        pipecat_version: str | None = None,
        log_path: Path | None = None,
        stop_grace: float = 8.0,
    ) -> None:
        self.python = Path(python)
        self.host = host
        self._fixed_port = port
        self.port = port if port is not None else free_port(host)
        self.env = dict(env or {})
        self.pipecat_version = pipecat_version
        self.log_path = log_path
        self.stop_grace = stop_grace
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        #: Seconds from spawn to the first healthy `/health` of the last start.
        self.start_seconds: float | None = None
        #: The last `/health` body (`{"status", "pipecat", "rtvi"}`).
        self.health: dict[str, object] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    url = base_url

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def _spawn(self) -> None:
        if not self.python.exists():
            raise BotStartError(f"bot Python not found: {self.python} (create the bot venv first)")
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(SERVER_DIR), env.get("PYTHONPATH", "")) if p
        )
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.log_path is not None:
            self._log = self.log_path.open("ab")
        cmd = [str(self.python), "-m", "pyrtvi_bot", "--host", self.host, "--port", str(self.port)]
        self.process = subprocess.Popen(
            cmd,
            env=env,
            cwd=SERVER_DIR.parent,  # the checkout's root; the installed wheel's share/
            stdin=subprocess.DEVNULL,
            stdout=self._log or None,
            stderr=self._log or None,
            preexec_fn=_parent_death_signal(),
        )

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    async def start(self, timeout: float = 60.0) -> None:
        """Spawn the bot and wait until `/health` answers; BotStartError if it cannot."""
        if self.running:
            return
        attempts = 1 if self._fixed_port is not None else 2
        for attempt in range(attempts):
            try:
                await self._start_once(timeout)
                return
            except BotStartError:
                # A picked port may have been taken meanwhile: try once more on another one.
                if attempt + 1 == attempts or self.running:
                    raise
                self.port = free_port(self.host)

    async def _start_once(self, timeout: float) -> None:
        started = time.monotonic()
        self._spawn()
        assert self.process is not None
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() - started < timeout:
                if self.process.poll() is not None:
                    self._close_log()
                    raise BotStartError(
                        f"bot exited with code {self.process.returncode} during start"
                        + (f":\n{self.log_tail()}" if self.log_path else " (see its stderr)")
                    )
                with contextlib.suppress(httpx.HTTPError):
                    reply = await client.get(self.base_url + "/health")
                    if reply.status_code == 200:
                        self.health = reply.json()
                        self.start_seconds = time.monotonic() - started
                        return
                await asyncio.sleep(HEALTH_POLL_SECONDS)
        await self.stop()
        raise BotStartError(f"bot not healthy within {timeout:.0f} s")

    async def stop(self) -> None:
        """SIGTERM, wait up to `stop_grace` seconds, then SIGKILL by PID."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_grace
            while process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if process.poll() is None:
                self.kill()
        self._close_log()

    def kill(self) -> None:
        """Hard crash: SIGKILL and reap (tests use it to simulate a dead bot)."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
