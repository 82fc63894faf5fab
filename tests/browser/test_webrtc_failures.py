"""SmallWebRTC transport failures that need no bot: every one is a typed error, never a hang.

The client connects directly (no connect endpoint) to an offer URL on the page's server, which
runs with `--bot none`; Playwright routes stand in for broken offer endpoints.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Route
from pyrtvi_testing.harness import Harness, HarnessPool
from pyrtvi_testing.processes import LiveServer

pytestmark = pytest.mark.browser

CONNECT = """
from rtvi import TransportStartError, AbortError
client = make_client(
    transport=SmallWebRTCTransport({options}),
    params={{"base_url": None, "endpoints": {{"connect": None}}}},
)
try:
    await client.connect()
    outcome = None
except Exception as exc:
    outcome = [type(exc).__name__, exc.message, exc.status]
local = client.transport.tracks().local
[outcome, client.state, live_proxies(), local.audio is None]
"""


def connect_failing(harness: Harness, options: str) -> Any:
    return harness.run(CONNECT.format(options=options))


def test_offer_endpoint_failures_are_transport_start_errors(
    pool: HarnessPool, page_server: LiveServer
) -> None:
    harness = pool.get(page_server)
    # The server answers, but has no bot behind it: HTTP 503 with a JSON reason.
    outcome, state, live, released = connect_failing(harness, "offer_url='/sessions/s1/offer'")
    assert outcome[0] == "TransportStartError" and outcome[2] == 503
    assert "HTTP 503" in outcome[1] and "no bot service" in outcome[1]
    assert (state, live, released) == ("error", 0, True)
    states = [e["data"][0] for e in harness.events("transportStateChanged")]
    assert states == [
        "initializing",
        "initialized",
        "authenticating",
        "connecting",
        "disconnecting",
        "disconnected",
        "error",
    ]
    assert harness.page.evaluate("document.querySelectorAll('audio[data-pyrtvi]').length") == 0
    assert harness.page.evaluate("window.peerConnections.at(-1).connectionState") == "closed"

    # Nothing listens at all: the fetch fails.
    harness.page.route("**/down/offer", lambda route: route.abort("connectionrefused"))
    outcome, state, live, _ = connect_failing(harness, "offer_url='/down/offer'")
    assert outcome[0] == "TransportStartError" and outcome[2] is None
    assert "Failed to fetch" in outcome[1]
    assert (state, live) == ("error", 0)

    # A 200 that is not an SDP answer.
    harness.page.route(
        "**/odd/offer",
        lambda route: route.fulfill(status=200, json={"type": "answer", "pc_id": "x"}),
    )
    outcome, state, live, _ = connect_failing(harness, "offer_url='/odd/offer'")
    assert outcome[:2] == ["TransportStartError", "the offer endpoint sent no SDP answer"]
    assert (state, live) == ("error", 0)

    # No offer URL anywhere.
    outcome, state, live, _ = connect_failing(harness, "")
    assert outcome[0] == "TransportStartError" and "no offer URL" in outcome[1]
    assert (state, live) == ("error", 0)


def test_a_silent_offer_endpoint_times_out_and_disconnect_aborts(
    pool: HarnessPool, page_server: LiveServer
) -> None:
    harness = pool.get(page_server)
    held: list[Route] = []

    def hold(route: Route) -> None:  # never answered
        held.append(route)

    harness.page.route("**/silent/offer", hold)
    outcome, state, live, _ = connect_failing(
        harness, "offer_url='/silent/offer', offer_timeout=1.0"
    )
    assert outcome[0] == "TransportStartError" and "no answer within 1 s" in outcome[1]
    assert (state, live) == ("error", 0)
    # disconnect() while the offer is pending: connect() ends at once with AbortError.
    result = harness.run(
        """
import asyncio, time
client = make_client(
    transport=SmallWebRTCTransport(offer_url="/silent/offer"),
    params={"base_url": None, "endpoints": {"connect": None}},
)
pending = asyncio.ensure_future(client.connect())
while client.state != "connecting":
    await asyncio.sleep(0.01)
await asyncio.sleep(0.2)
started = time.monotonic()
await client.disconnect()
try:
    await pending
    outcome = None
except Exception as exc:
    outcome = type(exc).__name__
[outcome, time.monotonic() - started < 1, client.state, live_proxies()]
"""
    )
    assert result == ["AbortError", True, "disconnected", 0]
    for route in held:
        route.abort()
