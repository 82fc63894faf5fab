"""The console in Chromium through nginx (round-robin, no affinity) in front of two `pyrtvi
serve` replicas sharing one Redis, in url mode against the stock runner bot (issue 26).

Whatever replica answers each request: a WebRTC session and a WebSocket session, each with a
typed turn; then the replica holding a relayed socket is killed and the page's transport
reconnects through the other.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pyrtvi_testing.processes import LiveServer

from bench.cluster import Cluster
from tests.browser.page_support import disconnect, open_console
from tests.browser.page_support import typed_turn as turn
from tests.conftest import browser_config
from tests.replicas import any_transport_bot, cluster_fixture, health
from tests.runner_bot import RunnerBot

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = browser_config.ACTION_TIMEOUT_MS


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerBot]:
    yield from any_transport_bot(tmp_path_factory)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, bot: RunnerBot) -> Iterator[Cluster]:
    yield from cluster_fixture(tmp_path_factory, bot.url)


def session_requests(cluster: Cluster) -> list[tuple[str, str, int, str]]:
    return [e for e in cluster.nginx.served() if e[1] == "/connect" or "/sessions/" in e[1]]


def connect(page: Page, transport: str) -> None:
    page.get_by_label("Transport", exact=True).select_option(transport)
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator("#bot-ready")).to_have_text("ready", timeout=T)


def open_settings(page: Page, cluster: Cluster) -> None:
    open_console(page, cluster.url)
    page.get_by_text("Connection settings").click()
    page.get_by_label("Microphone on at start").uncheck()


def test_webrtc_and_websocket_sessions_through_the_balancer(page: Page, cluster: Cluster) -> None:
    open_settings(page, cluster)
    connect(page, "webrtc")
    turn(page, "hello over webrtc")
    disconnect(page)
    connect(page, "websocket")
    turn(page, "hello over the socket")
    disconnect(page)
    expect(page.get_by_role("alert")).to_be_hidden()
    # /connect, the offer (and its trickled candidates) and the socket: both replicas served.
    deadline = time.monotonic() + 10  # nginx logs a socket when it closes
    while not any(e[1].endswith("/ws") for e in session_requests(cluster)):
        assert time.monotonic() < deadline, cluster.nginx.served()
        time.sleep(0.1)
    served = {e[3] for e in session_requests(cluster)}
    assert served == {f"127.0.0.1:{r.port}" for r in cluster.replicas}, session_requests(cluster)


def holder(cluster: Cluster) -> LiveServer | None:
    """The replica whose relay holds a socket now (each replica's own count, via Redis)."""
    for replica in cluster.replicas:
        if replica.process is None or replica.process.poll() is not None:
            continue
        info: Any = health(replica.url)
        if info["sessions"]["replicas"][info["state"]["replica"]]["relayed_sockets"]:
            return replica
    return None


# Keep last: it kills a replica.
def test_a_replica_killed_under_a_relayed_socket(page: Page, cluster: Cluster) -> None:
    open_settings(page, cluster)
    connect(page, "websocket")
    deadline = time.monotonic() + 10
    while (first := holder(cluster)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    # The page's transport reconnects through nginx to the other replica, which takes the
    # session over once the dead one's claim lapses.
    deadline = time.monotonic() + 30
    while (second := holder(cluster)) is None:
        assert time.monotonic() < deadline, "no replica relays the page's socket again"
        time.sleep(0.2)
    assert second is not first
    turn(page, "still here")
    expect(page.get_by_role("alert")).to_be_hidden()
    disconnect(page)
