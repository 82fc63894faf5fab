"""The WebSocket transport in Chromium against real Pipecat bots (0.0.108 and 1.14.0).

The page is the transport test harness served by a `--bot none` server; each bot is a
`python -m pyrtvi_bot` process of its own (its `WS /ws` endpoint, pipecat's protobuf WebSocket),
reached directly with `WebSocketTransport(ws_url=...)`. The fake microphone plays
tests/data/speech48k.wav (2 s silence, 5 s speech, 3 s silence, looped), which Silero VAD on the
bot hears through the capture worklet at 16 kHz.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pyrtvi_server.botproc import BotProcess, bot_python
from pyrtvi_testing.harness import Harness, HarnessPool
from pyrtvi_testing.processes import LiveServer

#: Chromium's Local Network Access treats the harness (a document Playwright fulfils) as a
#: public page, whose sockets to 127.0.0.1 it refuses (close 1006) unless this is granted.
HARNESS_GRANTS = ["local-network-access"]

pytestmark = [pytest.mark.browser, pytest.mark.bot]

STATES = ["initializing", "initialized", "authenticating", "connecting", "connected", "ready"]
#: A reply that takes the bot far longer to say than the test needs (espeak, ~15 s).
LONG_SAY = "say " + " ".join(["the quick brown fox jumps over the lazy dog"] * 6)


@pytest.fixture(scope="module")
def bot_thread() -> Iterator[ThreadPoolExecutor]:
    """One long-lived thread that starts and stops the bots (Playwright's loop owns the main
    thread, and a bot gets SIGTERM when the thread that spawned it ends)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        yield thread


def in_thread(thread: ThreadPoolExecutor, coro: Coroutine[Any, Any, None]) -> None:
    thread.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module", params=["0.0.108", "1.14.0"])
def bot(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    bot_thread: ThreadPoolExecutor,
) -> Iterator[BotProcess]:
    version = request.param
    python = bot_python(version)
    if not python.exists():
        pytest.skip(f"no bot environment for pipecat {version}: run `make setup-test`")
    log = tmp_path_factory.mktemp("bot") / f"bot-{version}.log"
    process = BotProcess(python, pipecat_version=version, log_path=log)
    in_thread(bot_thread, process.start(timeout=120))
    process.thread = bot_thread  # type: ignore[attr-defined]
    yield process
    in_thread(bot_thread, process.stop())


def ws_url(bot: BotProcess) -> str:
    return f"ws://{bot.host}:{bot.port}/ws"


def open_connected(
    pool: HarnessPool, page_server: LiveServer, bot: BotProcess, **options: Any
) -> Harness:
    harness = pool.get(page_server)
    args = ", ".join(f"{k}={v!r}" for k, v in {"ws_url": ws_url(bot), **options}.items())
    harness.run(
        f"""
from rtvi.transports.websocket import WebSocketTransport
client = make_client(
    transport=WebSocketTransport({args}),
    params={{"base_url": None, "endpoints": {{"connect": None}}}},
)
ready = await client.connect()
"""
    )
    return harness


def stats(harness: Harness) -> dict[str, Any]:
    return harness.run("client.transport.audio_stats()")  # type: ignore[no-any-return]


def test_connect_speech_bot_audio_and_send_text(
    pool: HarnessPool, page_server: LiveServer, bot: BotProcess
) -> None:
    harness = open_connected(pool, page_server, bot)
    assert harness.run("ready")["about"]["library_version"] == bot.pipecat_version
    assert [e["data"][0] for e in harness.events("transportStateChanged")] == STATES
    names = [e["name"] for e in harness.events()]
    assert names.index("connected") < names.index("botConnected") < names.index("botReady")
    # Speech from the fake mic, through the capture worklet, is heard by the bot's VAD.
    started = harness.wait_event("userStartedSpeaking", timeout_ms=30_000)
    stopped = harness.wait_event("userStoppedSpeaking", timeout_ms=30_000)
    assert stopped["t"] - started["t"] > 2000  # the wav holds ~5 s of speech
    assert stats(harness)["sent"] > 100  # 32 ms frames
    # The bot answers; its audio plays in the page's <audio> element.
    harness.wait_event("botStartedSpeaking", timeout_ms=30_000)
    energy = harness.page.evaluate(
        "window.measureElement(document.querySelector('audio[data-pyrtvi=\"bot-audio\"]'), 1500)"
    )
    assert energy > 0.02, f"bot audio is silent in the page (max RMS {energy})"
    player = stats(harness)["player"]
    assert player["frames"] > 10 and player["played"] > 0 and player["bad"] == 0
    assert player["rate"] == 24000  # played at the frame's own rate
    levels = harness.run("LEVELS")
    assert max(level for _, level in levels["bot"]) > 0.02
    assert max(level for _, level in levels["local"]) > 0.05
    # Typed text reaches the bot, which answers it.
    before = len(harness.events("botTranscript")) + len(harness.events("botLlmText"))
    harness.run("client.send_text('hello there', run_immediately=True, audio_response=True)")
    harness.page.wait_for_function(
        """(n) => window.rtviEvents.filter((e) => ["botTranscript", "botLlmText"].includes(
            JSON.parse(e).name) && e.includes("pyrtvi test bot")).length > 0""",
        arg=before,
        timeout=30_000,
    )
    harness.run("await client.disconnect()")
    assert harness.run("[client.state, live_proxies()]") == ["disconnected", 0]


