"""Media state and ``DeviceError`` in real Chromium, on both browser transports (issue 23).

Two browsers with other launch flags than the suite's: one that denies media permissions (no
``--use-fake-ui-for-media-stream``: Chromium refuses ``getUserMedia`` with ``NotAllowedError``)
and one with no devices at all (no fake devices: ``NotFoundError``). In each, the harness page
opens the devices through ``SmallWebRTCTransport`` and ``WebSocketTransport``, and the console
shows the reason in its banner. No bot is needed: the devices are opened before any request.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from pyrtvi_testing.harness import HarnessPool
from pyrtvi_testing.processes import LiveServer

from tests.browser.page_support import open_console
from tests.conftest import browser_config

pytestmark = pytest.mark.browser

T = browser_config.ACTION_TIMEOUT_MS
TRANSPORTS = {
    "webrtc": "SmallWebRTCTransport()",
    "websocket": "WebSocketTransport()",
}
#: The pools (``denying``, ``no_devices``: tests/browser/conftest.py) guard their contexts.
POOLS_ONLY = True


def open_devices(pool: HarnessPool, server: LiveServer, transport: str) -> dict[str, Any]:
    """``init_devices()`` on a client with mic and camera enabled; what it reported."""
    result: dict[str, Any] = pool.get(server).run(
        f"""
from rtvi import DeviceError, RTVIEvent
from rtvi.transports.websocket import WebSocketTransport
states, errors = [], []
client = make_client(transport={transport}, enable_cam={transport.startswith("Small")})
client.on(RTVIEvent.MEDIA_STATE_UPDATED, lambda state: states.append(state.to_dict()))
client.on(RTVIEvent.DEVICE_ERROR, lambda e: errors.append([e.devices, e.type, e.reason]))
raised = None
try:
    await client.init_devices()
except DeviceError as exc:
    raised = [exc.devices, exc.type, exc.reason, exc.details.get("name")]
{{"raised": raised, "errors": errors, "states": states,
  "final": client.media_state.to_dict(), "needs_init": client.needs_init()}}
"""
    )
    return result


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_a_denied_permission_is_blocked(
    denying: HarnessPool, page_server: LiveServer, transport: str
) -> None:
    result = open_devices(denying, page_server, TRANSPORTS[transport])
    assert result["raised"] == [["mic"], "permissions", "blocked", "NotAllowedError"], result
    assert result["errors"] == [[["mic"], "permissions", "blocked"]]
    assert result["states"][0] == {
        "mic": {"state": "initializing"},
        "cam": {"state": "initializing"},
    }
    mic = result["final"]["mic"]
    assert (mic["state"], mic["reason"], mic["details"]["name"]) == (
        "error",
        "blocked",
        "NotAllowedError",
    )
    assert not result["needs_init"]  # an error is not "uninitialized": the page shows why


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_a_missing_device_is_not_found(
    no_devices: HarnessPool, page_server: LiveServer, transport: str
) -> None:
    result = open_devices(no_devices, page_server, TRANSPORTS[transport])
    assert result["raised"][:3] == [["mic"], "not-found", "not-found"], result
    assert result["final"]["mic"]["reason"] == "not-found"


def test_the_console_banner_says_the_device_is_missing(
    no_devices: HarnessPool, page_server: LiveServer
) -> None:
    page = no_devices.context.new_page()
    open_console(page, page_server.url)
    page.get_by_role("button", name="Connect", exact=True).click()
    banner = page.get_by_role("alert")
    expect(banner).to_be_visible(timeout=T)
    expect(banner).to_have_attribute("data-kind", "device")
    expect(banner.locator("#banner-title")).to_have_text("No microphone found")
    expect(banner.locator("#banner-text")).to_contain_text("not-found")
    page.close()
