"""`PythonWebSocketTransport` against an in-process protobuf WebSocket "bot" (`websockets`, on
loopback): ready, mic frames, bot audio with interruption flushes, bad frames, how the socket ends."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from rtvi import (
    RTVIClient,
    RTVIEvent,
    RTVIMessage,
    TransportNotConnectedError,
    TransportStartError,
)
from rtvi.transports.python_websocket import PythonWebSocketTransport
from rtvi.transports.websocket.protobuf import (
    AudioRawFrame,
    InterruptionFrame,
    MessageFrame,
    TextFrame,
    decode_frame,
    encode_frame,
)
from websockets.asyncio.server import Server, ServerConnection, serve

Script = Callable[[ServerConnection, dict[str, Any]], Any]


def rtvi(kind: str, data: Any = None, id: str = "b1") -> bytes:
    return encode_frame(MessageFrame.of({"label": "rtvi-ai", "type": kind, "id": id, "data": data}))


class FakeBot:
    """Answers client-ready with bot-ready, then runs `script`; records what it received."""

    def __init__(self) -> None:
        self.script: Script | None = None
        self.messages: list[dict[str, Any]] = []
        self.audio: list[AudioRawFrame] = []
        self.server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    async def handle(self, ws: ServerConnection) -> None:
        async for data in ws:
            frame = decode_frame(data)  # type: ignore[arg-type]
            if isinstance(frame, AudioRawFrame):
                self.audio.append(frame)
                continue
            assert isinstance(frame, MessageFrame)
            message = json.loads(frame.data)
            self.messages.append(message)
            if message["type"] == "client-ready":
                await ws.send(rtvi("bot-ready", {"version": "2.2.0"}, id=message["id"]))
                if self.script is not None:
                    await self.script(ws, message)


@pytest.fixture
async def bot() -> AsyncIterator[FakeBot]:
    fake = FakeBot()
    async with serve(fake.handle, "127.0.0.1", 0) as server:
        fake.server = server
        yield fake


def client_for(bot: FakeBot, **options: Any) -> tuple[RTVIClient, PythonWebSocketTransport]:
    transport = PythonWebSocketTransport(ws_url=bot.url, **options)
    params = {"base_url": None, "endpoints": {"connect": None}}
    return RTVIClient(transport=transport, params=params), transport


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_connect_sends_mic_frames_and_collects_bot_audio(bot: FakeBot) -> None:
    tone = b"\x00\x10" * 160  # 10 ms at 16 kHz, audible

    async def speak(ws: ServerConnection, _ready: dict[str, Any]) -> None:
        for _ in range(3):
            await ws.send(encode_frame(AudioRawFrame(tone, sample_rate=16000, num_channels=1)))
        await ws.send(encode_frame(TextFrame("ignored")))

    bot.script = speak
    client, transport = client_for(bot)
    levels: list[float] = []
    client.on(RTVIEvent.LOCAL_AUDIO_LEVEL, levels.append)
    ready = await client.connect()
    assert ready["version"] == "2.2.0" and transport.state == "ready"
    assert transport.url == bot.url
    await until(lambda: transport.bot_audio.frames == 3 and len(bot.audio) >= 3)
    assert bot.audio[0].sample_rate == 16000 and len(bot.audio[0].audio) == 640  # 20 ms
    assert transport.bot_audio.first_audible() is not None
    assert levels and set(levels) == {0.0}  # the mic's silence, every audio_level_interval
    await client.disconnect()
    assert transport.state == "disconnected" and transport.url is None
    assert bot.messages[0]["type"] == "client-ready"


async def test_interruptions_drop_queued_bot_audio(bot: FakeBot) -> None:
    second = b"\x00\x10" * 16000  # 1 s: it cannot have played when the flush comes

    async def interrupted(ws: ServerConnection, _ready: dict[str, Any]) -> None:
        await ws.send(encode_frame(AudioRawFrame(second, sample_rate=16000, num_channels=1)))
        await ws.send(rtvi("bot-interrupted"))
        await ws.send(encode_frame(AudioRawFrame(second, sample_rate=16000, num_channels=1)))
        await ws.send(encode_frame(InterruptionFrame()))

    bot.script = interrupted
    client, transport = client_for(bot)
    seen: list[str] = []
    client.on(RTVIEvent.BOT_INTERRUPTED, lambda *_: seen.append("bot-interrupted"))
    await client.connect()
    await until(lambda: transport.bot_audio.flushes == 2)
    assert transport.flushes == {"bot-interrupted": 1, "interruption": 1}
    assert transport.bot_audio.dropped_samples > 30000  # most of both seconds
    assert seen == ["bot-interrupted"]
    await client.disconnect()


async def test_a_bad_frame_is_a_non_fatal_error(bot: FakeBot) -> None:
    async def garbage(ws: ServerConnection, _ready: dict[str, Any]) -> None:
        await ws.send(b"\xff\xff")
        await ws.send("a text message")

    bot.script = garbage
    client, transport = client_for(bot)
    errors: list[Any] = []
    client.on(RTVIEvent.ERROR, errors.append)
    await client.connect()
    await until(lambda: bool(errors))
    assert "bad frame from the bot" in str(errors[0])
    assert transport.state == "ready"
    await client.disconnect()


@pytest.mark.parametrize(("code", "fatal"), [(1000, False), (1011, True)])
async def test_the_bot_closing_ends_the_session(bot: FakeBot, code: int, fatal: bool) -> None:
    async def close(ws: ServerConnection, _ready: dict[str, Any]) -> None:
        await ws.close(code, "bye")

    bot.script = close
    client, transport = client_for(bot)
    events: list[str] = []
    client.on(RTVIEvent.BOT_DISCONNECTED, lambda *_: events.append("bot-disconnected"))
    client.on(RTVIEvent.ERROR, lambda data: events.append(f"error {data}"))
    client.on(RTVIEvent.DISCONNECTED, lambda *_: events.append("disconnected"))
    await client.connect()
    await until(lambda: "disconnected" in events)
    assert events[-2:] == ["bot-disconnected", "disconnected"]
    assert any("code 1011, bye" in e for e in events) == fatal
    assert transport.state == "disconnected"


async def test_no_url_and_closed_socket_errors(bot: FakeBot) -> None:
    transport = PythonWebSocketTransport()
    client = RTVIClient(
        transport=transport, params={"base_url": None, "endpoints": {"connect": None}}
    )
    with pytest.raises(TransportStartError, match="no WebSocket URL"):
        await client.connect()
    client, transport = client_for(bot)
    with pytest.raises(TransportNotConnectedError, match="not open"):
        transport.send_message(RTVIMessage("client-message", {}))


async def test_what_was_sent_before_disconnect_still_goes_out(bot: FakeBot) -> None:
    client, _transport = client_for(bot)
    await client.connect()
    client.send_client_message("last words", 1)
    await client.disconnect()
    await until(lambda: any(m["type"] == "client-message" for m in bot.messages))
    assert bot.messages[-1]["data"] == {"t": "last words", "d": 1}


def test_websockets_is_imported_only_when_a_session_opens() -> None:
    code = (
        "import sys, rtvi.transports.python_websocket as p; p.PythonWebSocketTransport();"
        "print(sorted(m for m in sys.modules if m == 'websockets' or m == 'js'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
