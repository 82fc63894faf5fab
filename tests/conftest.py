"""Shared fixtures: browser settings from playwright.config.py, a real server on a free port."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_browser_config() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "playwright_config", ROOT / "playwright.config.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


browser_config = _load_browser_config()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The boot mode of the suite's servers. Every test page is a first visit (a fresh browser
#: context): in the default mode ("local") each would boot plain and then make a snapshot in a
#: Worker, seconds of CPU next to the bot and WebRTC on two cores. The tests of the default mode
#: itself (tests/browser/test_boot.py, test_example_embed.py) start their servers with `--boot local`.
SUITE_BOOT = "shipped"


@dataclass
class LiveServer:
    """A `pyrtvi serve` process (real uvicorn) on a free loopback port."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    #: The path that answers 200 once the server is up.
    health_path = "/health"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "pyrtvi_server", "serve", "--host", "127.0.0.1"]
        return [*cmd, "--port", str(self.port), *self.args]

    def start(self, log_dir: Path) -> LiveServer:
        self.log_path = log_dir / f"server-{self.port}.log"
        log = self.log_path.open("wb")
        cmd = self.command()
        self.process = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYRTVI_BOOT": SUITE_BOOT, **self.env},
        )
        return self.wait_healthy("server")

    def wait_healthy(self, what: str) -> LiveServer:
        """Wait for the started process's `/health`; stop it and raise if it exits or is late."""
        assert self.process is not None
        deadline = time.monotonic() + browser_config.SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited early:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + self.health_path, timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{what} not healthy in time:\n{self.log()}")

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

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start extra servers with custom flags; all are stopped at the end of the session."""
    started: list[LiveServer] = []
    log_dir = tmp_path_factory.mktemp("server-logs")

    def start(*args: str, env: dict[str, str] | None = None) -> LiveServer:
        server = LiveServer(list(args), env or {}).start(log_dir)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def page_server(server_factory: Any) -> LiveServer:
    """The server with no bot: page, runtime and client package only."""
    return server_factory("--bot", "none")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def local_boot_server(server_factory: Any) -> LiveServer:
    """The server with no bot, in the default boot mode (local snapshot)."""
    return server_factory("--bot", "none", "--boot", "local")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": browser_config.CHROMIUM,
        "args": browser_config.LAUNCH_ARGS,
        "headless": browser_config.HEADLESS,
    }
