"""The official JS WebSocket client (`@pipecat-ai/websocket-transport` 1.7.1) in Chromium against
a stock runner bot on `-t websocket`: through `pyrtvi serve`'s relay, and directly as the reference.

- through `pyrtvi serve --bot url --bot-url <runner>`: `startBotAndConnect({endpoint:
  origin + "/start", requestData: {transport: "websocket"}})`, nothing else configured;
- directly: the runner's own `/start` answers `{wsUrl, sessionId, token: null}`, which the JS
  transport refuses as connection parameters, so its users call `startBot` then
  `connect({wsUrl})`; both are shown here.

Each reaches bot-ready, answers a request, and plays the bot's tone (audio energy in the page).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Error
from pyrtvi_testing.processes import LiveServer

from bench.pipecat_ws import PipecatWSPage
from tests.runner_bot import RunnerBot

pytestmark = [pytest.mark.browser, pytest.mark.bot]

WEBSOCKET = {"transport": "websocket"}
#: The bot's tone is 8000/32768 full scale (RMS ~0.17); silence is 0.
MIN_RMS = 0.02
AUDIO_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def relay(server_factory: Any, runner_ws_bot: RunnerBot) -> LiveServer:
    """`pyrtvi serve --bot url --bot-url <the runner bot on -t websocket>`."""
    return server_factory("--bot", "url", "--bot-url", runner_ws_bot.url)  # type: ignore[no-any-return]


def hears_the_bot(client: PipecatWSPage) -> float:
    """Ask the echo bot to speak; the loudest RMS the page played before the timeout."""
    client.send_text("Hello bot")
    deadline = time.monotonic() + AUDIO_TIMEOUT_S
    while client.max_rms() < MIN_RMS and time.monotonic() < deadline:
        time.sleep(0.1)
    return client.max_rms()


@pytest.mark.parametrize("where", ["relay", "direct"])
def test_official_ws_client_reaches_bot_ready_and_hears_the_bot(
    request: pytest.FixtureRequest, js_context: BrowserContext, runner_ws_bot: RunnerBot, where: str
) -> None:
    if where == "relay":
        server: LiveServer = request.getfixturevalue("relay")
        client = PipecatWSPage.open(js_context, server.url)
        result = client.start_bot_and_connect(server.url + "/start", WEBSOCKET)
        # The page only ever talked to our server: the bot's port is nowhere in its sockets.
        sockets = client.sockets
        assert sockets and all(url.startswith(f"ws://127.0.0.1:{server.port}/") for url in sockets)
    else:
        client = PipecatWSPage.open(js_context, runner_ws_bot.url)
        result = client.start_bot_then_connect(runner_ws_bot.url + "/start", WEBSOCKET)
        assert client.sockets == [runner_ws_bot.ws_url]
    assert result["ready"]["about"]["library_version"] == "1.14.0"
    # A request round trip: the runner bot answers `body` with its runner_args.body (none here).
    assert client.request("body")["reply"] is None
    rms = hears_the_bot(client)
    assert rms >= MIN_RMS, f"bot audio is silent in the page (max RMS {rms}): {client.events()}"
    client.disconnect()


def test_the_runners_own_start_reply_is_refused_by_the_js_transport(
    js_context: BrowserContext, runner_ws_bot: RunnerBot
) -> None:
    """Why pyrtvi serve's `/start` answers `{wsUrl}` alone: the runner's extra keys fail it."""
    client = PipecatWSPage.open(js_context, runner_ws_bot.url)
    with pytest.raises(Error, match="Unrecognized connection parameter: sessionId"):
        client.start_bot_and_connect(runner_ws_bot.url + "/start", WEBSOCKET)


def test_relay_refusals_reach_the_page_with_their_code_and_reason(
    js_context: BrowserContext, relay: LiveServer, runner_ws_bot: RunnerBot
) -> None:
    """A page of another origin (the runner's, not allowed by pyrtvi serve) gets 4003 and why;
    a page of our own origin on a session that was never issued gets 4404."""
    ws_url = httpx.post(relay.url + "/start", json=WEBSOCKET).json()["wsUrl"]
    foreign = PipecatWSPage.open(js_context, runner_ws_bot.url)
    closed = foreign.close_of(ws_url)
    assert closed["code"] == 4003, closed
    assert runner_ws_bot.url.removeprefix("http://") in closed["reason"]
    own = PipecatWSPage.open(js_context, relay.url)
    closed = own.close_of(f"ws://127.0.0.1:{relay.port}/sessions/never-issued/ws")
    assert closed["code"] == 4404 and "unknown" in closed["reason"], closed
