"""The console page, driven as a person would, against the embedded offline bot (pipecat 0.0.108).

Chromium's fake microphone plays tests/data/speech48k.wav in a loop, so a connected session with
the mic on hears speech; the bot answers typed text with its rule-based stand-in LLM and speaks
with espeak. Screenshots land in test-results/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, expect
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import (
    DESKTOP,
    PHONE,
    bot_serving,
    keep_as_docs_screenshot,
    no_horizontal_overflow,
    open_console,
    record_attribute,
    record_texts,
    recorded_attribute,
    recorded_texts,
    screenshot,
)
from tests.conftest import browser_config

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `pyrtvi serve` with its embedded bot for the whole module."""
    with bot_serving(["--bot", "embedded"], tmp_path_factory.mktemp("page-server")) as server:
        yield server


def connect(page: Page, *, mic: bool = True) -> None:
    """Open the settings, choose whether the mic starts on, press Connect, wait for bot-ready."""
    if not mic:
        page.get_by_text("Connection settings").click()
        page.get_by_label("Microphone on at start").uncheck()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)


def test_connect_shows_transport_states_and_bot_ready(page: Page, bot_server: LiveServer) -> None:
    open_console(page, bot_server.url)
    state = page.locator("#transport-state")
    expect(state).to_have_text("disconnected")
    expect(page.locator("#bot-ready")).to_have_text("not ready")
    expect(page.get_by_role("button", name="Disconnect", exact=True)).to_be_disabled()
    record_attribute(page, "state", "#transport-state", "data-state")

    connect(page, mic=False)

    expect(state).to_have_text("ready")
    states = recorded_attribute(page, "state")
    for expected in ("initializing", "authenticating", "connecting", "connected", "ready"):
        assert expected in states, states
    assert states.index("authenticating") < states.index("connecting") < states.index("ready")
    expect(page.locator("#bot-version")).to_have_text("RTVI 1.2.0")
    expect(page.locator("#connect-time")).to_have_text(re.compile(r"^\d+ ms$|^\d+\.\d s$"))
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_disabled()
    # The event log shows bot-ready with a timing relative to the Connect click.
    ready_entry = page.locator('#event-log li[data-event="botReady"]').first
    expect(ready_entry).to_be_visible()
    expect(ready_entry.locator(".t")).to_have_text(re.compile(r"^\+\d"))

    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(state).to_have_text("disconnected", timeout=T)
    expect(page.locator("#bot-ready")).to_have_text("not ready")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    expect(page.locator("#banner")).to_be_hidden()


def test_live_voice_session_meters_transcript_and_devices(
    page: Page, bot_server: LiveServer
) -> None:
    page.set_viewport_size(DESKTOP)
    open_console(page, bot_server.url)
    connect(page, mic=True)

    # The fake microphone's speech moves the local meter and is heard by the bot's VAD.
    expect(page.locator("#user-speaking")).to_have_text("speaking", timeout=T)
    user_turn = page.locator(".turn.user").first
    expect(user_turn).to_contain_text("[speech:", timeout=T)
    bot_turn = page.locator(".turn.bot").first
    expect(bot_turn).to_contain_text("I heard you speak", timeout=T)
    expect(page.locator("#bot-speaking")).to_have_text("speaking", timeout=T)
    # Meters: the peaks the page saw (the bars themselves move too fast to catch).
    for meter in ("local-level", "bot-level"):
        page.wait_for_function(
            "(id) => parseFloat(document.getElementById(id).dataset.peak || '0') > 0.02",
            arg=meter,
            timeout=T,
        )

    # Device pickers list Chromium's fake devices; the mic can be muted and unmuted.
    expect(page.get_by_label("Microphone", exact=True)).to_be_enabled()
    assert "Fake" in page.locator("#mic-select option").first.inner_text()
    assert page.locator("#speaker-select option").count() >= 1
    mic = page.locator("#mic-toggle")
    expect(mic).to_have_attribute("aria-pressed", "true")
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "false")
    expect(mic).to_have_text("Mic muted")
    expect(page.locator('#event-log li[data-event="enable_mic(False)"]')).to_have_count(1)
    mic.click()
    expect(mic).to_have_text("Mic on")
    # Pick another microphone: the client switches the device (micUpdated).
    mics = page.locator("#mic-select option")
    if mics.count() > 1:
        other = mics.nth(1).get_attribute("value")
        page.get_by_label("Microphone", exact=True).select_option(other)
        expect(page.locator('#event-log li[data-event="micUpdated"]')).to_have_count(1, timeout=T)
        expect(page.get_by_label("Microphone", exact=True)).to_have_value(other or "")
    # The camera: off by default, on shows the local preview.
    cam = page.locator("#cam-toggle")
    expect(cam).to_have_attribute("aria-pressed", "false")
    cam.click()
    expect(cam).to_have_text("Camera on")
    expect(page.get_by_label("Your camera")).to_be_visible(timeout=T)
    page.wait_for_function(
        "() => document.getElementById('local-video').srcObject !== null", timeout=T
    )

    screenshot(page, "console-voice-desktop")
    page.set_viewport_size(PHONE)
    assert no_horizontal_overflow(page)
    screenshot(page, "console-voice-phone")
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "console-voice-phone-top", full_page=False)

    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)


