"""What the benches and the repository's own tests share and a user of the kit does not need:
the suite's browser settings (`playwright.config.py`) and the stock runner bot's paths.

The kit's own pieces (`pyrtvi_testing`: processes, Chromium flags, the off-host guard, the
harness page) are imported from the kit; nothing here imports `tests` (tests/tools checks it).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from playwright.sync_api import Browser, BrowserContext, Playwright
from pyrtvi_testing.chromium import guard_offhost
from pyrtvi_testing.processes import RunnerBot

ROOT = Path(__file__).resolve().parents[1]

#: The stock Pipecat runner bot (tests/runner_bot/bot.py), started by path, and its environment
#: (`make setup-test`).
RUNNER_PIPECAT = "1.14.0"
RUNNER_PYTHON = ROOT / ".venvs" / f"runner-{RUNNER_PIPECAT}" / "bin" / "python"
RUNNER_BOT = ROOT / "tests" / "runner_bot" / "bot.py"
#: The first start imports pipecat, aiortc, onnxruntime: generous on a loaded 2-core machine.
RUNNER_START_TIMEOUT = 120.0


def _load_browser_config() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "playwright_config", ROOT / "playwright.config.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The suite's browser settings: CHROMIUM, LAUNCH_ARGS (the kit's plus fake devices), HEADLESS,
#: timeouts.
browser_config = _load_browser_config()


@dataclass
class StockRunnerBot(RunnerBot):
    """The stock runner bot as the kit starts a user's bot: ``python bot.py -t <transport>
    --host H --port N`` (the kit's :class:`~pyrtvi_testing.processes.RunnerBot`)."""

    command: list[str] = field(default_factory=lambda: [str(RUNNER_PYTHON), str(RUNNER_BOT)])
    cwd: Path | None = ROOT
    start_timeout: float = RUNNER_START_TIMEOUT


def runner_bot(transport: str = "webrtc", env: dict[str, str] | None = None) -> StockRunnerBot:
    """The stock runner bot on ``transport``, not started yet (``.start(log_dir)``)."""
    return StockRunnerBot(transport=transport, env=dict(env or {}))


def launch(playwright: Playwright) -> Browser:
    """Chromium with the suite's settings (fake microphone included)."""
    return playwright.chromium.launch(
        executable_path=browser_config.CHROMIUM,
        args=browser_config.LAUNCH_ARGS,
        headless=browser_config.HEADLESS,
    )


def fresh_context(browser: Browser, guards: list[list[str]]) -> BrowserContext:
    """A new context with the suite's timeout, its off-host guard appended to ``guards``, and
    Local Network Access granted (a page reaching a loopback address on another origin, or a
    loopback WebSocket from a page Playwright fulfils, is refused without it)."""
    context = browser.new_context()
    context.set_default_timeout(browser_config.ACTION_TIMEOUT_MS)
    context.grant_permissions(["local-network-access"])
    guards.append(guard_offhost(context))
    return context


def check_offhost(guards: list[list[str]]) -> None:
    """Fail the bench if any page requested a URL off this machine."""
    offhost = [url for guard in guards for url in guard]
    if offhost:
        raise SystemExit(f"the pages requested off-host URLs: {offhost}")
