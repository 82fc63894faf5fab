"""The console on any bot (issue 24, items 4 and 5): the "start endpoint" mode of the connection
settings starts a session on the stock runner bot (tests/runner_bot) by its `/start` URL, straight
from the page, and goes back to the server's own bot; `#session-info` shows the transport, the
session id, both RTVI versions, the bot's capabilities and the connect time split, and copies them.

One server (`pyrtvi serve --bot-url <runner>`: "This server's bot" is the runner through the
server), one runner bot and one page for the whole module.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import disconnect, open_console, typed_turn
from tests.conftest import browser_config
from tests.runner_bot import RunnerBot

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS


def info(page: Page, key: str) -> str:
    return page.locator(f'#session-info [data-info="{key}"]').inner_text()


def talk(page: Page, text: str) -> None:
    """Connect as the settings say, type `text`, see the runner bot's answer."""
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)
    typed_turn(page, text)


def test_start_endpoint_mode_on_the_runner_and_back_with_session_info(
    page: Page, context: BrowserContext, proxied: LiveServer, runner_bot: RunnerBot
) -> None:
    # The page (one origin) calls the runner (another port) itself, with no permission granted:
    # from a loopback page to a loopback runner, Local Network Access does not ask. The
    # clipboard is granted for the copy button.
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=proxied.url)
    to_runner: list[Request] = []
    page.on("request", lambda r: to_runner.append(r) if r.url.startswith(runner_bot.url) else None)
    open_console(page, proxied.url)
    page.get_by_text("Connection settings").click()
    page.get_by_label("Microphone on at start").uncheck()
    expect(page.locator("#start-url")).to_be_hidden()
    page.get_by_label("Connect to").select_option("start")
    start = runner_bot.url + "/start"
    page.get_by_label("Start URL").fill(start)

    # A body that is not JSON: said at once under the field, and Connect sends nothing.
    body = page.get_by_label("Request body (a JSON object)")
    body.fill('{"body": {"greeting": "hi"}')
    status = page.locator("#start-body-status")
    expect(status).to_contain_text("not valid JSON")
    expect(body).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Connect", exact=True).click()
    banner = page.get_by_role("alert")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("data-kind", "settings")
    expect(banner).to_contain_text("The request body is not valid JSON")
    expect(page.locator("#transport-state")).to_have_text("disconnected")
    assert to_runner == []

    # Fixed: the session starts on the runner's /start, its body as runner_args.body.
    body.fill('{"body": {"greeting": "hi"}}')
    expect(status).to_have_text("")
    page.get_by_label(re.compile("^Headers")).fill("X-Console: anybot")
    before = set(runner_bot.bodies())
    talk(page, "hello runner")
    expect(banner).to_be_hidden()
    started = [r for r in to_runner if r.url == start and r.method == "POST"]
    assert len(started) == 1 and started[0].headers.get("x-console") == "anybot"
    assert any(re.search(r"/sessions/[^/]+/api/offer$", r.url) for r in to_runner)
    (session_id,) = set(runner_bot.bodies()) - before
    assert runner_bot.bodies()[session_id] == {"greeting": "hi"}

    # Session info: transport, session id, both versions, capabilities, the split.
    assert info(page, "transport") == "WebRTC (SmallWebRTC)"
    assert info(page, "bot") == f"start endpoint: {start}"
    assert info(page, "session-id") == session_id
    assert info(page, "client-version").startswith("RTVI 2.2.0 (pyrtvi ")
    assert re.match(r"RTVI 2\.2\.0 \(.+ 1\.14\.0\)$", info(page, "bot-version"))
    assert "audio_in" in info(page, "capabilities")
    split = page.locator('#session-info [data-info="connect-split"]')
    phases = split.locator("[data-phase]")
    expect(phases).to_have_count(4)
    assert phases.evaluate_all("els => els.map(e => e.dataset.phase)") == [
        "init",
        "auth",
        "transport",
        "ready",
    ]
    ms = phases.evaluate_all("els => els.map(e => Number(e.dataset.ms))")
    total = float(split.get_attribute("data-total-ms") or "nan")
    assert all(m >= 0 for m in ms) and ms[2] > 0 and abs(sum(ms) - total) < 1, (ms, total)
    assert "start request" in split.inner_text() and "offer + ICE" in split.inner_text()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#session-info-status")).to_have_text("copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert f"Session id: {session_id}" in copied and "Connect split: devices" in copied
    assert "anybot" not in copied  # never a header
    disconnect(page)

    # Back to the server's own bot (here: the same runner, through `pyrtvi serve --bot-url`).
    page.get_by_label("Connect to").select_option("server")
    expect(page.locator("#start-url")).to_be_hidden()
    runner_calls = len(to_runner)
    talk(page, "hello server")
    assert len(to_runner) == runner_calls  # the server relayed it all
    assert info(page, "bot") == f"this server's bot: {proxied.url}"
    assert info(page, "session-id") not in ("–", session_id)
    expect(split.locator("[data-phase]")).to_have_count(4)
    disconnect(page)