def test_type_pick_a_voice_and_run_an_action(page: Page, bot_server: LiveServer) -> None:
    page.set_viewport_size(DESKTOP)
    open_console(page, bot_server.url)
    connect(page, mic=False)

    # Type to the bot: the text appears as the user's turn, the answer streams in.
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill("hello there")
    box.press("Enter")
    expect(page.locator(".turn.user").last).to_contain_text("hello there")
    answer = page.locator(".turn.bot").last
    expect(answer).to_contain_text("Hello! I am the pyrtvi test bot", timeout=T)
    expect(answer).to_have_attribute("data-final", "true", timeout=T)
    expect(answer.locator(".spoken")).to_contain_text("offline", timeout=T)
    expect(box).to_have_value("")

    # The bot's config, described by describe-config: pick another TTS voice and apply it.
    voice = page.get_by_label("voice")
    expect(voice).to_be_visible(timeout=T)
    assert voice.locator("option").count() > 5
    expect(voice).to_have_value("en-us")
    # Bad JSON is refused in the page, before anything is sent.
    messages = page.locator("#config-llm-messages")
    messages.fill("[not json")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#config-status")).to_contain_text("llm.messages: not valid JSON")
    expect(page.locator("#config-status")).to_have_attribute("data-status", "error")
    expect(messages).to_be_focused()
    messages.fill("")
    # Nothing changed: nothing is sent.
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#config-status")).to_have_text("Nothing changed.")
    voice.select_option("en-gb")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#config-status")).to_have_text("Applied: tts.voice = en-gb", timeout=T)
    update = page.locator('#event-log li[data-event="update_config()"] .data')
    expect(update).to_have_count(1)
    expect(update).to_contain_text('"value": "en-gb"')
    # Reloading asks the bot again; the applied voice stays shown.
    page.get_by_role("button", name="Reload").click()
    expect(page.locator("#config-status")).to_have_text("2 services described by the bot.")
    expect(page.get_by_label("voice")).to_have_value("en-gb")

    # The actions described by describe-actions: make the bot say something.
    say = page.locator("#action-tts-say")
    expect(say).to_be_visible()
    say.get_by_role("textbox", name="text", exact=True).fill("Testing the new voice.")
    say.get_by_role("button", name="Run").click()
    expect(say.locator("output")).to_contain_text("result: true", timeout=T)
    expect(page.locator("#bot-speaking")).to_have_text("speaking", timeout=T)
    # Speech without an LLM turn gets a turn of its own in the transcript.
    said = page.locator(".turn.bot", has_text="Testing the new voice")
    expect(said).to_have_count(1, timeout=T)
    expect(said.locator(".who")).to_have_text("Bot (speaking)")
    # llm:get_context returns the conversation so far.
    context = page.locator("#action-llm-get_context")
    context.get_by_role("button", name="Run").click()
    expect(context.locator("output")).to_contain_text("hello there", timeout=T)

    page.evaluate("() => window.scrollTo(0, 0)")
    path = screenshot(page, "console-live-session", full_page=False)
    keep_as_docs_screenshot(path)
    screenshot(page, "console-live-session-full")


