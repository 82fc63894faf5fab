"""The console's event log (filter, search, pause, expand, copy) and the session's export and
import (web/app/pyrtvi_page/event_log.py, session_file.py), against one embedded bot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, FilePayload, Page, expect
from pyrtvi_page import session_file
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import bot_serving, open_console
from tests.conftest import browser_config

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `pyrtvi serve` with its embedded bot for the whole module."""
    with bot_serving(["--bot", "embedded"], tmp_path_factory.mktemp("log-server")) as server:
        yield server


def import_file(page: Page, name: str, content: str | bytes) -> None:
    data = content.encode() if isinstance(content, str) else content
    payload: FilePayload = {"name": name, "mimeType": "application/json", "buffer": data}
    page.locator("#log-import").set_input_files(payload)


def export_file(page: Page) -> tuple[str, dict[str, Any]]:
    """Click Export; the downloaded file's name and content."""
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export", exact=True).click()
    download = download_info.value
    text = Path(download.path()).read_text()
    return download.suggested_filename, json.loads(text)


def log_names(page: Page, selector: str = "#event-log li") -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        selector, "(items) => items.map((li) => li.dataset.event)"
    )


def test_typed_turn_exported_then_imported_in_a_fresh_page(
    page: Page, context: BrowserContext, bot_server: LiveServer
) -> None:
    open_console(page, bot_server.url)
    page.get_by_text("Connection settings").click()
    page.get_by_label("Microphone on at start").uncheck()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill("export me please")
    box.press("Enter")
    answer = page.locator(".turn.bot", has_text='You said: "export me please"')
    expect(answer).to_have_attribute("data-final", "true", timeout=T)
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=T)
    transcript = page.locator("#transcript li").all_inner_texts()
    latency_rows = page.locator("#latency [data-v2v-ms]").count()

    name, document = export_file(page)
    assert name.startswith("pyrtvi-session-") and name.endswith(".json")
    assert document["format"] == "pyrtvi-session" and document["version"] == 1
    assert document["session"]["transport"] == "webrtc"
    assert document["session"]["server"] == bot_server.url
    assert document["session"]["bot_rtvi_version"] == "1.2.0"
    panels = document["panels"]
    names = [event["name"] for event in panels["events"]]
    assert {"connect()", "botReady", "send_text()", "disconnected"} <= set(names), names
    assert log_names(page)[: len(names) + 1] == [*names, "export"]
    ready = next(event for event in panels["events"] if event["name"] == "botReady")
    assert ready["t_ms"] > 0 and ready["at_ms"] > 1.7e12 and ready["data"]["version"] == "1.2.0"
    said = [(turn["role"], turn["text"]) for turn in panels["transcript"]]
    assert ("user", "export me please") in said, said
    assert any(role == "bot" and "export me please" in text for role, text in said), said

    # A fresh page, never connected, shows the file as it was.
    fresh = context.new_page()
    open_console(fresh, bot_server.url)
    import_file(fresh, name, json.dumps(document))
    banner = fresh.get_by_role("alert")
    expect(banner).to_have_attribute("data-kind", "info")
    expect(banner).to_contain_text("Session imported")
    expect(fresh.locator("#transcript li")).to_have_count(len(transcript))
    assert fresh.locator("#transcript li").all_inner_texts() == transcript
    assert log_names(fresh, "#event-log li[data-imported]") == names
    expect(fresh.locator("#transport-state")).to_have_text("disconnected")
    if latency_rows:
        expect(fresh.locator("#latency [data-v2v-ms]")).to_have_count(latency_rows)
    # Every panel's part comes back as it was exported (export → import → export).
    _, again = export_file(fresh)
    for key, part in panels.items():
        if key != session_file.EVENTS_KEY:
            assert again["panels"][key] == part, key
    assert again["panels"]["events"][: len(names)] == panels["events"]

    # A bad file, or one of another version, says why in the banner; the page goes on.
    import_file(fresh, "broken.json", b"{not json")
    expect(banner).to_have_attribute("data-kind", "import")
    expect(banner).to_contain_text("broken.json: it is not JSON")
    import_file(fresh, "future.json", json.dumps({**document, "version": 99}))
    expect(banner).to_contain_text("it is version 99 of the format; this page reads version 1")
    import_file(fresh, name, json.dumps(document))
    expect(banner).to_have_attribute("data-kind", "info")
    assert fresh.locator("#transcript li").all_inner_texts() == transcript


