"""The page boots Python offline from the local runtime, or shows why it could not."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.conftest import LiveServer, browser_config


def test_page_boots_python_offline(page: Page, page_server: LiveServer) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(page_server.url + "/")
    expect(page.locator("#boot-text")).to_contain_text("Loading")
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "ready", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#boot-text")).to_contain_text("Python 3.14")
    expect(page.locator("#boot-error")).to_be_hidden()
    assert page.evaluate("document.querySelector('#boot-progress').value") == 5
    # Everything came from this server: the runtime, the stdlib and the client package.
    paths = {url.removeprefix(page_server.url) for url in requested}
    assert any(p.endswith("/pyodide.asm.wasm") for p in paths), paths
    assert "/py/rtvi.zip" in paths
    assert all(url.startswith(page_server.url) for url in requested), requested


def test_broken_runtime_path_shows_an_error(page: Page, page_server: LiveServer) -> None:
    def missing(route: Route) -> None:
        route.fulfill(status=404, body="gone")

    page.route("**/pyodide.mjs", missing)
    page.goto(page_server.url + "/")
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "error", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#boot-text")).to_have_text("Python failed to load.")
    expect(page.locator("#boot-error")).to_be_visible()
    expect(page.locator("#boot-error")).not_to_be_empty()


def test_python_error_in_page_code_is_shown(page: Page, page_server: LiveServer) -> None:
    def broken_zip(route: Route) -> None:
        route.fulfill(status=500, body="boom")

    page.route("**/py/rtvi.zip", broken_zip)
    page.goto(page_server.url + "/")
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "error", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#boot-error")).to_be_visible()


def test_offhost_requests_are_blocked_and_recorded(
    page: Page, page_server: LiveServer, offhost_guard: list[str]
) -> None:
    page.goto(page_server.url + "/health")
    outcome = page.evaluate(
        """() => fetch('http://pyrtvi-offhost.invalid/x', {mode: 'no-cors'})
              .then(() => 'loaded', (error) => 'blocked: ' + error.message)"""
    )
    assert outcome.startswith("blocked"), outcome
    assert offhost_guard == ["http://pyrtvi-offhost.invalid/x"]
    offhost_guard.clear()  # recorded as expected: don't fail this test at teardown
