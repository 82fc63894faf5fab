"""A Pipecat 1.14 bot with pipecat's own `UIWorker` (`bot.py` next to this file), as a real
process on pipecat's development runner, for the UI-agent tests.

`ui_bot` is a module-scoped pytest fixture (import it into a test module to use it). The bot
runs from `.venvs/runner-1.14.0` (`make setup-test`), like tests/runner_bot, and appends every
snapshot it receives to `UIBot.record_path` (JSON lines).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.runner_bot import PYTHON, RunnerBot

BOT = Path(__file__).resolve().parent / "bot.py"


@dataclass
class UIBot(RunnerBot):
    """`python tests/ui_bot/bot.py -t webrtc --host 127.0.0.1 --port N`."""

    command: list[str] = field(default_factory=lambda: [str(PYTHON), str(BOT)])
    cwd: Path | None = ROOT
    snapshots_path: Path | None = None

    def start(self, log_dir: Path) -> UIBot:
        self.snapshots_path = log_dir / f"ui-bot-{self.port}.snapshots.jsonl"
        self.env = {**self.env, "UI_BOT_RECORD": str(self.snapshots_path)}
        super().start(log_dir)
        return self

    def snapshots(self) -> list[dict[str, Any]]:
        """Every snapshot the bot received so far, in order."""
        if self.snapshots_path is None or not self.snapshots_path.exists():
            return []
        return [json.loads(line) for line in self.snapshots_path.read_text().splitlines()]


@pytest.fixture(scope="module")
def ui_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIBot]:
    if not PYTHON.exists():
        pytest.skip(f"no runner bot environment ({PYTHON}): run `make setup-test`")
    bot = UIBot().start(tmp_path_factory.mktemp("ui-bot"))
    try:
        yield bot
    finally:
        bot.stop()
