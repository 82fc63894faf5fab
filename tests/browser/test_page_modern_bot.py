"""The console against a pipecat 1.14 bot (RTVI 2.x): no config/actions messages, send-text works.

The page must say what the bot does not support instead of showing empty or broken panels.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import open_console, screenshot, serve_embedded_bot
from tests.conftest import ROOT, browser_config

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS
PIPECAT = "1.14.0"


@pytest.fixture(scope="module")
def modern_bot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not (ROOT / ".venvs" / f"bot-{PIPECAT}" / "bin" / "python").exists():
        pytest.skip(f"no pipecat {PIPECAT} bot venv (make setup-test creates it)")
    yield from serve_embedded_bot(
        tmp_path_factory.mktemp("modern-server"), "--bot-pipecat", PIPECAT
    )


def test_modern_bot_degrades_clearly(page: Page, modern_bot_server: LiveServer) -> None:
    open_console(page, modern_bot_server.url)
    page.get_by_text("Connection settings").click()
    page.get_by_label("Microphone on at start").uncheck()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)
    expect(page.locator("#bot-version")).to_have_text(re.compile(r"^RTVI \d+\.\d+"))

    # No config or action messages on RTVI ≥ 1 bots: said plainly, no banner.
    expect(page.locator("#config-status")).to_contain_text("not supported", timeout=T)
    expect(page.locator("#config-form")).to_be_hidden()
    expect(page.locator("#actions-empty")).to_contain_text("does not describe its actions")
    expect(page.get_by_role("alert")).to_be_hidden()

    # The text box picks send-text for this bot.
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill("hello")
    box.press("Enter")
    expect(page.locator('#event-log li[data-event="send_text()"]')).to_have_count(1)
    expect(page.locator(".turn.bot").last).to_contain_text("Hello!", timeout=T)
    screenshot(page, "console-modern-bot")
