"""The bot on pipecat 1.14.0 (RTVI 2.x), the version the 1.x-client tests run against: bot-ready,
client messages, send-text with a spoken reply, and config/action messages refused by pipecat."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pyrtvi_server.botproc import BotProcess

from tests.server.bot_metrics import check_typed_count_turn, typed_turn_metrics
from tests.server.conftest import connected_peer
from tests.server.rtvi_peer import RTVIPeer

pytestmark = pytest.mark.bot


@pytest.fixture
async def peer(modern_bot: BotProcess, http: httpx.AsyncClient) -> AsyncIterator[RTVIPeer]:
    start = {"config": [{"service": "tts", "options": [{"name": "voice", "value": "en-gb"}]}]}
    peer = await connected_peer(modern_bot, http, start)
    yield peer
    await peer.close()


async def test_health(modern_bot: BotProcess, http: httpx.AsyncClient) -> None:
    reply = await http.get(modern_bot.base_url + "/health")
    assert reply.json() == {"status": "ok", "pipecat": "1.14.0", "rtvi": "2.2.0"}


async def test_ready_messages_and_refused_config(peer: RTVIPeer) -> None:
    ready = await peer.ready(version="2.1.0")
    assert ready["data"]["version"].startswith("2.")
    assert ready["data"]["about"]["library_version"] == "1.14.0"

    pong = await peer.request("client-message", {"t": "ping", "d": "x"})
    assert pong["type"] == "server-response"
    assert pong["data"]["t"] == "ping" and pong["data"]["d"]["pong"] is True
    settings = await peer.request("client-message", {"t": "settings"})
    assert settings["data"]["d"]["voice"] == "en-gb"  # /start's config seeds the 1.x bot too

    for kind, data in [
        ("describe-config", {}),
        ("get-config", {}),
        ("update-config", {"config": [], "interrupt": False}),
        ("describe-actions", {}),
        ("action", {"service": "llm", "action": "run", "arguments": []}),
    ]:
        refused = await peer.request(kind, data)
        assert refused["type"] == "error-response"
        assert refused["data"]["error"] == f"Unsupported type {kind}"


async def test_legacy_client_version_is_echoed(peer: RTVIPeer) -> None:
    """A 1.x client (RTVI 1.0) gets its own version back from pipecat 1.14, not 2.2."""
    ready = await peer.ready(version="1.0.0")
    assert ready["data"]["version"] == "1.0.0"


async def test_send_text_is_answered_and_spoken(peer: RTVIPeer) -> None:
    await peer.ready(version="2.1.0")
    start = time.monotonic()
    peer.send("send-text", {"content": "hello", "options": {"run_immediately": True}})
    await peer.wait_for("bot-llm-stopped", after=start)
    tokens = [
        r.message["data"]["text"] for r in peer.log if r.at >= start and r.type == "bot-llm-text"
    ]
    assert "".join(tokens) == "Hello! I am the pyrtvi test bot. I run fully offline."
    started = await peer.wait_for("bot-started-speaking", after=start, timeout=15)
    types = peer.types(after=start)
    assert (
        types.index("bot-llm-started")
        < types.index("bot-tts-started")
        < types.index("bot-started-speaking")
    )
    await peer.wait_for("bot-tts-text", after=started.at, timeout=15)
    assert peer.audio.sound_between(started.at) >= 10


async def test_user_speech_gets_spoken_reply(peer: RTVIPeer) -> None:
    await peer.ready(version="2.1.0")
    start = time.monotonic()
    peer.mic.play(offset=1.5)
    user_started = await peer.wait_for("user-started-speaking", after=start, timeout=15)
    user_stopped = await peer.wait_for("user-stopped-speaking", after=user_started.at, timeout=20)
    bot_started = await peer.wait_for("bot-started-speaking", after=user_stopped.at, timeout=15)
    said = "".join(
        r.message["data"]["text"]
        for r in peer.log
        if r.at >= user_stopped.at and r.type == "bot-llm-text"
    )
    assert said.startswith("I heard you speak for about")
    await peer.wait_for("bot-tts-text", after=bot_started.at, timeout=15)
    assert peer.audio.sound_between(bot_started.at) >= 10


async def test_disconnected_action_works_on_1x_too(
    modern_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    """No pipecat in the path: the HTTP actions behave as on 0.0.108."""
    data = {"service": "llm", "action": "run", "arguments": [{"name": "interrupt", "value": False}]}
    body = {"actions": [{"label": "rtvi-ai", "type": "action", "id": "r1", "data": data}]}
    reply = await http.post(modern_bot.base_url + "/action", json=body)
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = [
        json.loads(base64.b64decode(line.removeprefix("data: ")))
        for line in reply.text.split("\n\n")
        if line
    ]
    assert events[0]["type"] == "bot-llm-started"
    assert events[-1] == {
        "label": "rtvi-ai",
        "type": "action-response",
        "id": "r1",
        "data": {"result": True},
    }


async def test_sessions_are_independent(
    peer: RTVIPeer, modern_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    start = {"config": [{"service": "tts", "options": [{"name": "voice", "value": "en-us"}]}]}
    other = await connected_peer(modern_bot, http, start)
    try:
        await peer.ready(version="2.1.0")
        await other.ready(version="2.1.0")
        mine = await peer.request("client-message", {"t": "settings"})
        theirs = await other.request("client-message", {"t": "settings"})
        assert (mine["data"]["d"]["voice"], theirs["data"]["d"]["voice"]) == ("en-gb", "en-us")
        begin = time.monotonic()
        peer.send("send-text", {"content": "say one.", "options": {}})
        other.send("send-text", {"content": "say two.", "options": {}})
        for who, expected in ((peer, "one."), (other, "two.")):
            await who.wait_for("bot-llm-stopped", after=begin)
            said = "".join(
                r.message["data"]["text"]
                for r in who.log
                if r.at >= begin and r.type == "bot-llm-text"
            )
            assert said == expected
    finally:
        await other.close()


async def test_start_config_can_make_the_bot_speak_first(
    modern_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    messages = [{"role": "user", "content": "say Welcome back."}]
    options = [{"name": "messages", "value": messages}, {"name": "run_on_config", "value": True}]
    peer = await connected_peer(
        modern_bot, http, {"config": [{"service": "llm", "options": options}]}
    )
    try:
        start = time.monotonic()
        await peer.ready(version="2.1.0")
        await peer.wait_for("bot-llm-stopped", after=start)
        said = "".join(r.message["data"]["text"] for r in peer.log if r.type == "bot-llm-text")
        assert said == "Welcome back."
        types = peer.types()
        assert types.index("bot-ready") < types.index("bot-llm-started")
    finally:
        await peer.close()


async def test_goodbye_is_spoken_then_the_bot_ends_the_session(peer: RTVIPeer) -> None:
    await peer.ready(version="2.1.0")
    await peer.say_goodbye()


async def test_metrics_report_both_services(peer: RTVIPeer) -> None:
    """The 1.x bot's metrics, as on 0.0.108: TTFB, processing, tokens, characters; its bot-ready
    says so (RTVI 2.2 `capabilities.metrics`, from PipelineParams.enable_metrics)."""
    ready = await peer.ready(version="2.2.0")
    assert ready["data"]["capabilities"]["metrics"] is True
    check_typed_count_turn(await typed_turn_metrics(peer))
