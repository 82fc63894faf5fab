"""The processes a test session runs: `pyrtvi serve` (`LiveServer`) and a stock Pipecat runner
bot (`RunnerBot`), each on a free loopback port with its log in a file.

A process that exits, never answers, or refuses fails with :class:`BotStartError`, whose message
ends with the tail of the process's log (not a bare timeout).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

#: Generous: the first start of a bot imports pipecat, aiortc, onnxruntime on a loaded machine.
START_TIMEOUT_S = 90.0
#: Lines of a process's log quoted in an error.
LOG_TAIL_LINES = 40


def free_port() -> int:
    """A TCP port free on loopback now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of `text`."""
    return "\n".join(text.splitlines()[-lines:])


class BotStartError(RuntimeError):
    """A server or bot process that exited or was not ready in time (its log tail inside)."""


@dataclass
class LiveServer:
    """A `pyrtvi serve` process (real uvicorn) on a free loopback port.

    `boot` is its `PYRTVI_BOOT`: "shipped" by default, so each fresh browser context boots from
    the shipped snapshot instead of making one of its own (seconds of CPU next to the bot).
    """

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    boot: str = "shipped"
    start_timeout: float = START_TIMEOUT_S

    #: The path that answers 200 once the server is up.
    health_path = "/health"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command_line(self) -> list[str]:
        """What runs: `pyrtvi serve` by default; subclasses run an app of their own."""
        cmd = [sys.executable, "-m", "pyrtvi_server", "serve", "--host", "127.0.0.1"]
        return [*cmd, "--port", str(self.port), *self.args]

    def start(self, log_dir: Path) -> LiveServer:
        self.log_path = log_dir / f"server-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command_line(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYRTVI_BOOT": self.boot, **self.env},
            )
        return self.wait_healthy("server")

    def wait_healthy(self, what: str, path: str | None = None) -> LiveServer:
        """Wait for the started process to answer 200 on `path` (default: `health_path`); stop
        it and raise :class:`BotStartError` (with its log tail) if it exits or is late."""
        assert self.process is not None
        path = path or self.health_path
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BotStartError(
                    f"{what} exited early (code {self.process.returncode}):\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise BotStartError(f"{what} not ready in {self.start_timeout:.0f} s:\n{self.log_tail()}")

    def bot_pid(self) -> int:
        """The embedded bot: this server's child process running pyrtvi_bot."""
        assert self.process is not None
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            for child in children.read_text().split():
                if b"pyrtvi_bot" in Path(f"/proc/{child}/cmdline").read_bytes():
                    return int(child)
        raise AssertionError(f"no bot process under the server (pid {self.process.pid})")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log(), lines)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class RunnerBot(LiveServer):
    """A bot on Pipecat's development runner (`python bot.py -t webrtc --host H --port N`), as a
    Pipecat user starts theirs; ready when its `/status` answers.

    `command` is the bot's command line. The runner's flags `-t <transport> --host <host> --port
    <port>` are added after it, unless it contains `{port}` (then `{port}`, `{host}` and
    `{transport}` are filled in and nothing is added). `transport="websocket"` runs on
    `--host localhost`: pipecat 1.14's `/start` picks its `wsUrl` scheme from the host alone
    (`ws` for `localhost`, `wss` for any other, 127.0.0.1 included).
    """

    args: list[str] = field(default_factory=list)
    transport: str = "webrtc"
    command: list[str] = field(default_factory=list)
    cwd: Path | None = None
    start_timeout: float = 120.0

    @property
    def host(self) -> str:
        return "localhost" if self.transport == "websocket" else "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The runner's plain WebSocket endpoint (websocket mode)."""
        return f"ws://{self.host}:{self.port}/ws-client"

    @classmethod
    def from_command(cls, command: str, transport: str = "webrtc") -> RunnerBot:
        """A bot from a shell-like command line (`--rtvi-bot CMD`)."""
        return cls(transport=transport, command=shlex.split(command))

    def command_line(self) -> list[str]:
        if any("{port}" in part for part in self.command):
            values = {"port": str(self.port), "host": self.host, "transport": self.transport}
            return [part.format(**values) for part in self.command] + self.args
        flags = ["-t", self.transport, "--host", self.host, "--port", str(self.port)]
        return [*self.command, *flags, *self.args]

    def start(self, log_dir: Path) -> RunnerBot:
        self.log_path = log_dir / f"runner-bot-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command_line(),
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
        self.wait_healthy("runner bot", "/status")
        return self
