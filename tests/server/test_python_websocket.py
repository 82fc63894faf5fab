"""The RTVI client in CPython (`PythonWebSocketTransport`) against real bots over the WebSocket.

- the stock runner bot (`tests/runner_bot`, pipecat 1.14 on `-t websocket`), started directly with
  its own `/start`: bot-ready, a client request round trip, a typed turn answered with bot text and
  bot audio frames, a spoken turn (`tests/data/speech48k.wav`, paced in real time) heard by the
  bot's VAD, disconnect;
- `pyrtvi serve` with the embedded bot, through its WebSocket relay: `/connect {"transport":
  "websocket"}`, a spoken turn answered with the bot's speech;
- the example of docs/websocket.md ("From CPython"), run as printed against `pyrtvi serve`.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyrtvi_testing.processes import LiveServer
from rtvi import ErrorResponse, RTVIClient, RTVIEvent
from rtvi.transports.python_websocket import PythonWebSocketTransport

from tests.conftest import ROOT
from tests.runner_bot import RunnerBot, runner_ws_bot

__all__ = ["runner_ws_bot"]  # the fixture, imported for this module's tests

pytestmark = pytest.mark.bot

SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech48k.wav"
TIMEOUT = 30.0


class Recorder:
    """Every client event as (name, data), and a way to wait for one."""

    def __init__(self, client: RTVIClient) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        for event in RTVIEvent:
            client.on(event, self._handler(str(event)))

    def _handler(self, name: str) -> Callable[..., None]:
        def handle(*args: Any) -> None:
            self.events.append((name, args[0] if args else None))
            self._changed.set()

        return handle

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    async def wait_for(self, name: str, after: int = 0, timeout: float = TIMEOUT) -> Any:
        """The data of the first `name` event at index ≥ `after`."""

        async def find() -> Any:
            while True:
                for seen, data in self.events[after:]:
                    if seen == name:
                        return data
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {name} within {timeout} s: {self.names()}") from None


async def test_runner_bot_from_cpython(runner_ws_bot: RunnerBot) -> None:
    transport = PythonWebSocketTransport()
    client = RTVIClient(transport=transport)
    seen = Recorder(client)
    ready = await client.start_bot_and_connect(
        endpoint=runner_ws_bot.url + "/start", request_data={"transport": "websocket"}
    )
    try:
        assert ready["about"]["library_version"] == "1.14.0"
        assert transport.url is not None and transport.url.endswith("/ws-client")
        assert transport.state == "ready"
        # Client request round trips: the runner bot answers `body` with its runner_args.body
        # (none: a WebSocket session has no /start body in pipecat's runner), and refuses others.
        assert await client.send_client_request("body") is None
        with pytest.raises(ErrorResponse, match="unknown message type 'nope'"):
            await client.send_client_request("nope")

        # A typed turn: the echo "LLM" answers in text, its tone "TTS" in audio frames.
        mark = len(seen.events)
        client.send_text("Hello bot")
        await seen.wait_for(RTVIEvent.BOT_LLM_STOPPED, after=mark)
        await seen.wait_for(RTVIEvent.BOT_STOPPED_SPEAKING, after=mark)
        said = "".join(d["text"] for n, d in seen.events[mark:] if n == RTVIEvent.BOT_LLM_TEXT)
        assert said.strip() == "You said: Hello bot."
        assert transport.bot_audio.frames > 0
        assert transport.bot_audio.first_audible() is not None

        # A spoken turn: the WAV, paced in real time, then silence: the bot's VAD hears both ends.
        mark = len(seen.events)
        ended = await asyncio.wait_for(transport.say(SPEECH), TIMEOUT)
        assert ended is not None and ended == transport.microphone.last_audible_at
        await seen.wait_for(RTVIEvent.USER_STARTED_SPEAKING, after=mark)
        await seen.wait_for(RTVIEvent.USER_STOPPED_SPEAKING, after=mark)
        assert transport.flushes.get("user-started-speaking", 0) >= 1
    finally:
        await client.disconnect()
    assert transport.state == "disconnected"
    assert RTVIEvent.DISCONNECTED in seen.names()


@pytest.fixture(scope="module")
def embedded(server_factory: Any) -> LiveServer:
    """`pyrtvi serve` with the embedded offline bot (pipecat 1.14)."""
    return server_factory("--bot", "embedded", "--bot-pipecat", "1.14.0")  # type: ignore[no-any-return]


async def test_embedded_bot_through_the_relay(embedded: LiveServer) -> None:
    transport = PythonWebSocketTransport()
    params = {"base_url": embedded.url, "request_data": {"transport": "websocket"}}
    client = RTVIClient(transport=transport, params=params)
    seen = Recorder(client)
    await client.connect()
    try:
        assert transport.url is not None
        assert transport.url.startswith(f"ws://127.0.0.1:{embedded.port}/sessions/")
        mark = len(seen.events)
        ended = await asyncio.wait_for(transport.say(SPEECH), TIMEOUT)
        assert ended is not None
        await seen.wait_for(RTVIEvent.USER_STOPPED_SPEAKING, after=mark)
        await seen.wait_for(RTVIEvent.BOT_STOPPED_SPEAKING, after=mark, timeout=60)
        reply = transport.bot_audio.first_audible(after=ended)
        assert reply is not None and reply > ended
    finally:
        await client.disconnect()
    assert transport.state == "disconnected"


def cpython_example() -> str:
    """The example of docs/websocket.md's "From CPython" section."""
    text = (ROOT / "docs" / "websocket.md").read_text()
    section = text[text.index("## From CPython") :]
    return section[section.index("```python\n") + 10 : section.index("\n```\n")]


@pytest.fixture(scope="module")
def default_server(server_factory: Any) -> LiveServer:
    """`pyrtvi serve` as it starts with no flags: the embedded bot on its default pipecat."""
    return server_factory()  # type: ignore[no-any-return]


def test_the_docs_example_runs_as_printed(default_server: LiveServer) -> None:
    code = cpython_example()
    assert "http://127.0.0.1:8000/start" in code and '"hello.wav"' in code
    code = code.replace("http://127.0.0.1:8000", default_server.url)
    code = code.replace('"hello.wav"', repr(str(SPEECH)))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=90, check=False
    )
    assert out.returncode == 0, out.stderr
    match = re.fullmatch(r"voice to voice: (\d+) ms\n", out.stdout)
    assert match, out.stdout
    assert 0 < int(match[1]) < 10_000
    print(f"docs example against pyrtvi serve: {out.stdout.strip()}")  # the figure, with -s