def test_disconnected_action_streams_its_output(page: Page, bot_server: LiveServer) -> None:
    open_console(page, bot_server.url)
    # Never connected: the "Any action" form runs over HTTP (/action) and streams.
    custom = page.locator("#action-custom")
    expect(custom.get_by_role("button")).to_have_text("Run over HTTP")
    record_texts(page, "custom", "#action-custom .stream")
    custom.get_by_role("button", name="Run over HTTP").click()
    expect(custom.locator("output")).to_contain_text("result: true", timeout=T)
    expect(custom.locator(".stream")).to_have_text(
        "Why did the developer go broke? Because he used up all his cache. "
        "Sorry, I only know offline jokes."
    )
    texts = [entry["text"] for entry in recorded_texts(page, "custom")]
    # It arrived piece by piece: many growing prefixes of the final text, not one block.
    assert len(texts) >= 5, texts
    assert all(texts[-1].startswith(text) for text in texts), texts
    # The streamed reply is also in the transcript.
    expect(page.locator(".turn.bot").last).to_contain_text("offline jokes")

    # After a session, the bot's described actions stay listed and run over HTTP too.
    connect(page, mic=False)
    append = page.locator("#action-llm-append_to_messages")
    expect(append).to_be_visible(timeout=T)  # listed once the bot described them
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    append.get_by_label("messages").fill(json.dumps([{"role": "user", "content": "count"}]))
    record_texts(page, "append", "#action-llm-append_to_messages .stream")
    append.get_by_role("button", name="Run over HTTP").click()
    expect(append.locator("output")).to_contain_text("result: true", timeout=T)
    expect(append.locator(".stream")).to_have_text("One, two, three, four, five.")
    assert len(recorded_texts(page, "append")) >= 3
    expect(page.locator('#event-log li[data-event="action() over HTTP"]')).to_have_count(2)
    # tts:say needs audio: over HTTP the bot refuses, and the page says so.
    say = page.locator("#action-tts-say")
    say.get_by_role("button", name="Run over HTTP").click()
    expect(say.locator("output")).to_have_attribute("data-status", "error", timeout=T)
    expect(say.locator("output")).to_contain_text("connected session")
    screenshot(page, "console-disconnected-action")


def test_keyboard_only(page: Page, bot_server: LiveServer) -> None:
    open_console(page, bot_server.url)
    # Skip link → session panel → Connect, all from the keyboard.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the console")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    connect_button = page.get_by_role("button", name="Connect", exact=True)
    expect(connect_button).to_be_focused()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), outline
    page.keyboard.press("Enter")
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)

    def tab_to(element_id: str) -> None:
        for _ in range(40):
            if page.evaluate("() => document.activeElement.id") == element_id:
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"#{element_id} is not reachable with Tab")

    tab_to("mic-toggle")
    page.keyboard.press("Space")
    expect(page.locator("#mic-toggle")).to_have_attribute("aria-pressed", "false")
    tab_to("text-input")
    page.keyboard.type("please say keyboard works")
    page.keyboard.press("Enter")
    reply = page.locator(".turn.bot", has_text="Keyboard works")
    expect(reply).to_have_count(1, timeout=T)


def test_asking_the_bot_to_leave_ends_the_session_quietly(
    page: Page, bot_server: LiveServer
) -> None:
    open_console(page, bot_server.url)
    leave = page.get_by_role("button", name="Ask the bot to leave")
    expect(leave).to_be_disabled()
    connect(page, mic=False)
    expect(leave).to_be_enabled()
    leave.click()
    # disconnect-bot: the bot leaves (peerLeft), the client follows; nothing went wrong.
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    log = page.locator("#event-log")
    expect(log.locator('li[data-event="disconnect_bot()"]')).to_have_count(1)
    expect(log.locator('li[data-event="botDisconnected"]')).to_have_count(1)
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(leave).to_be_disabled()
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()


def test_bot_ending_the_conversation_is_shown(page: Page, bot_server: LiveServer) -> None:
    open_console(page, bot_server.url)
    connect(page, mic=False)
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill("ok, goodbye")
    box.press("Enter")
    # The bot says its farewell, then leaves on its own: the page says so.
    expect(page.locator(".turn.bot").last).to_contain_text("Goodbye!", timeout=T)
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    banner = page.get_by_role("alert")
    expect(banner).to_have_attribute("data-kind", "bot-left")
    expect(banner.locator("#banner-title")).to_have_text("The bot left the session")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    screenshot(page, "console-bot-left", full_page=False)


