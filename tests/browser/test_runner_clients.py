"""Pages in Chromium against a stock Pipecat runner bot (tests/runner_bot, pipecat 1.14), with
`pyrtvi serve` between them and without.

- a pyrtvi page through `pyrtvi serve --bot url --bot-url <runner>`: the bot's `runner_args.body`
  is the page's request data;
- the official JS client (`startBotAndConnect({endpoint: ".../start"})`) through `pyrtvi serve`,
  in url mode (the runner bot) and embedded mode (pyrtvi's own bot), and directly on the runner
  bot as the reference.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext
from pyrtvi_testing.harness import HarnessPool
from pyrtvi_testing.processes import LiveServer

from bench.pipecat_js import PipecatJSPage
from tests.conftest import browser_config
from tests.runner_bot import RunnerBot

pytestmark = [pytest.mark.browser, pytest.mark.bot]

PAGE_DATA = {"greeting": "Hello from the page", "user": {"id": 7, "tags": ["a", "b"]}}


@pytest.fixture(scope="module")
def embedded(server_factory: Any) -> LiveServer:
    """`pyrtvi serve` as `make run` starts it: the embedded bot (pipecat 0.0.108)."""
    server: LiveServer = server_factory("--bot", "embedded")
    deadline = time.monotonic() + browser_config.SERVER_START_TIMEOUT_S
    while httpx.get(server.url + "/health", timeout=10).json()["bot"]["state"] != "running":
        assert time.monotonic() < deadline, f"the embedded bot did not start:\n{server.log()}"
        time.sleep(0.2)
    return server


def session_of(runner_bot: RunnerBot, before: set[str]) -> str:
    """The one session the runner bot ran since `before` was taken."""
    new = set(runner_bot.bodies()) - before
    assert len(new) == 1, f"expected one new session, got {new}:\n{runner_bot.log()}"
    return new.pop()


def test_pyrtvi_page_through_serve_gives_the_runner_bot_its_request_data(
    browser: Browser, proxied: LiveServer, runner_bot: RunnerBot
) -> None:
    pool = HarnessPool(browser)
    try:
        harness = pool.get(proxied)
        before = set(runner_bot.bodies())
        ready = harness.run(
            f"""
client = make_client(params={{"base_url": str(js.location.origin), "request_data": {PAGE_DATA!r}}})
ready = await client.connect()
ready
"""
        )
        assert ready["about"]["library_version"] == "1.14.0"
        # The bot itself says what it got, over the data channel...
        assert harness.run("await client.send_client_request('body', None)") == PAGE_DATA
        harness.run("await client.disconnect()")
    finally:
        pool.close()
    # ...and so does its record of `runner_args.body`.
    assert runner_bot.bodies()[session_of(runner_bot, before)] == PAGE_DATA


@pytest.mark.parametrize("where", ["url", "embedded", "direct"])
def test_official_js_client_reaches_bot_ready(
    request: pytest.FixtureRequest, js_context: BrowserContext, runner_bot: RunnerBot, where: str
) -> None:
    """`startBotAndConnect({endpoint: origin + "/start"})`, nothing else configured."""
    origin = runner_bot.url
    if where != "direct":
        server: LiveServer = request.getfixturevalue("proxied" if where == "url" else "embedded")
        origin = server.url
    before = set(runner_bot.bodies())
    client = PipecatJSPage.open(js_context, origin)
    result = client.start_bot_and_connect(origin + "/start", {"body": PAGE_DATA})
    about = result["ready"]["about"]
    if where == "embedded":
        assert about["library_version"] == "0.0.108"
        assert client.request("echo", {"i": 1}) == {"i": 1}
    else:
        assert about["library_version"] == "1.14.0"
        assert client.request("body") == PAGE_DATA
    client.disconnect()
    if where != "embedded":
        assert runner_bot.bodies()[session_of(runner_bot, before)] == PAGE_DATA
