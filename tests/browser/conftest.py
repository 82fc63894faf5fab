"""Browser-test guards (no request may leave the machine) and the fixtures the browser modules
share: the harness pool, the stock runner bot (tests/runner_bot) and a `pyrtvi serve` in front of
it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext
from pyrtvi_testing.chromium import guard_offhost
from pyrtvi_testing.harness import HarnessPool
from pyrtvi_testing.processes import LiveServer

from tests.conftest import browser_config
from tests.runner_bot import RunnerBot, runner_bot, runner_ws_bot

__all__ = ["runner_bot", "runner_ws_bot"]  # the fixtures, for every browser module


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


@pytest.fixture(scope="module")
def pool(request: pytest.FixtureRequest) -> Iterator[HarnessPool]:
    """One harness page per server, shared by a module's tests (`pyrtvi_testing.harness`).

    A module sets `HARNESS_GRANTS` to grant its context permissions ("local-network-access": its
    page opens sockets to loopback) and `HARNESS_BROWSER` to use another browser fixture
    (`"rtvi_browser"`: the kit's Chromium, which has no fake devices).
    """
    browser: Browser = request.getfixturevalue(
        getattr(request.module, "HARNESS_BROWSER", "browser")
    )
    with HarnessPool(browser, getattr(request.module, "HARNESS_GRANTS", ())) as harness_pool:
        yield harness_pool


@pytest.fixture(scope="module")
def proxied(server_factory: Any, runner_bot: RunnerBot) -> LiveServer:
    """`pyrtvi serve --bot url --bot-url <the runner bot on -t webrtc>`."""
    return server_factory("--bot", "url", "--bot-url", runner_bot.url)  # type: ignore[no-any-return]