def test_websocket_pick_talks_through_the_relay_and_webrtc_still_connects(
    page: Page, bot_server: LiveServer
) -> None:
    open_console(page, bot_server.url)
    page.get_by_text("Connection settings").click()
    picker = page.get_by_label("Transport", exact=True)
    expect(picker).to_have_value("webrtc")
    page.get_by_label("Microphone on at start").uncheck()
    picker.select_option("websocket")
    with page.expect_request(lambda r: r.url.endswith("/connect")) as connect_request:
        page.get_by_role("button", name="Connect", exact=True).click()
    # The console asks for a WebSocket session; pyrtvi serve relays it to the embedded bot.
    body = connect_request.value.post_data_json
    assert isinstance(body, dict) and body["transport"] == "websocket"
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)
    expect(picker).to_be_disabled()  # the transport changes between sessions only
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill("hello over the socket")
    box.press("Enter")
    expect(page.locator(".turn.bot").last).not_to_be_empty(timeout=T)
    expect(page.get_by_role("alert")).to_be_hidden()
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    expect(picker).to_be_enabled()
    # Back to WebRTC: the same page connects, and the connect body no longer names a transport.
    picker.select_option("webrtc")
    with page.expect_request(lambda r: r.url.endswith("/connect")) as connect_request:
        page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)
    body = connect_request.value.post_data_json
    assert isinstance(body, dict) and "transport" not in body
    expect(picker).to_be_disabled()
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)


# Keep last: it kills the module's bot (the server starts a new one on the next /connect).
def test_bot_dying_mid_session_is_shown_and_connect_works_again(
    page: Page, bot_server: LiveServer
) -> None:
    open_console(page, bot_server.url)
    connect(page, mic=False)
    os.kill(bot_server.bot_pid(), signal.SIGKILL)
    # The reconnect attempts fail, the session ends, and the page says why.
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    banner = page.get_by_role("alert")
    expect(banner).to_have_attribute("data-kind", "bot-error")
    expect(banner.locator("#banner-title")).to_have_text("The session failed")
    expect(banner.locator("#banner-text")).to_contain_text("connection lost")
    expect(page.locator("#bot-ready")).to_have_text("not ready")
    screenshot(page, "console-bot-died", full_page=False)
    # The same page connects again to the bot the server starts anew.
    connect(page, mic=False)
    expect(banner).to_be_hidden()
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    # Leaving on purpose shows no banner.
    expect(banner).to_be_hidden()


def test_connect_and_a_message_made_before_python_is_ready_are_carried_out(
    page: Page, bot_server: LiveServer
) -> None:
    """The console works at first paint: the settings take input, Connect and a typed message
    are queued while Python loads ("starting…"), then carried out once it is up, the message
    sent once."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    # Python cannot be restored without it (nor the console start: at once after the restore).
    page.route("**/snapshot.bin", hold)
    page.goto(bot_server.url + "/", wait_until="domcontentloaded")
    page.wait_for_function("() => !!window.pyrtviBoot")
    expect(page.locator("#app")).to_be_visible()
    page.get_by_text("Connection settings").click()
    page.get_by_label("Microphone on at start").uncheck()
    page.get_by_role("button", name="Connect", exact=True).click()
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill("parrot before python")
    box.press("Enter")
    expect(page.locator("#transport-state")).to_have_text("starting…")
    expect(page.locator(".turn.user.pending")).to_contain_text("parrot before python")
    expect(box).to_have_value("")
    expect(page.locator("html")).to_have_attribute("data-boot", "loading")
    # An embedding page's hooks (docs/embedding.md): a call made now waits for the client.
    page.wait_for_function("() => !!window.pyrtvi")
    page.evaluate(
        """() => {
          window.__early = [];
          pyrtvi.call("construct_url", "connect").then((url) => __early.push(String(url)));
          document.addEventListener("pyrtvi:ready", () => __early.push("event"));
        }"""
    )
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked for the snapshot"
    held[0].continue_()
    page.unroute("**/snapshot.bin")

    expect(page.locator("html")).to_have_attribute(
        "data-boot", "ready", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)
    answer = page.locator(".turn.bot", has_text='You said: "parrot before python"')
    expect(answer).to_have_count(1, timeout=T)
    expect(answer).to_have_attribute("data-final", "true", timeout=T)
    page.wait_for_timeout(1000)  # a second send would have its answer by now
    expect(answer).to_have_count(1)
    expect(page.locator(".turn.user", has_text="parrot before python")).to_have_count(1)
    expect(page.locator(".turn.user.pending")).to_have_count(0)
    sent = page.locator('#event-log li[data-kind="call"]', has_text="parrot before python")
    expect(sent).to_have_count(1)
    # The page's client-ready event came once, then the call made before it ran.
    early = page.evaluate("window.__early")
    assert early[0] == "event" and early[1].startswith(bot_server.url), early
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
