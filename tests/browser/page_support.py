"""Helpers for the console page and embed example tests: boot, screenshots, DOM recorders."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, ViewportSize, expect
from pyrtvi_testing.processes import LiveServer

from tests.conftest import ROOT, browser_config

#: Screenshots are test artifacts (gitignored; CI keeps the folder). pytest-playwright empties
#: test-results/ when a session starts; `PYRTVI_SCREENSHOTS=<dir>` keeps them elsewhere.
ARTIFACTS = Path(os.environ.get("PYRTVI_SCREENSHOTS", ROOT / "test-results" / "screenshots"))

#: `PYRTVI_UPDATE_SCREENSHOT=1` also refreshes the README's screenshot from the live session.
UPDATE_DOCS_SCREENSHOT = os.environ.get("PYRTVI_UPDATE_SCREENSHOT") == "1"
DOCS_SCREENSHOT = ROOT / "docs" / "screenshot.png"

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def open_console(page: Page, url: str) -> None:
    """Open the console and wait until Python is up (the boot progress says ready)."""
    page.goto(url + "/")
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "ready", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#app")).to_be_visible()


def typed_exchange(page: Page, text: str, *, server_url: str | None = None) -> None:
    """On an open console: connect without the mic, type `text`, see the echo bot's answer
    ("You said: ..."), disconnect. `server_url`: what the server field must show first."""
    timeout = browser_config.ACTION_TIMEOUT_MS
    page.get_by_text("Connection settings").click()
    if server_url is not None:
        expect(page.locator("#base-url")).to_have_value(server_url)
    page.get_by_label("Microphone on at start").uncheck()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=timeout)
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".turn.bot").last).to_contain_text(f"You said: {text}", timeout=timeout)
    page.get_by_role("button", name="Disconnect", exact=True).click()
    expect(page.locator("#transport-state")).to_have_text("disconnected", timeout=timeout)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def keep_as_docs_screenshot(path: Path) -> None:
    if UPDATE_DOCS_SCREENSHOT:
        shutil.copyfile(path, DOCS_SCREENSHOT)


#: Installs a recorder of every distinct text an element shows, with the time it appeared.
RECORD_TEXTS = """([name, selector]) => {
  const target = document.querySelector(selector);
  const seen = window.__texts = window.__texts || {};
  const list = seen[name] = [];
  const note = () => {
    const text = target.textContent;
    if (!list.length || list[list.length - 1].text !== text) list.push({text, t: performance.now()});
  };
  new MutationObserver(note).observe(target, {childList: true, characterData: true, subtree: true});
}"""


def record_texts(page: Page, name: str, selector: str) -> None:
    page.evaluate(RECORD_TEXTS, [name, selector])


def recorded_texts(page: Page, name: str) -> list[dict[str, Any]]:
    return page.evaluate("(name) => window.__texts[name]", name)  # type: ignore[no-any-return]


#: Records every value an attribute takes (e.g. the transport state pill's data-state). Uses
#: each mutation's oldValue: values set within one task would otherwise be coalesced.
RECORD_ATTRIBUTE = """([name, selector, attribute]) => {
  const target = document.querySelector(selector);
  const olds = [];
  new MutationObserver((records) => {
    for (const record of records) olds.push(record.oldValue);
  }).observe(target, {attributes: true, attributeFilter: [attribute], attributeOldValue: true});
  window.__attrs = window.__attrs || {};
  window.__attrs[name] = () => [...olds, target.getAttribute(attribute)]
    .filter((value, i, all) => i === 0 || value !== all[i - 1]);
}"""


def record_attribute(page: Page, name: str, selector: str, attribute: str) -> None:
    page.evaluate(RECORD_ATTRIBUTE, [name, selector, attribute])


def recorded_attribute(page: Page, name: str) -> list[str | None]:
    return page.evaluate("(name) => window.__attrs[name]()", name)  # type: ignore[no-any-return]


def no_horizontal_overflow(page: Page) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def serve_embedded_bot(directory: Path, *args: str) -> Iterator[LiveServer]:
    """A `pyrtvi serve --bot embedded [args]` whose bot is running, stopped after the yield
    (the body of a module-scoped fixture)."""
    server = LiveServer(["--bot", "embedded", *args]).start(directory)
    try:
        deadline = time.monotonic() + browser_config.SERVER_START_TIMEOUT_S
        while httpx.get(server.url + "/health").json()["bot"]["state"] != "running":
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        yield server
    finally:
        server.stop()
