"""Browser-test guards: no request may leave the machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.browser.pages import guard_offhost
from tests.conftest import browser_config


@pytest.fixture(autouse=True)
def offhost_guard(context: BrowserContext) -> Iterator[list[str]]:
    """Abort and record any request to a host other than loopback; fail the test if one happened."""
    offhost = guard_offhost(context)
    context.set_default_timeout(browser_config.ACTION_TIMEOUT_MS)
    yield offhost
    assert not offhost, f"the page requested off-host URLs: {offhost}"


@pytest.fixture
def js_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh context of its own (for the official JS client's pages), with the same guard."""
    context = browser.new_context()
    context.set_default_timeout(browser_config.ACTION_TIMEOUT_MS)
    offhost = guard_offhost(context)
    yield context
    context.close()
    assert not offhost, f"the page requested off-host URLs: {offhost}"
