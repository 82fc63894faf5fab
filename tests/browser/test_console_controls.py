"""The console's controls panel and theme, in Chromium, against the stock runner bot
(tests/runner_bot, pipecat 1.14, RTVI 2.2) through `pyrtvi serve --bot-url`: one server and bot
for the module.

- The keypad's keys reach the bot: its `DTMFAggregator` makes them the user's turn
  "DTMF: 42#", which the bot echoes; a file goes as RTVI `send-file` and the bot's LLM gets it
  (echoed too). Screen share is off for this bot (no video in, its capabilities say so); the bot
  volume slider sets `#bot-audio`'s volume and is remembered.
- The theme: the system's by default, set before the first paint, switched by `#theme` from the
  keyboard, remembered after a reload; no horizontal overflow at phone width in either theme.
"""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import Page, expect
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import DESKTOP, PHONE, no_horizontal_overflow, open_console
from tests.conftest import browser_config

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS

FILE_BODY = b"pyrtvi file body"

#: Records the theme <html> has when <body> is first parsed: set then, it is there at first paint.
THEME_AT_BODY = """
new MutationObserver((_, observer) => {
  if (!document.body) return;
  window.__themeAtBody = document.documentElement.dataset.theme || null;
  observer.disconnect();
}).observe(document, {childList: true, subtree: true});
"""


def audio_volume(page: Page) -> float:
    return float(page.evaluate("() => document.getElementById('bot-audio').volume"))


def test_keypad_file_and_volume_with_the_runner_bot(page: Page, proxied: LiveServer) -> None:
    page.set_viewport_size(DESKTOP)
    open_console(page, proxied.url)
    keys = page.locator("#dtmf-keypad button[data-key]")
    expect(keys).to_have_count(12)
    # No session: nothing to send to, and the hints say what it takes.
    expect(keys.first).to_be_disabled()
    expect(page.locator("#dtmf-hint")).to_contain_text("RTVI 2.0")
    expect(page.locator("#file-send")).to_be_disabled()
    expect(page.locator("#screen-share")).to_be_disabled()

    page.get_by_text("Connection settings").click()
    page.get_by_label("Microphone on at start").uncheck()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)
    expect(page.locator("#bot-version")).to_contain_text("2.2.0")
    for hint in ("#dtmf-hint", "#file-hint"):
        expect(page.locator(hint)).to_be_hidden()
    # This bot has no video in: its bot-ready capabilities say `screen_in: false`.
    expect(page.locator("#screen-share")).to_be_disabled()
    expect(page.locator("#screen-hint")).to_have_text(
        "This bot says it takes no screen video (its capabilities)."
    )

    # Keys by mouse, then from the keyboard (a key of the keypad has the focus: type on it).
    page.locator('#dtmf-keypad [data-key="4"]').click()
    page.locator('#dtmf-keypad [data-key="2"]').focus()
    page.keyboard.press("2")
    page.keyboard.press("#")
    expect(page.locator("#dtmf-sent")).to_have_text("Sent: 42#")
    expect(page.locator('#dtmf-keypad [data-key="#"]')).to_be_focused()
    expect(page.locator(".turn.bot", has_text="You said: DTMF: 42#")).to_have_count(1, timeout=T)
    expect(page.locator('#event-log li[data-event="send_dtmf()"]')).to_have_count(3)

    # A file, with a message: RTVI 2.2 send-file; the bot's LLM context gets both.
    page.locator("#file-input").set_input_files(
        {"name": "note.txt", "mimeType": "text/plain", "buffer": FILE_BODY}
    )
    page.get_by_label("Message with it").fill("What is in this file?")
    page.get_by_role("button", name="Send file").click()
    expect(page.locator("#file-status")).to_have_text(
        re.compile(r"^Sent note\.txt \(16 bytes, text/plain, (inline|by URL)\)\.$"), timeout=T
    )
    answer = page.locator(".turn.bot", has_text="What is in this file?")
    expect(answer).to_have_count(1, timeout=T)
    if "inline" in page.locator("#file-status").inner_text():
        expect(answer).to_contain_text(base64.b64encode(FILE_BODY).decode())

    # Bot volume: the slider, from the keyboard, sets the audio element's volume.
    assert audio_volume(page) == 1.0
    volume = page.get_by_label("Bot volume")
    volume.focus()
    page.keyboard.press("Home")
    expect(page.locator("#bot-volume-value")).to_have_text("0 %")
    assert audio_volume(page) == 0.0
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#bot-volume-value")).to_have_text("30 %")
    assert audio_volume(page) == pytest.approx(0.3)

    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    expect(keys.first).to_be_disabled()
    assert page.evaluate("pyrtvi.inCall()") is False  # the call is over for the boot's copies

    # The volume is remembered.
    open_console(page, proxied.url)
    expect(page.locator("#bot-volume")).to_have_value("30")
    assert audio_volume(page) == pytest.approx(0.3)


def test_theme_follows_the_system_switches_and_is_remembered(
    page: Page, proxied: LiveServer
) -> None:
    html = page.locator("html")
    toggle = page.locator("#theme")
    page.add_init_script(THEME_AT_BODY)
    backgrounds = {}
    for system in ("light", "dark"):
        page.emulate_media(color_scheme=system)  # type: ignore[arg-type]
        page.goto(proxied.url + "/")
        expect(html).to_have_attribute("data-theme", system)
        assert page.evaluate("() => window.__themeAtBody") == system  # before the first paint
        expect(toggle).to_have_attribute("aria-pressed", "true" if system == "dark" else "false")
        backgrounds[system] = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert backgrounds["light"] != backgrounds["dark"]

    # The system says dark; the person picks light from the keyboard: remembered from now on.
    open_console(page, proxied.url)
    toggle.focus()
    page.keyboard.press("Enter")
    expect(html).to_have_attribute("data-theme", "light")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(html).to_have_attribute("data-theme", "light")
    assert page.evaluate("() => window.__themeAtBody") == "light"

    # Phone width, both themes: nothing wider than the screen.
    page.set_viewport_size(PHONE)
    for theme in ("light", "dark"):
        if html.get_attribute("data-theme") != theme:
            toggle.click()
        expect(html).to_have_attribute("data-theme", theme)
        assert no_horizontal_overflow(page), theme
        assert toggle.is_visible()
