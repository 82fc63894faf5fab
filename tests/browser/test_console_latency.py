"""The console's latency panel (#latency) against the embedded offline bot (pipecat 0.0.108).

Chromium's fake microphone loops tests/data/speech48k.wav (2 s of silence, about 4.8 s of speech,
3.3 s of silence): one spoken turn, measured at the page from the mic's last audible sample to
the bot's first audible one; then, the mic muted, one typed turn (time to first audio). Both rows
carry `data-v2v-ms` and the bot's parts beside it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import DESKTOP, bot_serving, open_console, screenshot
from tests.conftest import browser_config

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS
SPOKEN = '#latency tr[data-kind="spoken"][data-v2v-ms]'
TYPED = '#latency tr[data-kind="typed"][data-v2v-ms]'
#: The row's figure and its parts (``data-ms`` where known), as the page shows them.
ROW_JS = """(row) => ({
  v2v: Number(row.dataset.v2vMs),
  state: row.dataset.state,
  parts: Object.fromEntries([...row.querySelectorAll("td.part")].map(
    (td) => [td.dataset.part, td.dataset.ms === undefined ? null : Number(td.dataset.ms)])),
})"""


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `pyrtvi serve` with its embedded bot for the module."""
    with bot_serving(["--bot", "embedded"], tmp_path_factory.mktemp("latency-server")) as server:
        yield server


def test_a_spoken_and_a_typed_turn_fill_the_latency_panel(
    page: Page, bot_server: LiveServer
) -> None:
    page.set_viewport_size(DESKTOP)
    open_console(page, bot_server.url)
    expect(page.locator("#latency .latency-summary")).to_have_text("voice to voice: no turn yet")
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)

    # The fake microphone's sentence: its row, voice to voice measured at the page.
    spoken_row = page.locator(SPOKEN).first
    expect(spoken_row).to_be_attached(timeout=T)
    spoken = spoken_row.evaluate(ROW_JS)
    assert 0 < spoken["v2v"] < 30_000, spoken
    # The VAD stop wait as the page sees it: at least the bot's 0.8 s of endpointing silence.
    assert 800 <= spoken["parts"]["vad_stop"] < spoken["v2v"], spoken
    expect(spoken_row.locator('td.part[data-part="tts"][data-ms]')).to_be_attached(timeout=T)
    spoken = spoken_row.evaluate(ROW_JS)
    assert spoken["parts"]["tts"] >= 0 and spoken["parts"]["stt"] is None, spoken

    # Mute the mic, let the answer end, type: time to first audio, with the bot's parts.
    page.locator("#mic-toggle").click()
    expect(page.locator("#mic-toggle")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#bot-speaking")).to_have_text("silent", timeout=T)
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill("Hello there")
    box.press("Enter")
    typed_row = page.locator(TYPED).first
    expect(typed_row).to_be_attached(timeout=T)
    expect(typed_row.locator('td.part[data-part="tts"][data-ms]')).to_be_attached(timeout=T)
    typed = typed_row.evaluate(ROW_JS)
    assert 0 < typed["v2v"] < 30_000, typed
    assert typed["parts"]["vad_stop"] is None and typed["parts"]["stt"] is None, typed
    # The answer cannot be heard before the TTS had its first audio.
    assert typed["parts"]["tts"] < typed["v2v"], typed

    # p50/p95/worst and the chart over the session.
    summary = page.locator("#latency .latency-summary")
    expect(summary).to_contain_text("voice to voice: p50")
    expect(summary).to_contain_text("typed, time to first audio: p50")
    assert page.locator("#latency svg circle.spoken").count() >= 1
    assert page.locator("#latency svg circle.typed").count() == 1
    screenshot(page, "console-latency")
    print(
        f"console latency: spoken v2v={spoken['v2v']:.0f} ms parts={spoken['parts']};"
        f" typed time to first audio={typed['v2v']:.0f} ms parts={typed['parts']}"
    )
