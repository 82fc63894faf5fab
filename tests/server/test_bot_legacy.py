"""The embedded bot on pipecat 0.0.108, driven like a realtime-ai 0.2 client would: a real bot
process, an aiortc peer over SmallWebRTC, RTVI 1.2 plus the 0.3 config and actions messages."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pyrtvi_server.botproc import BotProcess

from tests.server.bot_metrics import check_typed_count_turn, typed_turn_metrics
from tests.server.conftest import connected_peer
from tests.server.rtvi_peer import RTVIPeer, new_id, start_session

pytestmark = pytest.mark.bot

ACTIONS = {
    "llm:get_context",
    "llm:set_context",
    "llm:append_to_messages",
    "llm:run",
    "tts:say",
    "tts:interrupt",
}
START = {
    "request_data": {"user": "tester"},
    "services": {"stt": "none", "llm": "rules", "tts": "espeak"},
    "config": [
        {"service": "tts", "options": [{"name": "voice", "value": "en-gb"}]},
        {
            "service": "llm",
            "options": [
                {"name": "model", "value": "rules"},
                {"name": "messages", "value": [{"role": "system", "content": "Be brief."}]},
            ],
        },
    ],
}


@pytest.fixture
async def peer(legacy_bot: BotProcess, http: httpx.AsyncClient) -> AsyncIterator[RTVIPeer]:
    peer = await connected_peer(legacy_bot, http, START)
    yield peer
    await peer.close()


def action(service: str, name: str, **arguments: Any) -> dict[str, Any]:
    args = [{"name": k, "value": v} for k, v in arguments.items()]
    return {"service": service, "action": name, "arguments": args}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


async def test_health(legacy_bot: BotProcess, http: httpx.AsyncClient) -> None:
    reply = await http.get(legacy_bot.base_url + "/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "pipecat": "0.0.108", "rtvi": "1.2.0"}


async def test_bad_http_inputs_are_4xx_json(
    legacy_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    base = legacy_bot.base_url
    offer_url = await start_session(http, base)
    cases = [
        ("POST", "/start", b"{not json", 400),
        ("POST", "/start", b'{"config": {"service": "tts"}}', 400),
        (
            "POST",
            "/start",
            b'{"config": [{"service": "tts", "options": [{"name": "voice", "value": "xx"}]}]}',
            400,
        ),
        ("POST", "/start", b'{"config": [{"service": "nope", "options": []}]}', 400),
        ("POST", "/start", b'{"services": {"llm": 3}}', 400),
        ("POST", "/start", b"[]", 400),
        ("POST", "/sessions/nope/api/offer", b'{"sdp": "v=0", "type": "offer"}', 404),
        ("POST", offer_url, b'{"type": "offer"}', 400),
        ("POST", offer_url, b'{"sdp": "v=0", "type": "answer"}', 400),
        ("POST", offer_url, b'{"sdp": "not an sdp", "type": "offer"}', 400),
        ("POST", offer_url, b'{"sdp": "v=0", "type": "offer", "restart_pc": "yes"}', 400),
        ("PATCH", offer_url, b'{"pc_id": "unknown", "candidates": []}', 404),
        ("PATCH", offer_url, b'{"pc_id": 5}', 400),
        ("PATCH", "/sessions/nope/api/offer", b'{"pc_id": "x", "candidates": []}', 404),
        ("POST", "/action", b"not json", 400),
        ("POST", "/action", b'{"actions": []}', 400),
        ("POST", "/action", b'{"actions": [{"type": "action", "id": "a"}]}', 400),
        ("POST", "/action", b'{"actions": [{"type": "nope", "id": "a", "data": {}}]}', 400),
        ("POST", "/action", b'{"actions": [], "sessionId": "nope"}', 400),
        ("GET", "/nope", b"", 404),
        ("GET", "/start", b"", 405),
    ]
    for method, path, body, status in cases:
        url = path if path.startswith("http") else base + path
        reply = await http.request(method, url, content=body)
        assert reply.status_code == status, (method, path, body, reply.text)
        assert isinstance(reply.json()["detail"], str) and reply.json()["detail"]
    unknown_session = {
        "sessionId": "nope",
        "actions": [{"type": "action", "id": "a", "data": action("llm", "run")}],
    }
    reply = await http.post(base + "/action", json=unknown_session)
    assert reply.status_code == 404


async def test_ready_config_and_messages(peer: RTVIPeer) -> None:
    # A 0.x client sends client-ready without a version: bot-ready then carries the config.
    ready = await peer.ready(version=None)
    assert ready["data"]["version"].startswith("1.2")
    assert ready["data"]["config"] == START["config"]

    described = await peer.request("describe-config")
    assert described["type"] == "config-available"
    services = {
        s["name"]: {o["name"]: o for o in s["options"]} for s in described["data"]["config"]
    }
    assert {"model", "messages"} <= set(services["llm"])
    voice = services["tts"]["voice"]
    assert voice["type"] == "string"
    assert {"en-us", "en-gb"} <= set(voice["values"])

    config = await peer.request("get-config")
    assert config["type"] == "config"
    assert config["data"]["config"][0] == {
        "service": "tts",
        "options": [{"name": "voice", "value": "en-gb"}],
    }

    update = {
        "config": [{"service": "tts", "options": [{"name": "voice", "value": "en-us"}]}],
        "interrupt": False,
    }
    updated = await peer.request("update-config", update)
    assert updated["type"] == "config"
    assert {"name": "voice", "value": "en-us"} in updated["data"]["config"][0]["options"]
    settings = await peer.request("client-message", {"t": "settings"})
    assert settings["data"]["d"]["voice"] == "en-us"  # the next utterance uses it

    bad = {"config": [{"service": "tts", "options": [{"name": "voice", "value": "klingon"}]}]}
    rejected = await peer.request("update-config", bad)
    assert rejected["type"] == "error-response"
    assert "klingon" in rejected["data"]["error"]

    actions = await peer.request("describe-actions")
    assert actions["type"] == "actions-available"
    assert {f"{a['service']}:{a['action']}" for a in actions["data"]["actions"]} == ACTIONS

    pong = await peer.request("client-message", {"t": "ping", "d": {"n": 1}})
    assert pong["type"] == "server-response"
    assert pong["data"]["t"] == "ping" and pong["data"]["d"]["pong"] is True
    assert pong["data"]["d"]["data"] == {"n": 1}
    echo = await peer.request("client-message", {"t": "echo", "d": [1, "two"]})
    assert echo["data"] == {"t": "echo", "d": [1, "two"]}
    unknown = await peer.request("client-message", {"t": "teleport"})
    assert unknown["type"] == "error-response"

    context = await peer.request("action", action("llm", "get_context"))
    assert context["data"]["result"]["messages"] == [{"role": "system", "content": "Be brief."}]
    missing = await peer.request("action", action("llm", "fly"))
    assert missing["type"] == "error-response"
    assert "llm:fly" in missing["data"]["error"]
    bad_args = await peer.request("action", action("llm", "set_context", messages="nope"))
    assert bad_args["type"] == "error-response"


async def test_action_reply_is_streamed_and_spoken(peer: RTVIPeer) -> None:
    await peer.ready()
    start = time.monotonic()
    reply = await peer.request(
        "action",
        action(
            "llm",
            "append_to_messages",
            messages=[user("say Hello from the test.")],
            run_immediately=True,
        ),
    )
    assert reply["type"] == "action-response" and reply["data"]["result"] is True
    stopped = await peer.wait_for("bot-stopped-speaking", after=start, timeout=20)
    types = peer.types(after=start)
    for kind in (
        "bot-llm-started",
        "bot-llm-stopped",
        "bot-transcription",
        "bot-tts-started",
        "bot-tts-stopped",
        "bot-tts-text",
        "bot-started-speaking",
    ):
        assert kind in types, (kind, types)
    assert (
        types.index("bot-llm-started")
        < types.index("bot-llm-text")
        < types.index("bot-llm-stopped")
    )
    assert types.index("bot-tts-started") < types.index("bot-started-speaking")
    tokens = [
        r.message["data"]["text"] for r in peer.log if r.at >= start and r.type == "bot-llm-text"
    ]
    assert len(tokens) >= 3
    assert "".join(tokens) == "Hello from the test."
    started = await peer.wait_for("bot-started-speaking", after=start)
    # Real speech reached the peer's audio track while the bot said it was speaking.
    assert peer.audio.sound_between(started.at, stopped.at + 0.5) >= 10

    context = await peer.request("action", action("llm", "get_context"))
    messages = context["data"]["result"]["messages"]
    assert messages[-2:] == [
        user("say Hello from the test."),
        {"role": "assistant", "content": "Hello from the test."},
    ]

    # tts:say speaks text as is; tts:interrupt cuts it off.
    said = time.monotonic()
    long_text = "This sentence is long enough to be cut off. " * 4
    reply = await peer.request("action", action("tts", "say", text=long_text))
    assert reply["data"]["result"] is True
    await peer.wait_for("bot-tts-started", after=said)
    speaking = await peer.wait_for("bot-started-speaking", after=said, timeout=15)
    interrupted = await peer.request("action", action("tts", "interrupt"))
    assert interrupted["data"]["result"] is True
    stopped = await peer.wait_for("bot-stopped-speaking", after=speaking.at, timeout=5)
    assert stopped.at - speaking.at < 5  # the whole text would take about 10 s
    await peer.receive_audio(100)  # 2 s more of the bot's (now silent) track
    assert peer.audio.sound_between(stopped.at + 1.0) == 0


async def test_send_text_is_answered_and_spoken(peer: RTVIPeer) -> None:
    await peer.ready()
    start = time.monotonic()
    peer.send(
        "send-text",
        {"content": "count", "options": {"run_immediately": True, "audio_response": True}},
    )
    await peer.wait_for("bot-llm-stopped", after=start)
    text = "".join(
        r.message["data"]["text"] for r in peer.log if r.at >= start and r.type == "bot-llm-text"
    )
    assert text == "One, two, three, four, five."
    started = await peer.wait_for("bot-started-speaking", after=start, timeout=15)
    await peer.wait_for(
        lambda m: m.get("type") == "bot-tts-text" and "five" in m["data"]["text"],
        after=start,
        timeout=15,
    )
    assert peer.audio.sound_between(started.at) >= 10


async def test_user_speech_gets_spoken_reply(peer: RTVIPeer) -> None:
    await peer.ready()
    start = time.monotonic()
    peer.mic.play(offset=1.5)
    user_started = await peer.wait_for("user-started-speaking", after=start, timeout=15)
    user_stopped = await peer.wait_for("user-stopped-speaking", after=user_started.at, timeout=20)
    llm_text = await peer.wait_for("bot-llm-text", after=user_stopped.at, timeout=10)
    assert llm_text.at >= user_stopped.at
    bot_started = await peer.wait_for("bot-started-speaking", after=user_stopped.at, timeout=15)
    said = "".join(
        r.message["data"]["text"]
        for r in peer.log
        if r.at >= user_stopped.at and r.type == "bot-llm-text"
    )
    assert said.startswith("I heard you speak for about")
    await peer.wait_for("bot-tts-text", after=bot_started.at, timeout=15)
    assert peer.audio.sound_between(bot_started.at) >= 10


def _events(chunks: list[tuple[float, bytes]]) -> list[tuple[float, dict[str, Any]]]:
    """(arrival time, decoded RTVI message) per SSE event; asserts the event format on the way."""
    events: list[tuple[float, dict[str, Any]]] = []
    buffer = b""
    for at, chunk in chunks:
        buffer += chunk
        while b"\n\n" in buffer:
            raw, buffer = buffer.split(b"\n\n", 1)
            lines = raw.split(b"\n")
            assert len(lines) == 1 and lines[0].startswith(b"data: "), raw
            events.append((at, json.loads(base64.b64decode(lines[0][6:]))))
    assert buffer == b""
    return events


async def test_disconnected_action_streams_sse(
    legacy_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    body = {
        "rtvi_client_version": "0.2.3",
        "actions": [
            {
                "label": "rtvi-ai",
                "type": "action",
                "id": "act-1",
                "data": action(
                    "llm", "append_to_messages", messages=[user("hello")], run_immediately=True
                ),
            },
            {"label": "rtvi-ai", "type": "action", "id": "act-2", "data": action("llm", "dance")},
        ],
    }
    chunks: list[tuple[float, bytes]] = []
    async with http.stream("POST", legacy_bot.base_url + "/action", json=body) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        async for chunk in reply.aiter_raw():
            chunks.append((time.monotonic(), chunk))
    ended = time.monotonic()
    events = _events(chunks)
    types = [m["type"] for _, m in events]
    assert types[0] == "bot-llm-started"
    tokens = [m["data"]["text"] for _, m in events if m["type"] == "bot-llm-text"]
    assert len(tokens) >= 5
    assert "".join(tokens) == "Hello! I am the pyrtvi test bot. I run fully offline."
    response = next(m for _, m in events if m["type"] == "action-response")
    assert response == {
        "label": "rtvi-ai",
        "type": "action-response",
        "id": "act-1",
        "data": {"result": True},
    }
    assert max(i for i, t in enumerate(types) if t == "bot-llm-text") < types.index(
        "action-response"
    )
    error = events[-1][1]
    assert error["type"] == "error-response" and error["id"] == "act-2"
    # Streamed as made, not buffered until the end.
    assert events[0][0] < ended - 0.1
    assert len({at for at, _ in events}) > 3


async def test_disconnected_actions_share_a_sessions_context(
    legacy_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    session_id = (await http.post(legacy_bot.base_url + "/start", json={})).json()["sessionId"]

    async def run(data: dict[str, Any]) -> dict[str, Any]:
        msg_id = new_id()
        body = {
            "sessionId": session_id,
            "actions": [{"label": "rtvi-ai", "type": "action", "id": msg_id, "data": data}],
        }
        reply = await http.post(legacy_bot.base_url + "/action", json=body)
        reply.raise_for_status()
        chunks = [(0.0, reply.content)]
        last = _events(chunks)[-1][1]
        assert last["id"] == msg_id
        return last

    context = [{"role": "system", "content": "Be nice."}]
    assert (await run(action("llm", "set_context", messages=context)))["data"]["result"] is True
    got = await run(action("llm", "get_context"))
    assert got["data"]["result"]["messages"] == context
    spoken = await run(action("tts", "say", text="hi"))
    assert spoken["type"] == "error-response"


async def test_renegotiation_trickle_ice_and_restart(
    legacy_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    offer_url = await start_session(http, legacy_bot.base_url)
    first = RTVIPeer()
    second = RTVIPeer()
    try:
        await first.connect(offer_url, http)
        await first.ready()
        old_pc = first.pc_id
        assert (await first.renegotiate(offer_url, http))["pc_id"] == old_pc

        host = "candidate:1 1 udp 2130706431 192.0.2.7 40000 typ host"
        candidates = [
            {"candidate": host, "sdp_mid": "0", "sdp_mline_index": 0},
            {"candidate": "", "sdp_mid": "0", "sdp_mline_index": 0},  # end of candidates
        ]
        reply = await http.patch(offer_url, json={"pc_id": old_pc, "candidates": candidates})
        assert reply.status_code == 200 and reply.json()["added"] == 2
        garbage = [{"candidate": "candidate:nonsense", "sdp_mid": "0"}]
        reply = await http.patch(offer_url, json={"pc_id": old_pc, "candidates": garbage})
        assert reply.status_code == 400

        # A recreated peer connection takes over the session's bot (restart_pc).
        answer = await second.connect(offer_url, http, pc_id=old_pc, restart_pc=True)
        assert answer["pc_id"] != old_pc
        await first.close()
        reply = await http.patch(offer_url, json={"pc_id": old_pc, "candidates": candidates})
        assert reply.status_code == 404
        pong = await second.request("client-message", {"t": "ping"})
        assert pong["type"] == "server-response"
        start = time.monotonic()
        second.send("send-text", {"content": "say Back again.", "options": {}})
        await second.wait_for("bot-started-speaking", after=start, timeout=15)
    finally:
        await first.close()
        await second.close()


async def test_run_on_config_makes_the_bot_speak_first(
    legacy_bot: BotProcess, http: httpx.AsyncClient
) -> None:
    body = {"config": [{"service": "llm", "options": [{"name": "run_on_config", "value": True}]}]}
    peer = await connected_peer(legacy_bot, http, body)
    try:
        start = time.monotonic()
        await peer.ready()
        await peer.wait_for("bot-llm-stopped", after=start)
        said = "".join(r.message["data"]["text"] for r in peer.log if r.type == "bot-llm-text")
        assert said == "Hello! How can I help you today?"
        await peer.wait_for("bot-started-speaking", after=start, timeout=15)
    finally:
        await peer.close()


async def test_goodbye_is_spoken_then_the_bot_ends_the_session(peer: RTVIPeer) -> None:
    await peer.ready()
    await peer.say_goodbye()


async def test_metrics_report_both_services(peer: RTVIPeer) -> None:
    """Metrics are on (as a Pipecat user turns them on): TTFB, processing, tokens, characters."""
    await peer.ready()
    check_typed_count_turn(await typed_turn_metrics(peer))
