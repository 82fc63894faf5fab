"""`examples/fastapi_mount.py` run from the installed wheel, as a user runs it in their own project
(`pip install pyrtvi fastapi`, the example copied beside their code, `uvicorn`), talking to the
stock runner bot: the console at `/rtvi/` connects, a typed turn is answered, it disconnects, and
every request the page makes to the app stays under `/rtvi/`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import open_console, typed_exchange
from tests.conftest import ROOT, SUITE_BOOT, browser_config
from tests.runner_bot import RunnerBot, runner_bot
from tests.wheel.conftest import Installed

__all__ = ["runner_bot"]  # the fixture, imported for this module's tests

pytestmark = [pytest.mark.wheel, pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS
PREFIX = "/rtvi"


@dataclass
class InstalledMount(LiveServer):
    """`uvicorn fastapi_mount:app` in the user's directory, with the wheel's virtualenv."""

    installed: Installed | None = None
    health_path = PREFIX + "/health"

    def start(self, log_dir: Path) -> InstalledMount:
        assert self.installed is not None
        self.log_path = log_dir / f"installed-mount-{self.port}.log"
        app = ["fastapi_mount:app", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(self.installed.venv / "bin" / "python"), "-m", "uvicorn", *app],
                cwd=self.installed.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.installed.env(PYRTVI_BOOT=SUITE_BOOT, **self.env),
            )
        self.wait_healthy("the installed FastAPI app")
        return self


@pytest.fixture(scope="module")
def mounted(
    installed: Installed, runner_bot: RunnerBot, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InstalledMount]:
    subprocess.run(
        [str(installed.venv / "bin" / "pip"), "install", "-q", "fastapi"],
        check=True,
        cwd=installed.home,
        env=installed.env(),
        capture_output=True,
    )
    shutil.copy(ROOT / "examples" / "fastapi_mount.py", installed.home / "fastapi_mount.py")
    app = InstalledMount([], {"PYRTVI_BOT_URL": runner_bot.url}, installed=installed)
    app.start(tmp_path_factory.mktemp("installed-mount"))
    try:
        yield app
    finally:
        app.stop()


def test_fastapi_app_mounting_the_wheel_talks_to_a_runner_bot(
    page: Page, mounted: InstalledMount
) -> None:
    requested: list[str] = []

    def note(request: Request) -> None:
        requested.append(request.url)

    page.on("request", note)
    open_console(page, mounted.url + PREFIX)
    expect(page.locator("html")).to_have_attribute("data-pyrtvi-boot", "snapshot")
    typed_exchange(page, "hello from the installed mount", server_url=mounted.url + PREFIX)

    ours = [url for url in requested if url.startswith(mounted.url)]
    assert any(urlsplit(url).path.endswith("/offer") for url in ours), ours
    outside = [url for url in ours if not urlsplit(url).path.startswith(PREFIX + "/")]
    assert outside == [], f"{outside}\n{mounted.log()}"
