"""The console's Metrics panel (`#metrics`) against the embedded offline bot (pipecat 0.0.108):
typed turns fill it with what the bot's services reported in RTVI `metrics` — TTFB and processing
per service (table and SVG charts), tokens and TTS characters as totals and per turn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    bot_serving,
    no_horizontal_overflow,
    open_console,
)
from tests.conftest import browser_config

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS
#: The stand-in services (pipecat names a processor `Class#n`).
LLM, TTS = "StandInLLM#0", "EspeakTTSService#0"


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `pyrtvi serve` with its embedded bot for the module."""
    with bot_serving(["--bot", "embedded"], tmp_path_factory.mktemp("metrics-server")) as server:
        yield server


def type_turn(page: Page, text: str, answer: str) -> None:
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".turn.bot").last).to_contain_text(answer, timeout=T)


def ms(page: Page, service: str, kind: str, stat: str = "last") -> float:
    cell = page.locator(
        f'#metrics tr[data-service="{service}"] td[data-kind="{kind}"][data-stat="{stat}"]'
    )
    return float(cell.get_attribute("data-ms") or "nan")


def value(page: Page, key: str) -> float:
    return float(page.locator(f"#metrics-{key}").get_attribute("data-value") or "nan")


def test_typed_turns_fill_the_metrics_panel(page: Page, bot_server: LiveServer) -> None:
    page.set_viewport_size(DESKTOP)
    open_console(page, bot_server.url)
    expect(page.locator("#metrics .hint")).to_contain_text("No metrics yet")
    page.get_by_text("Connection settings").click()
    page.get_by_label("Microphone on at start").uncheck()
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)
    # The client tells the page a call is on (the boot's kept copies wait for its end).
    assert page.evaluate("pyrtvi.inCall()") is True

    type_turn(page, "count", "One, two, three, four, five.")
    # The answer's 28 characters went to espeak (its usage metric comes as synthesis starts).
    expect(page.locator("#metrics-tts-characters")).to_have_attribute("data-value", "28", timeout=T)
    expect(page.locator('#metrics tr[data-service] td[data-kind="processing"]')).to_have_count(4)
    for service in (LLM, TTS):
        for kind in ("ttfb", "processing"):
            assert ms(page, service, kind) > 0, (service, kind)
    # The stand-in streams 5 tokens 20 ms apart: its processing is at least 80 ms.
    assert ms(page, LLM, "processing") >= 80
    assert value(page, "completion-tokens") == 5
    assert value(page, "prompt-tokens") > 0
    first_prompt = value(page, "prompt-tokens")
    # Cache-read and reasoning tokens: the stand-in has none, so the panel shows neither.
    expect(page.locator("#metrics-cache-read-tokens")).to_have_count(0)
    turn = page.locator('#metrics tr[data-turn="1"]')
    expect(turn).to_have_attribute("data-source", "text")
    expect(turn.locator("td").nth(1)).to_have_text(str(int(first_prompt)))
    expect(turn.locator("td").nth(2)).to_have_text("5")
    expect(turn.locator("td").nth(3)).to_have_text("28")
    expect(turn.locator("td").nth(4)).to_contain_text("StandInLLM")
    for kind in ("ttfb", "processing"):
        chart = page.locator(f'#metrics svg.metrics-chart[data-kind="{kind}"]')
        for service in (LLM, TTS):
            expect(chart.locator(f'g[data-service="{service}"] circle')).to_have_count(1)

    type_turn(page, "hello", "Hello! I am the pyrtvi test bot. I run fully offline.")
    expect(page.locator('#metrics tr[data-turn="2"]')).to_be_visible(timeout=T)
    # Spoken sentence by sentence: each sentence's characters, TTFB and processing.
    page.wait_for_function(
        "() => +document.getElementById('metrics-tts-characters').dataset.value > 28 + 45",
        timeout=T,
    )
    assert value(page, "completion-tokens") == 5 + 11
    # The second prompt holds the first exchange too.
    assert value(page, "prompt-tokens") > 2 * first_prompt
    ttfb = page.locator('#metrics svg.metrics-chart[data-kind="ttfb"]')
    expect(ttfb.locator(f'g[data-service="{LLM}"] polyline')).to_have_count(1)
    assert ttfb.locator(f'g[data-service="{TTS}"] circle').count() >= 2
    assert ms(page, LLM, "ttfb", "mean") > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.metrics").screenshot(path=str(ARTIFACTS / "metrics-panel.png"))

    page.set_viewport_size(PHONE)
    assert no_horizontal_overflow(page)
