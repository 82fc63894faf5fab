"""The console served by the installed wheel, in Chromium, against the stock runner bot."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from tests.browser.page_support import open_console
from tests.browser.pages import guard_offhost
from tests.conftest import browser_config
from tests.runner_bot import RunnerBot, runner_bot
from tests.wheel.conftest import InstalledServer

__all__ = ["runner_bot"]  # the fixture, imported for this module's tests

pytestmark = [pytest.mark.wheel, pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS


def test_console_from_the_wheel_talks_to_a_runner_bot(
    context: BrowserContext,
    page: Page,
    runner_bot: RunnerBot,
    serve_installed: Callable[..., InstalledServer],
) -> None:
    offhost = guard_offhost(context)
    context.set_default_timeout(T)
    failed: list[str] = []

    def note(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", note)
    server = serve_installed("--bot-url", runner_bot.url)
    open_console(page, server.url)
    # The build's snapshot, shipped in the wheel, booted the page.
    expect(page.locator("html")).to_have_attribute("data-pyrtvi-boot", "snapshot")

    page.get_by_text("Connection settings").click()
    page.get_by_label("Microphone on at start").uncheck()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)

    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill("hello wheel")
    box.press("Enter")
    expect(page.locator(".turn.bot").last).to_contain_text("You said: hello wheel", timeout=T)

    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    assert not failed, f"requests that failed: {failed}\n{server.log()}"
    assert not offhost, f"the page requested off-host URLs: {offhost}"
