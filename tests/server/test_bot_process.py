"""`BotProcess`: spawning the bot, waiting for /health, stopping it cleanly (even mid-session),
killing it hard, and clear errors when it cannot start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pyrtvi_server.botproc import SERVER_DIR, BotProcess, BotStartError, bot_python

from tests.server.conftest import MODERN_PIPECAT
from tests.server.rtvi_peer import RTVIPeer, start_session

pytestmark = pytest.mark.bot


@pytest.fixture
def python() -> Path:
    path = bot_python(MODERN_PIPECAT)
    if not path.exists():
        pytest.skip(f"no bot environment for pipecat {MODERN_PIPECAT}: run `make setup-test`")
    return path


def test_bot_python_path() -> None:
    path = bot_python("1.2.3", Path("/repo"))
    assert path == Path("/repo/.venvs/bot-1.2.3/bin/python")


async def test_missing_python_is_a_start_error(tmp_path: Path) -> None:
    with pytest.raises(BotStartError, match="not found"):
        await BotProcess(tmp_path / "nope" / "python").start(timeout=5)


async def test_busy_port_is_a_start_error(python: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        bot = BotProcess(python, port=busy.getsockname()[1], log_path=tmp_path / "bot.log")
        with pytest.raises(BotStartError, match="exited"):
            await bot.start(timeout=60)
    assert not bot.running


async def test_stop_mid_session_is_graceful_and_kill_is_hard(python: Path, tmp_path: Path) -> None:
    bot = BotProcess(python, log_path=tmp_path / "bot.log", stop_grace=10)
    await bot.start(timeout=120)
    try:
        assert bot.running and bot.start_seconds is not None
        assert bot.health == {"status": "ok", "pipecat": MODERN_PIPECAT, "rtvi": "2.2.0"}
        async with httpx.AsyncClient(timeout=30) as http:
            peer = RTVIPeer()
            await peer.connect(await start_session(http, bot.base_url), http)
            await peer.ready(version="2.1.0")
            stopping = time.monotonic()
            await bot.stop()
            # SIGTERM ended it (uvicorn re-raises the signal after its shutdown), not SIGKILL.
            assert bot.returncode in (0, -signal.SIGTERM)
            assert time.monotonic() - stopping < 10
            await peer.close()
    finally:
        await bot.stop()

    second = BotProcess(python, log_path=tmp_path / "bot2.log")
    await second.start(timeout=120)
    second.kill()
    assert second.returncode == -signal.SIGKILL and not second.running
    await second.stop()  # stopping a dead bot is a no-op


def _alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (in a container nobody may reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_bot_dies_with_its_parent(python: Path, tmp_path: Path) -> None:
    """A server killed with SIGKILL leaves no orphan bot behind."""
    script = (
        "import asyncio, sys, time\n"
        "from pathlib import Path\n"
        "from pyrtvi_server.botproc import BotProcess\n"
        "bot = BotProcess(Path(sys.argv[1]), log_path=Path(sys.argv[2]))\n"
        "asyncio.run(bot.start(timeout=120))\n"
        "print(bot.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(python), str(tmp_path / "bot.log")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SERVER_DIR)},
    )
    try:
        assert parent.stdout is not None
        bot_pid = int(parent.stdout.readline())
        assert _alive(bot_pid)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 15
        while _alive(bot_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(bot_pid)
    finally:
        parent.kill()
        parent.wait()
