"""The console's screenshots in the docs (docs/console.md): light, dark and phone width.

    .venv/bin/python tools/screenshots.py                 # starts `pyrtvi serve` (embedded bot)
    .venv/bin/python tools/screenshots.py --url URL       # a server already running
    .venv/bin/python tools/screenshots.py --out DIR       # elsewhere than docs/
    .venv/bin/python tools/screenshots.py --bot-url URL --out DIR   # `pyrtvi serve --bot-url URL`

Starts `pyrtvi serve` with its embedded offline bot on a free port, opens the console in the
suite's Chromium (Debian's, with Chromium's fake microphone speaking tests/data/speech48k.wav,
as the browser tests run it), runs a short session (a spoken turn with the mic on, then a typed
one with the mic muted) and writes, still in the session:

- console-light.png, console-dark.png: the whole page at 1280 px wide, in each theme;
- console-phone.png: the top of the page at 390 × 844 (a phone), light.

It prints the session's ``#latency`` rows (voice to voice of the spoken turn, time to first audio
of the typed one, the bot's parts): the figures docs/console.md quotes.

Nothing leaves the machine (the page's requests to other hosts are refused and fail the run).
Needs the test setup (`make setup-test`: chromium, espeak-ng, the bot's environment).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect, sync_playwright
from pyrtvi_testing.chromium import guard_offhost
from pyrtvi_testing.processes import LiveServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the suite's browser settings

from bench.support import browser_config, launch  # noqa: E402

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TYPED = "What can you do?"
TIMEOUT_MS = browser_config.ACTION_TIMEOUT_MS


def wait_for_bot(server: LiveServer) -> None:
    deadline = time.monotonic() + browser_config.SERVER_START_TIMEOUT_S
    while httpx.get(server.url + "/health", timeout=10).json()["bot"]["state"] != "running":
        if time.monotonic() > deadline:
            raise SystemExit(f"the embedded bot did not start:\n{server.log()}")
        time.sleep(0.2)


def session(page: Page, url: str) -> None:
    """Connect with the mic on, hear a spoken turn answered, mute, type one and see its answer."""
    page.goto(url + "/")
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "ready", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=TIMEOUT_MS)
    expect(page.locator(".turn.bot").first).to_be_visible(timeout=TIMEOUT_MS)
    # The spoken turn's answer heard at the page (its voice to voice), before the typed turn.
    spoken = page.locator('#latency tr[data-kind="spoken"][data-v2v-ms]')
    expect(spoken.first).to_be_attached(timeout=TIMEOUT_MS)
    page.locator("#mic-toggle").click()
    expect(page.locator("#mic-toggle")).to_have_attribute("aria-pressed", "false")
    bot_turns = page.locator(".turn.bot")
    before = bot_turns.count()
    box = page.get_by_role("textbox", name="Message to the bot")
    box.fill(TYPED)
    box.press("Enter")
    # The answer to the typed turn (whatever the bot's rules say to it) is a new bot turn.
    expect(page.locator(".turn.user", has_text=TYPED)).to_have_count(1, timeout=TIMEOUT_MS)
    expect(bot_turns).to_have_count(before + 1, timeout=TIMEOUT_MS)
    # Let the answer's speech end, so the meters and badges rest.
    expect(page.locator("#bot-speaking")).to_have_text("silent", timeout=TIMEOUT_MS)


def latency_rows(page: Page) -> list[dict[str, str]]:
    """The ``#latency`` rows once the typed turn's is measured: kind, ms and the bot's parts."""
    typed = page.locator('#latency tr[data-kind="typed"][data-v2v-ms]')
    expect(typed.first).to_be_attached(timeout=TIMEOUT_MS)
    rows: list[dict[str, str]] = page.evaluate(
        """() => [...document.querySelectorAll('#latency tr[data-kind]')].map((row) => {
          const parts = Object.fromEntries([...row.querySelectorAll('td.part[data-ms]')]
            .map((td) => [td.dataset.part, td.dataset.ms]));
          return { kind: row.dataset.kind, state: row.dataset.state, ms: row.dataset.v2vMs ?? '-',
                   ...parts };
        })"""
    )
    return rows


def shoot(page: Page, path: Path, *, full_page: bool) -> None:
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def set_theme(page: Page, theme: str) -> None:
    if page.locator("html").get_attribute("data-theme") != theme:
        page.locator("#theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", theme)


def take(url: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport=DESKTOP, color_scheme="light")  # type: ignore[arg-type]
        context.set_default_timeout(TIMEOUT_MS)
        offhost = guard_offhost(context)
        page = context.new_page()
        try:
            session(page, url)
            for row in latency_rows(page):
                print("latency:", " ".join(f"{key}={value}" for key, value in row.items()))
            set_theme(page, "light")
            shoot(page, out / "console-light.png", full_page=True)
            set_theme(page, "dark")
            shoot(page, out / "console-dark.png", full_page=True)
            set_theme(page, "light")
            page.set_viewport_size(PHONE)  # type: ignore[arg-type]
            shoot(page, out / "console-phone.png", full_page=False)
            page.get_by_role("button", name="Disconnect", exact=True).click()
        finally:
            browser.close()
    if offhost:
        raise SystemExit(f"the page requested off-host URLs: {offhost}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server's URL (default: start one)")
    parser.add_argument("--bot-url", help="start `pyrtvi serve --bot-url URL` (a runner bot)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where (default: docs/)")
    args = parser.parse_args(argv)
    if args.url:
        take(args.url.rstrip("/"), args.out)
        return
    server = LiveServer(["--bot-url", args.bot_url] if args.bot_url else ["--bot", "embedded"])
    with tempfile.TemporaryDirectory(prefix="pyrtvi-screenshots-") as logs:
        server.start(Path(logs))
        try:
            if not args.bot_url:
                wait_for_bot(server)
            take(server.url, args.out)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
