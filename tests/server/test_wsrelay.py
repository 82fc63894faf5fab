"""The WebSocket relay of `pyrtvi serve` (`pyrtvi_server.wsrelay`) against a stock runner bot on
`-t websocket`, real processes both: a CPython WebSocket client plays the browser.

RTVI JSON travels as protobuf `pipecat.Frame{message: MessageFrame{data}}` (PROTOCOL §9); the
few bytes of it are built and read here by hand (tag 4 → tag 1), enough to reach bot-ready.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from pyrtvi_testing.processes import LiveServer
from websockets.asyncio.client import ClientConnection

from tests.runner_bot import RunnerBot, runner_ws_bot

__all__ = ["runner_ws_bot"]  # the fixture, imported for this module's tests

pytestmark = pytest.mark.bot

TIMEOUT = 30.0


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7


def message_frame(message: dict[str, Any]) -> bytes:
    """`Frame{message: MessageFrame{data: json}}`."""
    data = json.dumps(message).encode()
    inner = b"\x0a" + _varint(len(data)) + data
    return b"\x22" + _varint(len(inner)) + inner


def rtvi_of(frame: bytes) -> dict[str, Any] | None:
    """The RTVI message in a `Frame`, or None for other frames (audio, text, ...)."""
    tag, pos = _read_varint(frame, 0)
    if tag != 0x22:
        return None
    _, pos = _read_varint(frame, pos)
    inner_tag, pos = _read_varint(frame, pos)
    assert inner_tag == 0x0A, frame[:20]
    length, pos = _read_varint(frame, pos)
    value: dict[str, Any] = json.loads(frame[pos : pos + length])
    return value


CLIENT_READY = {
    "label": "rtvi-ai",
    "type": "client-ready",
    "id": "ready-1",
    "data": {"version": "1.0.0", "about": {"library": "pyrtvi-tests"}},
}


@pytest.fixture(scope="module")
def relay(server_factory: Any, runner_ws_bot: RunnerBot) -> LiveServer:
    """`pyrtvi serve --bot url --bot-url <the runner bot on -t websocket>`."""
    return server_factory("--bot", "url", "--bot-url", runner_ws_bot.url)  # type: ignore[no-any-return]


def ws_url(server: LiveServer, body: dict[str, Any] | None = None) -> str:
    reply = httpx.post(server.url + "/start", json={"transport": "websocket", **(body or {})})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert set(data) == {"wsUrl"}, data
    url: str = data["wsUrl"]
    return url


async def open_ws(url: str, origin: str | None) -> ClientConnection:
    return await websockets.connect(
        url,
        origin=websockets.Origin(origin) if origin else None,
        open_timeout=TIMEOUT,
        proxy=None,
        max_size=None,
    )


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    """Wait for the server to close `ws`; its close code and reason."""
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    received = ws.protocol.close_rcvd
    assert received is not None, "closed without a close frame"
    return received.code, received.reason


async def until_bot_ready(ws: ClientConnection) -> dict[str, Any]:
    await ws.send(message_frame(CLIENT_READY))
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(frame, bytes), f"text from the bot: {frame!r}"
        message = rtvi_of(frame)
        if message and message.get("type") == "bot-ready":
            return message
    raise AssertionError("no bot-ready")


def wait_for_log(bot: RunnerBot, text: str, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while bot.log().count(text) < count:
        assert time.monotonic() < deadline, f"{text!r} not logged {count}x:\n{bot.log()[-3000:]}"
        time.sleep(0.1)


def test_start_answers_a_url_on_our_server_only(
    relay: LiveServer, runner_ws_bot: RunnerBot
) -> None:
    url = urlsplit(ws_url(relay))
    assert (url.scheme, url.netloc) == ("ws", f"127.0.0.1:{relay.port}")
    assert url.path.startswith("/sessions/") and url.path.endswith("/ws")
    assert str(runner_ws_bot.port) not in url.geturl()


def test_connect_answers_a_bundle_for_websocket(relay: LiveServer) -> None:
    reply = httpx.post(relay.url + "/connect", json={"transport": "websocket", "greeting": "hi"})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert set(data) == {"session_id", "ws_url"}
    assert data["ws_url"] == f"ws://127.0.0.1:{relay.port}/sessions/{data['session_id']}/ws"


async def test_relay_reaches_bot_ready_and_closes_the_bot_side_when_the_browser_leaves(
    relay: LiveServer, runner_ws_bot: RunnerBot
) -> None:
    left = runner_ws_bot.log().count("client left")
    ws = await open_ws(ws_url(relay), relay.url)
    try:
        ready = await until_bot_ready(ws)
        assert ready["id"] == "ready-1"
        assert ready["data"]["about"]["library_version"] == "1.14.0"
    finally:
        await ws.close()
    # The relay closed its socket to the bot: the bot's transport saw its client leave.
    await asyncio.to_thread(wait_for_log, runner_ws_bot, "client left", left + 1)


@pytest.fixture(scope="module")
def hasty_relay(server_factory: Any, runner_ws_bot: RunnerBot) -> LiveServer:
    """The relay with 1 s request deadlines (`PYRTVI_HEADER_TIMEOUT`, `PYRTVI_BODY_TIMEOUT`)."""
    env = {"PYRTVI_HEADER_TIMEOUT": "1", "PYRTVI_BODY_TIMEOUT": "1"}
    return server_factory("--bot", "url", "--bot-url", runner_ws_bot.url, env=env)  # type: ignore[no-any-return]


async def test_a_relayed_socket_outlives_the_request_deadlines(hasty_relay: LiveServer) -> None:
    """The upgrade ends the HTTP request's deadlines (they closed every relayed session after
    `body_timeout`, 20 s by default)."""
    ws = await open_ws(ws_url(hasty_relay), hasty_relay.url)
    try:
        await until_bot_ready(ws)
        await asyncio.sleep(2.5)
        request = {"label": "rtvi-ai", "type": "client-message", "id": "m1", "data": {"t": "body"}}
        await ws.send(message_frame(request))
        while True:
            frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
            assert isinstance(frame, bytes), f"text from the bot: {frame!r}"
            message = rtvi_of(frame)
            if message and message.get("type") == "server-response":
                break
        assert message["id"] == "m1"
    finally:
        await ws.close()


async def test_relay_refuses_a_foreign_origin(relay: LiveServer) -> None:
    ws = await open_ws(ws_url(relay), "http://evil.example")
    code, reason = await closed_with(ws)
    assert code == 4003 and "evil.example" in reason


async def test_relay_refuses_an_unknown_session(relay: LiveServer) -> None:
    url = f"ws://127.0.0.1:{relay.port}/sessions/no-such-session/ws"
    code, reason = await closed_with(await open_ws(url, relay.url))
    assert code == 4404 and "unknown" in reason


async def test_relay_refuses_a_second_socket_on_one_session(relay: LiveServer) -> None:
    url = ws_url(relay)
    first = await open_ws(url, relay.url)
    try:
        await until_bot_ready(first)
        code, reason = await closed_with(await open_ws(url, relay.url))
        assert code == 4409 and "already" in reason
    finally:
        await first.close()


async def test_relay_closes_on_an_oversize_message(relay: LiveServer) -> None:
    ws = await open_ws(ws_url(relay), relay.url)
    await ws.send(b"\0" * (1024 * 1024 + 1))
    code, reason = await closed_with(ws)
    assert code == 1009 and "limit" in reason


async def test_relay_closes_on_a_message_flood(relay: LiveServer) -> None:
    ws = await open_ws(ws_url(relay), relay.url)
    with pytest.raises(websockets.ConnectionClosed):
        for _ in range(5000):
            await ws.send(message_frame({"label": "rtvi-ai", "type": "noise", "id": "n"}))
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    received = ws.protocol.close_rcvd
    assert received is not None and received.code == 1008, received
    assert "messages a second" in received.reason


async def test_the_browser_is_closed_when_the_bot_goes(
    server_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The bot process dies mid-session: the page's socket is closed, with a reason."""
    bot = RunnerBot(transport="websocket").start(tmp_path_factory.mktemp("doomed-bot"))
    try:
        server: LiveServer = server_factory("--bot", "url", "--bot-url", bot.url)
        ws = await open_ws(ws_url(server), server.url)
        await until_bot_ready(ws)
        assert bot.process is not None
        bot.process.kill()
        code, reason = await closed_with(ws)
        assert code == 1014 and "lost" in reason
    finally:
        bot.stop()


