"""The console served by the installed wheel, in Chromium, against the stock runner bot."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect
from pyrtvi_testing.chromium import guard_offhost

from tests.browser.page_support import open_console, typed_exchange
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

    typed_exchange(page, "hello wheel")
    assert not failed, f"requests that failed: {failed}\n{server.log()}"
    assert not offhost, f"the page requested off-host URLs: {offhost}"
