"""`pyrtvi serve` with the embedded bot, as `make run` starts it, driven through the proxy.

A real WebRTC session (aiortc) is set up through `/connect` and the proxied offer URL, and the RTVI
handshake runs over it; disconnected actions stream from the real bot through `/action`.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyrtvi_testing.processes import LiveServer

from tests.server.rtvi_peer import RTVIPeer

pytestmark = pytest.mark.bot

BOT_READY_TIMEOUT = 120.0
SESSION_ID = r"^[0-9a-f-]{36}$"


def wait_for_bot(server: LiveServer, state: str = "running") -> dict[str, Any]:
    """Poll /health until the embedded bot reaches `state` (the page is served before that)."""
    deadline = time.monotonic() + BOT_READY_TIMEOUT
    bot: dict[str, Any] = {}
    while time.monotonic() < deadline:
        bot = httpx.get(server.url + "/health", timeout=5).json()["bot"]
        if bot["state"] == state:
            return bot
        assert bot["state"] in {"starting", "running"}, bot
        time.sleep(0.1)
    raise AssertionError(f"bot not {state} in time: {bot}\n{server.log()[-3000:]}")


def bot_children(server: LiveServer) -> list[int]:
    """PIDs of the server's child processes (the embedded bot), from /proc."""
    assert server.process is not None
    parent = server.process.pid
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(entry.name))
    return children


@pytest.fixture(scope="module")
def served(server_factory: Any) -> LiveServer:
    """Exactly `make run`'s mode: no --bot flag, the default embedded bot (pipecat 0.0.108)."""
    server: LiveServer = server_factory()
    wait_for_bot(server)
    return server


def test_serve_starts_embedded_bot_and_connect_answers(served: LiveServer) -> None:
    health = httpx.get(served.url + "/health").json()
    assert health["bot_mode"] == "embedded"
    bot = health["bot"]
    assert bot["mode"] == "embedded" and bot["state"] == "running"
    assert bot["pipecat"] == "0.0.108"
    assert bot["start_seconds"] > 0
    with httpx.Client(base_url=served.url, timeout=30) as client:
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            response = client.post("/connect", json={"rtvi_client_version": "0.2.3"})
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
        bundle = response.json()
    assert bundle["offer_url"] == f"{served.url}/sessions/{bundle['session_id']}/offer"
    assert bundle["ice_servers"] == []
    timings.sort()
    print(
        f"\nembedded bot start {bot['start_seconds']} s; /connect median "
        f"{timings[len(timings) // 2] * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms"
    )


def test_bot_rejects_bad_config_through_proxy(served: LiveServer) -> None:
    """The bot's own 4xx (here: an unknown config value) reaches the browser with its message."""
    body = {"config": [{"service": "llm", "options": [{"name": "model", "value": 42}]}]}
    response = httpx.post(served.url + "/connect", json=body, timeout=30)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] == "bot service rejected the request"
    assert "config" in response.json()["detail"]


@pytest.fixture(scope="module", params=["0.0.108", "1.14.0"])
def bot_server(
    request: pytest.FixtureRequest, served: LiveServer, server_factory: Any
) -> LiveServer:
    if request.param == "0.0.108":
        return served
    server: LiveServer = server_factory("--bot", "embedded", "--bot-pipecat", request.param)
    wait_for_bot(server)
    return server


async def test_webrtc_session_through_proxy(bot_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=bot_server.url, timeout=30) as client:
        started = time.perf_counter()
        response = await client.post("/connect", json={"rtvi_client_version": "0.2.3"})
        assert response.status_code == 200, response.text
        bundle = response.json()
        peer = RTVIPeer()
        try:
            answer = await peer.connect(bundle["offer_url"], client)
            assert answer["type"] == "answer" and answer["pc_id"]
            ready = await peer.ready(timeout=30)
            elapsed = time.perf_counter() - started
            assert ready["type"] == "bot-ready"
            assert "version" in ready["data"]
            # Trickle ICE through the proxy: end-of-candidates for the live peer connection ...
            end = {"pc_id": answer["pc_id"], "candidates": [{"candidate": "", "sdp_mid": "0"}]}
            patched = await client.patch(bundle["offer_url"], json=end)
            assert patched.status_code == 204, patched.text
            # ... and the bot's 404 for a peer connection it does not know.
            unknown = await client.patch(bundle["offer_url"], json={**end, "pc_id": "nope"})
            assert unknown.status_code == 404
            assert "nope" in unknown.json()["detail"]
        finally:
            await peer.close()
    print(f"\n/connect → offer → bot-ready via proxy: {elapsed * 1000:.0f} ms")


async def test_offer_to_unknown_session_is_404_from_bot(served: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        offer = {"sdp": "v=0", "type": "offer"}
        response = await client.post("/sessions/no-such-session/offer", json=offer)
    assert response.status_code == 404
    assert "no-such-session" in response.json()["detail"]


def test_disconnected_action_streams_from_bot(served: LiveServer) -> None:
    action = {
        "id": "act-1",
        "label": "rtvi-ai",
        "type": "action",
        "data": {
            "service": "llm",
            "action": "append_to_messages",
            "arguments": [
                {"name": "messages", "value": [{"role": "user", "content": "Tell me a story."}]},
                {"name": "run_immediately", "value": True},
            ],
        },
    }
    arrivals: list[tuple[float, dict[str, Any]]] = []
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", served.url + "/action", json={"actions": [action]}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        buffer = ""
        for chunk in response.iter_text():
            buffer += chunk
            while "\n\n" in buffer:
                event, buffer = buffer.split("\n\n", 1)
                payload = "".join(line.split(":", 1)[1].strip() for line in event.splitlines())
                arrivals.append((time.monotonic(), json.loads(base64.b64decode(payload))))
    types = [message["type"] for _, message in arrivals]
    assert types[0] == "bot-llm-started"
    assert types[-1] == "action-response" and arrivals[-1][1]["id"] == "act-1"
    tokens = types.count("bot-llm-text")
    assert tokens >= 3
    # The bot spaces tokens 20 ms apart; had the proxy buffered, all would arrive at once.
    spread = arrivals[-1][0] - arrivals[0][0]
    assert spread >= 0.5 * 0.02 * (tokens - 1), (spread, tokens)


def test_dead_bot_is_restarted_and_shutdown_stops_the_bot(server_factory: Any) -> None:
    server: LiveServer = server_factory("--bot", "embedded", "--bot-pipecat", "1.14.0")
    wait_for_bot(server)
    session = httpx.post(server.url + "/connect", json={}, timeout=60).json()
    (first_pid,) = bot_children(server)
    os.kill(first_pid, signal.SIGKILL)
    bot = wait_for_bot(server, "exited")
    assert "exited" in bot["detail"]
    # That bot's session is over, and the server says so without starting a new bot.
    offer = {"sdp": "v=0", "type": "offer", "pc_id": "x", "restart_pc": True}
    gone = httpx.post(session["offer_url"], json=offer, timeout=10)
    assert gone.status_code == 410, gone.text
    assert gone.json()["error"] == "session ended"
    assert wait_for_bot(server, "exited")["restarts"] == 0
    # The next visitor brings it back (the first restart is immediate).
    response = httpx.post(server.url + "/connect", json={}, timeout=60)
    assert response.status_code == 200, response.text
    bot = wait_for_bot(server)
    assert bot["restarts"] == 1
    (second_pid,) = bot_children(server)
    assert second_pid != first_pid
    server.stop()  # SIGTERM, as Ctrl-C or systemd would
    assert _state(second_pid) in {"gone", "Z"}


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
