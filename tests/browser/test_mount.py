"""pyrtvi mounted under `/rtvi` in Chromium, talking to the stock Pipecat runner bot
(tests/runner_bot): `examples/fastapi_mount.py` (a FastAPI app of its own beside the runner) and
`examples/runner_mount.py` (one process: mounted on the runner's own app). The console at `/rtvi/`
connects, a typed turn is answered, it disconnects; every request the page makes to the app stays
under `/rtvi/`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import _brotli  # type: ignore[import-not-found]
import brotli
import httpx
import pytest
from playwright.sync_api import Page, Request
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import open_console, typed_exchange
from tests.conftest import ROOT, browser_config
from tests.runner_bot import PYTHON, RunnerBot

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS
PREFIX = "/rtvi"
A = TypeVar("A", bound=LiveServer)


@dataclass
class MountedApp(LiveServer):
    """`uvicorn examples.fastapi_mount:app`, as its docstring says to run it."""

    health_path = PREFIX + "/health"

    def command_line(self) -> list[str]:
        app = ["examples.fastapi_mount:app", "--host", "127.0.0.1", "--port", str(self.port)]
        return [sys.executable, "-m", "uvicorn", *app]


@dataclass
class RunnerWithMount(LiveServer):
    """`python runner_mount.py -t webrtc`: the runner bot and pyrtvi in one process.

    pyrtvi is not installed in the runner's environment (`pip install pyrtvi` would be): its
    sources and the one dependency the runner lacks (brotli, from this venv) are on PYTHONPATH.
    """

    health_path = PREFIX + "/health"

    def command_line(self) -> list[str]:
        where = ["--host", "127.0.0.1", "--port", str(self.port)]
        return [str(PYTHON), str(ROOT / "examples" / "runner_mount.py"), "-t", "webrtc", *where]


def serving(app: A, log_dir: Path) -> Iterator[A]:
    """`app` started for a fixture's lifetime."""
    app.start(log_dir)
    try:
        yield app
    finally:
        app.stop()


def brotli_only(directory: Path) -> Path:
    """A folder holding this venv's brotli and nothing else, for another venv's PYTHONPATH."""
    for module in (brotli, _brotli):
        source = Path(str(module.__file__))
        (directory / source.name).symlink_to(source)
    return directory


@pytest.fixture(scope="module")
def runner_with_mount(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerWithMount]:
    if not PYTHON.exists():
        pytest.skip(f"no runner bot environment ({PYTHON}): run `make setup-test`")
    extra = brotli_only(tmp_path_factory.mktemp("brotli"))
    path = [ROOT / "server", ROOT / "web", extra, ROOT / "tests" / "runner_bot"]
    app = RunnerWithMount([], {"PYTHONPATH": ":".join(map(str, path))})
    yield from serving(app, tmp_path_factory.mktemp("runner-mount"))


@pytest.fixture(scope="module")
def mounted(
    tmp_path_factory: pytest.TempPathFactory, runner_bot: RunnerBot
) -> Iterator[MountedApp]:
    app = MountedApp([], {"PYRTVI_BOT_URL": runner_bot.url})
    yield from serving(app, tmp_path_factory.mktemp("fastapi-mount"))


@pytest.mark.parametrize("where", ["fastapi", "runner"])
def test_console_mounted_talks_to_a_runner_bot(
    page: Page, request: pytest.FixtureRequest, where: str
) -> None:
    mounted: LiveServer = request.getfixturevalue(
        "mounted" if where == "fastapi" else "runner_with_mount"
    )
    requested: list[str] = []

    def note(request: Request) -> None:
        requested.append(request.url)

    page.on("request", note)
    open_console(page, mounted.url + PREFIX)
    typed_exchange(page, "hello from the mount", server_url=mounted.url + PREFIX)

    ours = [url for url in requested if url.startswith(mounted.url)]
    assert any(urlsplit(url).path.endswith("/offer") for url in ours), ours
    outside = [url for url in ours if not urlsplit(url).path.startswith(PREFIX + "/")]
    assert outside == [], outside
    # The app's own routes and lifespan still work beside the mount.
    if where == "fastapi":
        assert httpx.get(mounted.url + "/").json() == {"console": "/rtvi/", "started": True}
    else:
        assert httpx.get(mounted.url + "/status").status_code == 200
