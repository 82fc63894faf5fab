"""Browser-test guards: no request may leave the machine."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Route

from tests.conftest import browser_config


@pytest.fixture(autouse=True)
def offhost_guard(context: BrowserContext) -> Iterator[list[str]]:
    """Abort and record any request to a host other than loopback; fail the test if one happened."""
    offhost: list[str] = []

    def check(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("http://", "https://", "ws://", "wss://")) and (
            host not in browser_config.ALLOWED_HOSTS
            and f"[{host}]" not in browser_config.ALLOWED_HOSTS
        ):
            offhost.append(url)
            route.abort()
        else:
            route.fallback()

    context.route("**/*", check)
    context.set_default_timeout(browser_config.ACTION_TIMEOUT_MS)
    yield offhost
    assert not offhost, f"the page requested off-host URLs: {offhost}"