def test_interruption_drops_queued_bot_audio(
    pool: HarnessPool, page_server: LiveServer, bot: BotProcess
) -> None:
    # A deep jitter buffer, as for a distant bot: 0.8 s is queued while the bot talks (on two
    # busy cores the bot's audio comes late and the queue runs below the buffer: at 0.5 s, CI
    # once flushed 291 ms).
    harness = open_connected(pool, page_server, bot, jitter_ms=800)
    # Right after the user stops, ask for a long reply; the next loop of the wav interrupts it.
    harness.wait_event("userStoppedSpeaking", timeout_ms=30_000)
    flushes = harness.run("dict(client.transport.flushes)")
    harness.run(f"client.send_text({LONG_SAY!r}, run_immediately=True, audio_response=True)")
    harness.wait_event("botStartedSpeaking", timeout_ms=30_000)
    count = len(harness.events("userStartedSpeaking"))
    dropped_before = stats(harness)["player"]["dropped"]
    harness.wait_event("userStartedSpeaking", timeout_ms=30_000, count=count + 1)
    harness.page.wait_for_timeout(1000)  # the user is still speaking: the bot must be quiet
    player = stats(harness)["player"]
    rate = player["sampleRate"]
    after_ms = (player["played"] - player["flushPlayed"]) / rate * 1000
    dropped_ms = (player["dropped"] - dropped_before) / rate * 1000
    print(
        f"pipecat {bot.pipecat_version}: flushed {dropped_ms:.0f} ms of queued bot audio, "
        f"{after_ms:.0f} ms played in the second after"
    )
    assert harness.run("client.transport.flushes")["user-started-speaking"] > flushes.get(
        "user-started-speaking", 0
    )
    assert dropped_ms > 300  # the bot was talking: the queued audio was dropped
    assert after_ms < 150, f"{after_ms:.0f} ms of bot audio played on after the interruption"
    harness.run("await client.disconnect()")


def test_twenty_cycles_release_every_js_proxy(
    pool: HarnessPool, page_server: LiveServer, bot: BotProcess
) -> None:
    harness = pool.get(page_server)
    peak = harness.cycle_and_count_proxies(
        f"""
from rtvi.transports.websocket import WebSocketTransport
client = make_client(
    transport=WebSocketTransport(ws_url={ws_url(bot)!r}),
    params={{"base_url": None, "endpoints": {{"connect": None}}}},
)
"""
    )
    assert peak >= 3  # socket listeners, the router's callback, the device watcher


