"""The embed example (web/examples/embed.html): the documented snippet, served by pyrtvi itself
and, rewritten exactly as docs/embedding.md says, from another origin.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pyrtvi_testing.processes import LiveServer, free_port

from tests.browser.page_support import screenshot, serve_embedded_bot
from tests.conftest import ROOT, browser_config

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS
EXAMPLE = ROOT / "web" / "examples" / "embed.html"
#: The other origin: `localhost` is a different origin from `127.0.0.1` (and a secure context).
OTHER_PORT = free_port()
OTHER_ORIGIN = f"http://localhost:{OTHER_PORT}"


def for_another_origin(html: str, server: str) -> str:
    """The three edits docs/embedding.md lists for a page on another origin."""
    edits = {
        'src="/pyscript/core.js"': f'src="{server}/pyscript/core.js"',
        'config="/pyscript.json"': f'config="{server}/pyscript.json"',
        "SERVER = window.location.origin": f'SERVER = "{server}"',
    }
    for old, new in edits.items():
        assert html.count(old) == 1, f"the example no longer has {old!r}"
        html = html.replace(old, new)
    return html


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The local boot mode, as a user runs it: a plain first visit, then the local snapshot.
    yield from serve_embedded_bot(
        tmp_path_factory.mktemp("embed-server"), "--allowed-origin", OTHER_ORIGIN, "--boot", "local"
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def static_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[int], Path]]:
    """Plain static web servers (someone else's site) on given ports; returns the folder."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(port: int) -> Path:
        folder = tmp_path_factory.mktemp(f"site-{port}")
        handler = functools.partial(_Quiet, directory=str(folder))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return folder

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def talk_and_hang_up(page: Page) -> None:
    status = page.locator("#status")
    expect(status).to_have_text("ready, press Talk", timeout=browser_config.BOOT_TIMEOUT_MS)
    page.get_by_role("button", name="Talk").click()
    expect(status).to_have_text("ready", timeout=T)
    # The fake microphone speaks; the bot answers and the page shows its words.
    expect(page.locator("#bot-text")).to_contain_text("I heard you speak", timeout=T)
    page.get_by_role("button", name="Hang up").click()
    expect(status).to_have_text("disconnected", timeout=T)


def test_example_served_by_pyrtvi(page: Page, bot_server: LiveServer) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(bot_server.url + "/examples/embed.html")
    talk_and_hang_up(page)
    assert all(url.startswith(bot_server.url) for url in requested), requested
    assert bot_server.url + "/pyscript/core.js" in requested
    screenshot(page, "embed-same-origin")


def test_example_on_another_origin(
    page: Page, bot_server: LiveServer, static_site: Callable[[int], Path]
) -> None:
    folder = static_site(OTHER_PORT)
    (folder / "embed.html").write_text(for_another_origin(EXAMPLE.read_text(), bot_server.url))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{OTHER_ORIGIN}/embed.html")
    talk_and_hang_up(page)
    # The page came from the other origin; Python, the client and the session from pyrtvi.
    assert requested[0] == f"{OTHER_ORIGIN}/embed.html"
    assert all(url.startswith(bot_server.url) for url in requested[1:]), requested
    for path in ("/pyscript.json", "/py/rtvi.zip", "/connect"):
        assert bot_server.url + path in requested, path
    screenshot(page, "embed-other-origin")
    # The snapshot Worker ran for the other origin's page (from a blob: a Worker script must be
    # of the page's origin), and the next visit boots from it and talks again.
    assert page.evaluate("window.pyrtviBootInfo.mode") == "plain"
    expect(page.locator("html")).to_have_attribute(
        "data-pyrtvi-snapshot", "stored", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    page.goto(f"{OTHER_ORIGIN}/embed.html")
    talk_and_hang_up(page)
    assert page.evaluate("[pyrtviBootInfo.mode, pyrtviBootInfo.source]") == ["snapshot", "local"]


def test_origin_not_allowed_cannot_start_a_session(
    page: Page, bot_server: LiveServer, static_site: Callable[[int], Path]
) -> None:
    port = free_port()
    folder = static_site(port)
    (folder / "embed.html").write_text(for_another_origin(EXAMPLE.read_text(), bot_server.url))
    page.goto(f"http://localhost:{port}/embed.html")
    status = page.locator("#status")
    expect(status).to_have_text("ready, press Talk", timeout=browser_config.BOOT_TIMEOUT_MS)
    page.get_by_role("button", name="Talk").click()
    # The server refuses the CORS request, so the browser does not even let the page read why.
    expect(status).to_contain_text("could not connect", timeout=T)


def test_the_documented_playwright_test_passes(bot_server: LiveServer, tmp_path: Path) -> None:
    """docs/testing.md's test file, exactly as printed, run by pytest as a user would."""
    doc = (ROOT / "docs" / "testing.md").read_text()
    (code,) = re.findall(r"## A complete test.*?```python\n(.*?)```", doc, re.S)
    (tmp_path / "test_my_page.py").write_text(code)
    env = {
        **os.environ,
        "PYRTVI_URL": bot_server.url,
        "FAKE_MIC_WAV": str(browser_config.FAKE_MIC_WAV),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_page.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout, run.stdout
