"""A stock Pipecat runner bot (`bot.py` next to this file) as a real process, for the tests.

`runner_bot` is a module-scoped pytest fixture: import it into a test module to use it. The bot
runs on pipecat's own development runner (`python bot.py -t webrtc`) from `.venvs/runner-1.14.0`
(`make setup-test`), on a free loopback port, and records every session's `runner_args.body`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, LiveServer

RUNNER_PIPECAT = "1.14.0"
PYTHON = ROOT / ".venvs" / f"runner-{RUNNER_PIPECAT}" / "bin" / "python"
BOT = Path(__file__).resolve().parent / "bot.py"
#: The first start imports pipecat, aiortc, onnxruntime: generous on a loaded 2-core machine.
START_TIMEOUT = 120.0


@dataclass
class RunnerBot(LiveServer):
    """`python bot.py -t webrtc --host 127.0.0.1 --port N`, as a Pipecat user starts theirs.

    A `LiveServer` (port, log, stop) whose process is the runner instead of `pyrtvi serve`.
    """

    args: list[str] = field(default_factory=list)

    @property
    def record_path(self) -> Path:
        assert self.log_path is not None, "not started"
        return self.log_path.with_suffix(".jsonl")

    def start(self, log_dir: Path) -> RunnerBot:
        self.log_path = log_dir / f"runner-bot-{self.port}.log"
        cmd = [str(PYTHON), str(BOT), "-t", "webrtc", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), *self.args]
        env = {**os.environ, **self.env, "RUNNER_BOT_RECORD": str(self.record_path)}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runner bot exited early:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/status", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"runner bot not ready in time:\n{self.log()}")

    def bodies(self) -> dict[str, Any]:
        """session id → `runner_args.body`, for every session the bot ran so far."""
        if not self.record_path.exists():
            return {}
        lines = self.record_path.read_text().splitlines()
        return {entry["session_id"]: entry["body"] for entry in map(json.loads, lines)}

    def wait_for_body(self, session_id: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bodies = self.bodies()
            if session_id in bodies:
                return bodies[session_id]
            time.sleep(0.1)
        raise AssertionError(f"the runner bot ran no session {session_id}:\n{self.log()}")


@pytest.fixture(scope="module")
def runner_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerBot]:
    if not PYTHON.exists():
        pytest.skip(f"no runner bot environment ({PYTHON}): run `make setup-test`")
    bot = RunnerBot().start(tmp_path_factory.mktemp("runner-bot"))
    try:
        yield bot
    finally:
        bot.stop()
