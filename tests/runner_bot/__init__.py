"""A stock Pipecat runner bot (`bot.py` next to this file) as a real process, for the tests.

`runner_bot` (`-t webrtc`) and `runner_ws_bot` (`-t websocket`) are module-scoped pytest fixtures:
import them into a test module to use them. The bot runs on pipecat's own development runner
(`python bot.py -t ...`) from `.venvs/runner-1.14.0` (`make setup-test`), on a free loopback port,
and records every session's `runner_args.body`.

In websocket mode the runner serves `/ws-client` and its `/start {"transport": "websocket"}`
answers `wsUrl`, whose scheme pipecat 1.14 picks from the host alone: `ws` for `localhost`, `wss`
for any other (127.0.0.1 included). So that bot runs on `--host localhost`, as a user runs it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.support import RUNNER_BOT as BOT
from bench.support import RUNNER_PIPECAT, StockRunnerBot
from bench.support import RUNNER_PYTHON as PYTHON

__all__ = ["BOT", "PYTHON", "RUNNER_PIPECAT", "RunnerBot", "runner_bot", "runner_ws_bot", "started"]


@dataclass
class RunnerBot(StockRunnerBot):
    """`python bot.py -t webrtc --host 127.0.0.1 --port N`, as a Pipecat user starts theirs.

    The kit's `RunnerBot` (port, log, readiness, stop) running this directory's `bot.py`, which
    records each session's `runner_args.body` in `record_path`. `transport="websocket"` runs
    `-t websocket --host localhost` instead.
    """

    @property
    def record_path(self) -> Path:
        assert self.log_path is not None, "not started"
        return self.log_path.with_suffix(".jsonl")

    def start(self, log_dir: Path) -> RunnerBot:
        # The log (and so the record) is named after the port, as the kit names it.
        self.env = {
            **self.env,
            "RUNNER_BOT_RECORD": str(log_dir / f"runner-bot-{self.port}.jsonl"),
        }
        super().start(log_dir)
        return self

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


def started(
    tmp_path_factory: pytest.TempPathFactory, transport: str, env: dict[str, str] | None = None
) -> Iterator[RunnerBot]:
    """A module fixture's body: the runner bot on ``transport`` (with ``env``), stopped after."""
    if not PYTHON.exists():
        pytest.skip(f"no runner bot environment ({PYTHON}): run `make setup-test`")
    bot = RunnerBot(transport=transport, env=dict(env or {}))
    bot.start(tmp_path_factory.mktemp("runner-bot"))
    try:
        yield bot
    finally:
        bot.stop()


@pytest.fixture(scope="module")
def runner_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerBot]:
    """The runner bot on `-t webrtc`."""
    yield from started(tmp_path_factory, "webrtc")


@pytest.fixture(scope="module")
def runner_ws_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerBot]:
    """The runner bot on `-t websocket` (`/ws-client`)."""
    yield from started(tmp_path_factory, "websocket")