def test_lost_socket_reconnects_to_a_new_pipeline(
    pool: HarnessPool, page_server: LiveServer, bot: BotProcess
) -> None:
    harness = open_connected(pool, page_server, bot)
    harness.run("client.transport.websocket.close(3000, 'test drops the socket')")
    harness.wait_event("botReady", count=2)  # client-ready again on the new socket
    assert harness.run("client.state") == "ready"
    assert harness.run("client.transport.websocket is not None")
    assert not harness.events("error") and not harness.events("disconnected")
    before = len(harness.events("botLlmText"))
    stopped = len(harness.events("botLlmStopped"))
    harness.run("client.send_text('hello', run_immediately=True, audio_response=False)")
    harness.wait_event("botLlmText", count=before + 1)
    # (the whole answer, which may stream in several pieces, before the listener goes)
    harness.wait_event("botLlmStopped", count=stopped + 1)
    before = len(harness.events("botLlmText"))
    # Nobody listens to the bot's text any more: the router drops it in JS, unread by Python;
    # a listener added later hears the next reply.
    harness.run("client.off('botLlmText'); client.off('botText')")
    quiet = stats(harness)["quiet"]
    harness.run("client.send_text('hello', run_immediately=True, audio_response=False)")
    harness.wait_event("botLlmStopped", count=stopped + 2)
    assert stats(harness)["quiet"] > quiet
    assert len(harness.events("botLlmText")) == before
    harness.run("client.on('botLlmText', lambda data: record('botLlmText', [data]))")
    harness.run("client.send_text('hello', run_immediately=True, audio_response=False)")
    harness.wait_event("botLlmText", count=before + 1)
    # Nobody listens to the levels: they stay in JS (the property reads them there) until
    # someone does again.
    harness.run("client.off('localAudioLevel'); client.off('remoteAudioLevel')")
    harness.run("LEVELS['local'].clear()")
    harness.page.wait_for_timeout(400)
    assert harness.run("len(LEVELS['local'])") == 0
    assert harness.run("type(client.transport.local_audio_level).__name__") == "float"
    harness.run("client.on('localAudioLevel', lambda level: LEVELS['local'].append((0, level)))")
    harness.wait_for(lambda: harness.run("len(LEVELS['local'])") >= 2)
    harness.run("await client.disconnect()")
    assert harness.run("live_proxies()") == 0


def test_keepalive_without_a_mic(
    pool: HarnessPool, page_server: LiveServer, bot: BotProcess
) -> None:
    harness = pool.get(page_server)
    sent = harness.run(
        f"""
import asyncio
from rtvi.transports.websocket import WebSocketTransport
client = make_client(
    transport=WebSocketTransport(ws_url={ws_url(bot)!r}, keepalive_interval=0.2),
    params={{"base_url": None, "endpoints": {{"connect": None}}}},
    enable_mic=False,
)
await client.connect()
first = client.transport.audio_stats()["sent"]
await asyncio.sleep(2)
[first, client.transport.audio_stats()["sent"], client.tracks().local.audio is None]
"""
    )
    first, later, no_mic = sent
    assert no_mic
    assert later - first >= 4  # a silent frame every 0.2 s with nothing else to send
    harness.run("await client.disconnect()")


def test_camera_screen_unsupported_and_size_guard(
    pool: HarnessPool, page_server: LiveServer, bot: BotProcess
) -> None:
    harness = open_connected(pool, page_server, bot)
    too_big = harness.run(
        """
from rtvi.errors import MessageTooLargeError
try:
    client.send_client_message("big", "x" * (1 << 20))
    result = None
except MessageTooLargeError as exc:
    result = type(exc).__name__
result
"""
    )
    assert too_big == "MessageTooLargeError"
    errors = harness.run(
        """
from rtvi.errors import UnsupportedFeatureError
out = []
for call in (lambda: client.enable_cam(True), lambda: client.transport.enable_screen_share(True)):
    try:
        call()
        out.append(None)
    except UnsupportedFeatureError as exc:
        out.append(type(exc).__name__)
out
"""
    )
    assert errors == ["UnsupportedFeatureError", "UnsupportedFeatureError"]
    harness.run("await client.disconnect()")


def test_bot_killed_ends_in_disconnected_with_events(
    pool: HarnessPool, page_server: LiveServer, bot: BotProcess
) -> None:
    harness = open_connected(pool, page_server, bot)
    try:
        bot.kill()
        disconnected = harness.wait_event("disconnected", timeout_ms=30_000)
        error = harness.events("error")[-1]["data"][0]["data"]
        assert error["fatal"] is True
        assert error["message"] == "connection lost; gave up after 3 reconnect attempts"
        names = [e["name"] for e in harness.events()]
        assert names.count("botDisconnected") == 1
        assert names.index("botDisconnected") < names.index("disconnected")
        assert disconnected["t"] > 0
        assert harness.run("[client.state, live_proxies()]") == ["disconnected", 0]
    finally:
        in_thread(bot.thread, bot.start(timeout=120))  # type: ignore[attr-defined]
