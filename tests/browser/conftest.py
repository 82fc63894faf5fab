"""Browser-test guards (no request may leave the machine) and the fixtures the browser modules
share: the harness pool, Chromiums without media permissions or without devices, the stock
runner bot (tests/runner_bot) and a `pyrtvi serve` in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright
from pyrtvi_testing.chromium import guard_offhost
from pyrtvi_testing.harness import HarnessPool
from pyrtvi_testing.processes import LiveServer

from tests.conftest import browser_config
from tests.runner_bot import RunnerBot, runner_bot, runner_ws_bot

__all__ = ["runner_bot", "runner_ws_bot"]  # the fixtures, for every browser module


#: Chromium asks nobody for media permissions, so it denies them (``NotAllowedError``).
DENYING_ARGS = [a for a in browser_config.LAUNCH_ARGS if a != "--use-fake-ui-for-media-stream"]
#: No fake devices: this machine has no microphone or camera (``NotFoundError``).
NO_DEVICES_ARGS = [
    a
    for a in browser_config.LAUNCH_ARGS
    if "fake-audio" not in a and a != "--use-fake-device-for-media-stream"
]


@pytest.fixture(autouse=True)
def offhost_guard(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Abort and record any request to a host other than loopback; fail the test if one happened.

    A module whose pages all live in pools of their own (``POOLS_ONLY = True``: each pool guards
    its context) does without it, so the suite's default browser is not started for it.
    """
    if getattr(request.module, "POOLS_ONLY", False):
        yield []
        return
    context: BrowserContext = request.getfixturevalue("context")
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


def launched(playwright: Playwright, args: list[str]) -> Iterator[Browser]:
    """A Chromium of the suite's settings but launched with ``args``, closed after."""
    browser = playwright.chromium.launch(
        executable_path=browser_config.CHROMIUM, args=args, headless=browser_config.HEADLESS
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def denying_browser(playwright: Playwright) -> Iterator[Browser]:
    """A Chromium that denies media permissions (:data:`DENYING_ARGS`), one per module."""
    yield from launched(playwright, DENYING_ARGS)


@pytest.fixture(scope="module")
def denying(denying_browser: Browser) -> Iterator[HarnessPool]:
    """A harness pool in :func:`denying_browser`."""
    with HarnessPool(denying_browser) as harness_pool:
        yield harness_pool


@pytest.fixture(scope="module")
def no_devices(playwright: Playwright) -> Iterator[HarnessPool]:
    """A harness pool in a Chromium without devices (:data:`NO_DEVICES_ARGS`), one per module."""
    for browser in launched(playwright, NO_DEVICES_ARGS):
        with HarnessPool(browser) as harness_pool:
            yield harness_pool


@pytest.fixture(scope="module")
def proxied(server_factory: Any, runner_bot: RunnerBot) -> LiveServer:
    """`pyrtvi serve --bot url --bot-url <the runner bot on -t webrtc>`."""
    return server_factory("--bot", "url", "--bot-url", runner_bot.url)  # type: ignore[no-any-return]