def test_a_token_runner_is_reached_and_reconnected_with_a_fresh_token(
    server_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`--ws-auth token`: the runner's `/start` gives a one-time token; the relay hands it on,
    and a second socket on the same session gets a new one (the first would be refused)."""
    bot = RunnerBot(transport="websocket", args=["--ws-auth", "token"])
    bot.start(tmp_path_factory.mktemp("token-bot"))
    try:
        server: LiveServer = server_factory("--bot", "url", "--bot-url", bot.url)
        url = ws_url(server)
        assert "token" not in url

        async def twice() -> None:
            for _ in range(2):
                ws = await open_ws(url, server.url)
                try:
                    await until_bot_ready(ws)
                finally:
                    await ws.close()

        asyncio.run(twice())
    finally:
        bot.stop()


async def test_a_bot_that_refuses_the_socket_is_a_1014_with_its_status(
    server_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A runner that allows one other origin refuses the relayed socket (HTTP 403)."""
    bot = RunnerBot(transport="websocket", args=["--allowed-origins", "http://only.example"])
    bot.start(tmp_path_factory.mktemp("picky-bot"))
    try:
        server: LiveServer = server_factory("--bot", "url", "--bot-url", bot.url)
        code, reason = await closed_with(await open_ws(ws_url(server), server.url))
        assert code == 1014 and "HTTP 403" in reason, (code, reason)
    finally:
        bot.stop()


def test_embedded_bot_sessions_are_relayed_and_its_own_socket_needs_the_token(
    server_factory: Any,
) -> None:
    """Embedded mode: the bot's `/start {"transport": "websocket"}` names its socket, the relay
    opens it with the per-launch token; the bot's port refuses a socket without that token."""
    server: LiveServer = server_factory("--bot", "embedded")
    url = ws_url(server)
    assert urlsplit(url).netloc == f"127.0.0.1:{server.port}"

    async def through_relay_then_direct() -> None:
        ws = await open_ws(url, server.url)
        try:
            ready = await until_bot_ready(ws)
            assert ready["type"] == "bot-ready"
        finally:
            await ws.close()
        cmdline = Path(f"/proc/{server.bot_pid()}/cmdline").read_bytes().split(b"\0")
        bot_port = int(cmdline[cmdline.index(b"--port") + 1])
        with pytest.raises(websockets.InvalidStatus) as refused:
            await open_ws(f"ws://127.0.0.1:{bot_port}/ws", server.url)
        assert refused.value.response.status_code == 403

    asyncio.run(through_relay_then_direct())
