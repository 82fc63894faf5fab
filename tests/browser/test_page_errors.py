"""The console's error banners: no bot, a dead bot, a timeout, a refused microphone.

None of these needs a running bot: the page server runs with `--bot none` or points at a port
where nothing listens, the timeout comes from a connect request that never gets an answer, and
the refused microphone from a browser launched without Chromium's auto-accept flag.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from pyrtvi_testing.chromium import guard_offhost
from pyrtvi_testing.processes import LiveServer, free_port

from tests.browser.page_support import open_console, screenshot
from tests.conftest import browser_config

pytestmark = pytest.mark.browser

T = browser_config.ACTION_TIMEOUT_MS


def press_connect(page: Page) -> None:
    page.get_by_role("button", name="Connect", exact=True).click()


def expect_banner(page: Page, kind: str, title: str, text: str | re.Pattern[str]) -> None:
    banner = page.get_by_role("alert")
    expect(banner).to_be_visible(timeout=T)
    expect(banner).to_have_attribute("data-kind", kind)
    expect(banner.locator("#banner-title")).to_have_text(title)
    expect(banner.locator("#banner-text")).to_contain_text(text)


def test_no_bot_shows_bot_down_banner(page: Page, page_server: LiveServer) -> None:
    open_console(page, page_server.url)
    press_connect(page)
    expect_banner(page, "bot-down", "The bot is not available", "HTTP 503")
    expect(page.locator("#transport-state")).to_have_text("error")
    expect(page.locator("#bot-ready")).to_have_text("not ready")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    expect(page.locator('#event-log li[data-event="banner"]')).to_contain_text("bot-down")
    screenshot(page, "banner-bot-down", full_page=False)
    # The banner can be dismissed (keyboard too), and comes back on the next failure.
    page.get_by_role("button", name="Dismiss the message").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_be_hidden()
    press_connect(page)
    expect(page.get_by_role("alert")).to_be_visible(timeout=T)


def test_dead_bot_service_shows_bot_down_banner(page: Page, server_factory: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    server: LiveServer = server_factory("--bot", "url", "--bot-url", dead)
    open_console(page, server.url)
    press_connect(page)
    expect_banner(page, "bot-down", "The bot is not available", "HTTP 502")


def test_timeout_shows_timeout_banner(page: Page, page_server: LiveServer) -> None:
    held: list[Route] = []
    # The connect request reaches nobody and is never answered: only the client timeout ends it.
    page.route("**/connect", lambda route: held.append(route))
    open_console(page, page_server.url)
    page.get_by_text("Connection settings").click()
    page.get_by_label("Timeout (seconds)").fill("2")
    press_connect(page)
    expect_banner(page, "timeout", "Timed out", "did not answer within 2 s")
    assert held, "the connect request was not made"
    expect(page.locator("#transport-state")).to_have_text("error")
    expect(page.locator("#connect-time")).to_have_text("failed")


@pytest.fixture
def denying_page(denying_browser: Browser) -> Iterator[Page]:
    """A page in a Chromium that does not auto-accept media permissions (so it denies them)."""
    context = denying_browser.new_context()
    offhost = guard_offhost(context)
    context.set_default_timeout(T)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert not offhost, offhost


def test_denied_microphone_shows_permission_banner(
    denying_page: Page, page_server: LiveServer
) -> None:
    page = denying_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_console(page, page_server.url)
    press_connect(page)
    expect_banner(page, "permission", "Microphone permission denied", "NotAllowedError")
    expect(page.locator("#transport-state")).to_have_text("error")
    # The browser refused before anything was asked of the server.
    assert not any(url.endswith("/connect") for url in requests), requests
    screenshot(page, "banner-permission", full_page=False)


def test_disconnect_while_connecting_cancels_without_a_banner(
    page: Page, page_server: LiveServer
) -> None:
    held: list[Route] = []
    page.route("**/connect", lambda route: held.append(route))
    open_console(page, page_server.url)
    press_connect(page)
    expect(page.locator("#transport-state")).to_have_text("authenticating", timeout=T)
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    expect(page.locator("#connect-time")).to_have_text("cancelled")
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    assert held, "the connect request was not made"