def synthetic_session() -> str:
    """A session file with a few event types and a secret, as an export writes it."""
    events = [
        session_file.LogEntry(name, kind, t, 5.0, 1.8e12 + t, data).to_json()
        for name, kind, t, data in (
            ("connect()", "call", 0.0, {"base_url": "http://127.0.0.1"}),
            ("transportStateChanged", "event", 5.0, "connecting"),
            ("botReady", "event", 250.0, {"version": "1.2.0", "about": {"llm": "parrot"}}),
            ("userTranscript", "event", 900.0, {"text": "the quick brown fox", "final": True}),
            ("transportStateChanged", "event", 905.0, "ready"),
        )
    ]
    document = session_file.build_session(
        {"transport": "webrtc"}, {"events": events}, exported_at_ms=1.8e12
    )
    return session_file.dump_session(document)


def test_filter_search_pause_expand_and_copy(
    page: Page, context: BrowserContext, bot_server: LiveServer
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=bot_server.url)
    open_console(page, bot_server.url)
    import_file(page, "synthetic.json", synthetic_session())
    log = page.locator("#event-log")
    states = log.locator('li[data-event="transportStateChanged"]')
    expect(states).to_have_count(2)

    # The type filter lists the types seen; unchecking one hides its entries, only those.
    page.locator("#log-filter summary").click()
    boxes = page.locator("#log-types input")
    expect(boxes).to_have_count(5)  # and "banner": the import's own message
    page.get_by_label("transportStateChanged").uncheck()
    expect(states.first).to_be_hidden()
    expect(states.last).to_be_hidden()
    expect(log.locator('li[data-event="botReady"]')).to_be_visible()
    expect(page.locator("#log-filter summary")).to_have_text("Types (1 hidden)")

    # The choice is remembered: after a reload, the same entries come in hidden.
    page.reload()
    open_console(page, bot_server.url)
    import_file(page, "synthetic.json", synthetic_session())
    expect(states).to_have_count(2)
    expect(states.first).to_be_hidden()
    expect(page.locator("#log-filter summary")).to_have_text("Types (1 hidden)")
    page.locator("#log-filter summary").click()
    page.get_by_role("button", name="Show all").click()
    expect(states.first).to_be_visible()
    page.get_by_role("button", name="Hide all").click()
    expect(log.locator("li:visible")).to_have_count(0)
    page.get_by_label("botReady").check()
    expect(log.locator("li:visible")).to_have_count(1)
    page.get_by_role("button", name="Show all").click()

    # Search: every word must occur in the entry's name or data.
    search = page.get_by_label("Search the event log")
    search.fill("brown FOX")
    expect(log.locator("li:visible")).to_have_count(1)
    expect(log.locator("li:visible")).to_have_attribute("data-event", "userTranscript")
    search.fill("")
    expect(log.locator("li:visible")).to_have_count(6)

    # Click an entry: its full JSON; Copy puts it on the clipboard.
    ready = log.locator('li[data-event="botReady"]')
    ready.locator(".name").click()
    expect(ready.locator("pre")).to_contain_text('"llm": "parrot"')
    expect(ready.locator(".name")).to_have_attribute("aria-expanded", "true")
    ready.get_by_role("button", name="Copy").click()
    expect(ready.get_by_role("button", name="Copied")).to_be_visible()
    copied = json.loads(page.evaluate("navigator.clipboard.readText()"))
    assert copied["name"] == "botReady" and copied["data"]["about"] == {"llm": "parrot"}
    ready.locator(".name").click()
    expect(ready.locator("pre")).to_have_count(0)

    # Pause: new entries are kept, not shown, and come in on resume (and in the export).
    pause = page.locator("#log-pause")
    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "true")
    _, first = export_file(page)
    expect(pause).to_have_text("Resume (1 new)")
    expect(log.locator('li[data-event="export"]')).to_have_count(0)
    _, second = export_file(page)
    assert second["panels"]["events"][-1]["name"] == "export"
    pause.click()
    expect(pause).to_have_text("Pause")
    expect(log.locator('li[data-event="export"]')).to_have_count(2)
    exported = [event["name"] for event in first["panels"]["events"]]
    assert log_names(page) == [*exported, "export", "export"]
