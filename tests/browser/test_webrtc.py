"""The SmallWebRTC transport in Chromium against real Pipecat bots (0.0.108 and 1.14.0).

Each bot runs behind its own `pyrtvi serve --bot embedded --bot-pipecat X` (shared by the module);
the page is the transport test harness (pyrtvi_testing.harness). The fake microphone plays
tests/data/speech48k.wav (2 s silence, 5 s speech, 3 s silence, looped), which Silero VAD on the
bot turns into user speech; the bot then answers with espeak speech.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from typing import Any

import pytest
from pyrtvi_testing.harness import Harness, HarnessPool
from pyrtvi_testing.processes import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.bot]

STATES = ["initializing", "initialized", "authenticating", "connecting", "connected", "ready"]


@dataclass(frozen=True)
class Bot:
    server: LiveServer
    pipecat: str
    #: Trickle ICE (PATCH) with the newest bot, full gathering with the older one: both paths.
    trickle: bool

    @property
    def legacy(self) -> bool:
        """RTVI 0.3 config/actions are available (pipecat < 1.0)."""
        return self.pipecat.startswith("0.")


@pytest.fixture(scope="module")
def bot_0108(server_factory: Any) -> Bot:
    server = server_factory("--bot", "embedded", "--bot-pipecat", "0.0.108")
    return Bot(server, "0.0.108", trickle=False)


@pytest.fixture(scope="module")
def bot_114(server_factory: Any) -> Bot:
    server = server_factory("--bot", "embedded", "--bot-pipecat", "1.14.0")
    return Bot(server, "1.14.0", trickle=True)


@pytest.fixture(scope="module", params=["0.0.108", "1.14.0"])
def bot(request: pytest.FixtureRequest) -> Bot:
    name = "bot_0108" if request.param == "0.0.108" else "bot_114"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def open_connected(pool: HarnessPool, bot: Bot, client_args: str = "", **transport: Any) -> Harness:
    """The harness page with `client` connected (bot-ready received)."""
    harness = pool.get(bot.server)
    options = {"ice_trickle": bot.trickle, **transport}
    args = ", ".join(f"{k}={v!r}" for k, v in options.items())
    harness.run(
        f"""
import asyncio, time
client = make_client(transport=SmallWebRTCTransport({args}){client_args})
started = time.monotonic()
ready = await client.connect()
connect_seconds = time.monotonic() - started
"""
    )
    return harness


def assert_bot_answers(harness: Harness, bot: Bot) -> None:
    """A request/reply round trip over the data channel."""
    if bot.legacy:
        assert harness.run("(await client.describe_actions()).type") == "actions-available"
    else:
        assert harness.run("await client.send_client_request('echo', [1, 'x'])") == [1, "x"]


def state_changes(harness: Harness) -> list[str]:
    return [e["data"][0] for e in harness.events("transportStateChanged")]


def test_connect_reaches_bot_ready_with_the_smallwebrtc_handshake(
    pool: HarnessPool, bot: Bot
) -> None:
    harness = open_connected(pool, bot)
    ready = harness.run("ready")
    assert ready["about"]["library_version"] == bot.pipecat
    assert harness.run("client.state") == "ready"
    assert state_changes(harness) == STATES
    names = [e["name"] for e in harness.events()]
    assert names.index("connected") < names.index("botConnected") < names.index("botReady")
    # One offer: transceivers audio then video, the "chat" channel, no pc_id yet.
    offers = [o for o in harness.offers if o["method"] == "POST"]
    assert len(offers) >= 1
    first = offers[0]["body"]
    assert first["type"] == "offer" and first["pc_id"] is None and first["restart_pc"] is False
    sdp: str = first["sdp"]
    assert sdp.index("m=audio") < sdp.index("m=video") < sdp.index("m=application")
    patches = [o for o in harness.offers if o["method"] == "PATCH"]
    if bot.trickle:
        assert "a=candidate" not in sdp
        harness.wait_for(lambda: any(o["method"] == "PATCH" for o in harness.offers))
        patches = [o for o in harness.offers if o["method"] == "PATCH"]
        assert patches and patches[0]["body"]["pc_id"] == harness.run("client.transport.pc_id")
        assert patches[0]["body"]["candidates"][0]["candidate"].startswith("candidate:")
    else:
        assert "a=candidate" in sdp
        assert not patches
    pc = harness.page.evaluate(
        """() => {
            const pc = window.peerConnections.at(-1);
            return {
                kinds: pc.getTransceivers().map((t) => t.receiver.track.kind),
                directions: pc.getTransceivers().map((t) => t.direction),
                state: pc.connectionState,
            };
        }"""
    )
    assert pc == {
        "kinds": ["audio", "video"],
        "directions": ["sendrecv", "sendrecv"],
        "state": "connected",
    }
    assert harness.run(
        "[client.transport.data_channel.label, client.transport.data_channel.ordered]"
    ) == ["chat", True]
    # On open: trackStatus for mic (enabled) and cam (disabled), then client-ready, then pings.
    harness.page.wait_for_function(
        "window.dcSent.filter((m) => m.data.startsWith('ping: ')).length >= 2"
    )
    sent = harness.dc_sent()
    assert sent[0] == (
        '{"type": "signalling", "message": {"type": "trackStatus", "receiver_index": 0, '
        '"enabled": true}}'
    )
    assert sent[1] == (
        '{"type": "signalling", "message": {"type": "trackStatus", "receiver_index": 1, '
        '"enabled": false}}'
    )
    assert '"type":"client-ready"' in sent[2]
    pings = [m for m in harness.page.evaluate("window.dcSent") if m["data"].startswith("ping: ")]
    now_ms = harness.page.evaluate("Date.now()")
    assert abs(int(pings[0]["data"].removeprefix("ping: ")) - now_ms) < 10_000
    assert 700 < pings[1]["t"] - pings[0]["t"] < 1500
    # SCTP's limit, as the answer announced it (aiortc: 65536).
    assert harness.run("client.transport.max_message_size") == harness.page.evaluate(
        "window.peerConnections.at(-1).sctp.maxMessageSize"
    )
    harness.run("await client.disconnect()")
    assert state_changes(harness)[-2:] == ["disconnecting", "disconnected"]
    assert harness.run("live_proxies()") == 0


def test_speech_makes_both_sides_speak_and_audio_flows(pool: HarnessPool, bot: Bot) -> None:
    harness = open_connected(pool, bot)
    started = harness.wait_event("userStartedSpeaking", timeout_ms=20_000)
    stopped = harness.wait_event("userStoppedSpeaking", timeout_ms=20_000)
    assert stopped["t"] - started["t"] > 2000  # the wav holds ~5 s of speech
    bot_started = harness.wait_event("botStartedSpeaking", timeout_ms=20_000)
    # Measured from the page's <audio> element while the bot talks, independently of the
    # transport's own meter.
    energy = harness.page.evaluate(
        "window.measureElement(document.querySelector('audio[data-pyrtvi=\"bot-audio\"]'), 1500)"
    )
    assert energy > 0.02, f"bot audio is silent in the page (max RMS {energy})"
    bot_stopped = harness.wait_event("botStoppedSpeaking", timeout_ms=30_000)
    levels = harness.run("LEVELS")
    during = [lv for t, lv in levels["bot"] if bot_started["t"] <= t <= bot_stopped["t"]]
    assert during and max(during) > 0.02
    speaking = [lv for t, lv in levels["local"] if started["t"] <= t <= stopped["t"]]
    assert speaking and max(speaking) > 0.05
    # About 10 Hz.
    assert 5 < len(levels["local"]) / ((levels["local"][-1][0] - levels["local"][0][0]) / 1000) < 15
    harness.run("await client.disconnect()")


def test_config_and_actions_over_the_data_channel(pool: HarnessPool, bot_0108: Bot) -> None:
    config = [{"service": "tts", "options": [{"name": "speed", "value": 180}]}]
    base_url = bot_0108.server.url
    harness = open_connected(
        pool, bot_0108, f", params={{'base_url': {base_url!r}, 'config': {config!r}}}"
    )
    result = harness.run(
        """
described = await client.describe_config()
config = await client.get_config()
speed_before = await client.get_service_option_value_from_config("tts", "speed", config)
updated = await client.update_config(
    [{"service": "tts", "options": [{"name": "speed", "value": 220}]}]
)
config_after = await client.get_config()
actions = await client.describe_actions()
response = await client.action("llm", "get_context")
[
    described.type,
    sorted(s["name"] for s in described.data["config"]),
    speed_before,
    updated.type,
    await client.get_service_option_value_from_config("tts", "speed", config_after),
    sorted(f"{a['service']}:{a['action']}" for a in actions.data["actions"]),
    response.type,
    "messages" in response.data["result"],
]
"""
    )
    assert result[0] == "config-available"
    assert result[1] == ["llm", "tts"]
    assert result[2] == 180
    assert result[3] == "config"
    assert result[4] == 220
    assert "llm:get_context" in result[5] and "tts:say" in result[5]
    assert result[6:] == ["action-response", True]
    assert [e["name"] for e in harness.events("error")] == []
    harness.run("await client.disconnect()")


def test_client_request_and_send_text(pool: HarnessPool, bot_114: Bot) -> None:
    harness = open_connected(pool, bot_114)
    reply = harness.run("await client.send_client_request('echo', {'n': 42, 'text': 'héllo'})")
    assert reply == {"n": 42, "text": "héllo"}
    harness.run("client.send_text('say hello from the browser')")
    # The typed text reaches the bot's context and the bot answers (text, then speech).
    output = harness.wait_event("botOutput", timeout_ms=20_000)
    assert "hello from the browser" in output["data"][0]["text"].lower()
    harness.wait_event("botStartedSpeaking", timeout_ms=20_000)
    harness.run("await client.disconnect()")


def test_disconnect_then_connect_again_with_the_same_client(pool: HarnessPool, bot: Bot) -> None:
    harness = open_connected(pool, bot)
    first_pc = harness.run("client.transport.pc_id")
    harness.run("await client.disconnect()")
    assert harness.run("[client.state, live_proxies()]") == ["disconnected", 0]
    assert harness.page.evaluate("document.querySelectorAll('audio[data-pyrtvi]').length") == 0
    assert harness.page.evaluate(
        "window.peerConnections.every((pc) => pc.connectionState === 'closed')"
    )
    harness.run("await client.connect()")
    assert harness.run("client.state") == "ready"
    assert harness.run("client.transport.pc_id") != first_pc
    assert len(harness.events("botReady")) == 2
    assert state_changes(harness) == [*STATES, "disconnecting", "disconnected", *STATES]
    first_offers = [o["body"]["pc_id"] for o in harness.offers if o["method"] == "POST"]
    assert first_offers[-1] is None  # a new session starts with a new peer connection
    # The mic was released and opened again; the new connection sends it.
    assert (
        harness.page.evaluate(
            """window.peerConnections.at(-1).getTransceivers()[0].sender.track.readyState"""
        )
        == "live"
    )
    assert_bot_answers(harness, bot)
    harness.run("await client.disconnect()")


def test_renegotiation_and_recreated_connection_keep_the_session(
    pool: HarnessPool, bot: Bot
) -> None:
    harness = open_connected(pool, bot)
    pc_id = harness.run("client.transport.pc_id")
    posts_before = posts(harness)
    # The bot asks to renegotiate (as pipecat does): a new offer on the same connection.
    harness.run(
        """
from pyodide.ffi import to_js
signal = '{"type": "signalling", "message": {"type": "renegotiate"}}'
client.transport.data_channel.dispatchEvent(
    js.MessageEvent.new("message", to_js({"data": signal}, dict_converter=js.Object.fromEntries))
)
"""
    )
    harness.page.wait_for_function(
        "window.peerConnections.at(-1).signalingState === 'stable'", timeout=10_000
    )
    harness.wait_for(lambda: posts(harness) == posts_before + 1)
    renegotiation = [o for o in harness.offers if o["method"] == "POST"][-1]["body"]
    assert renegotiation["pc_id"] == pc_id and renegotiation["restart_pc"] is False
    assert harness.page.evaluate("window.peerConnections.length") == 1
    # A network failure: the transport recreates the connection with restart_pc.
    harness.run("client.transport._recovery.schedule(client.transport._session)")
    harness.wait_for(lambda: posts(harness) == posts_before + 2)
    restart = [o for o in harness.offers if o["method"] == "POST"][-1]["body"]
    assert restart["pc_id"] == pc_id and restart["restart_pc"] is True
    harness.page.wait_for_function(
        "window.peerConnections.length === 2 && "
        "window.peerConnections[0].connectionState === 'closed' && "
        "window.peerConnections[1].connectionState === 'connected'",
        timeout=15_000,
    )
    harness.page.wait_for_function(
        "window.dcSent.filter((m) => m.data.includes('trackStatus')).length >= 4"
    )
    # The same client session still talks to the bot over the new data channel.
    assert_bot_answers(harness, bot)
    assert harness.run("client.state") == "ready"
    assert harness.events("disconnected") == []
    harness.run("await client.disconnect()")
    assert harness.run("live_proxies()") == 0


def posts(harness: Harness) -> int:
    return len([o for o in harness.offers if o["method"] == "POST"])


def test_bot_leaving_disconnects_the_client(pool: HarnessPool, bot: Bot) -> None:
    harness = open_connected(pool, bot)
    harness.run("await client.disconnect_bot()")
    harness.wait_event("disconnected", timeout_ms=15_000)
    names = [e["name"] for e in harness.events()]
    assert names.count("botDisconnected") == 1
    assert names.index("botDisconnected") < names.index("disconnected")
    assert harness.run("[client.state, live_proxies()]") == ["disconnected", 0]
    assert [e["name"] for e in harness.events("error")] == []


@pytest.mark.parametrize("closing", ["data channel", "peer connection"])
def test_channel_or_connection_closing_ends_the_session(
    pool: HarnessPool, bot_114: Bot, closing: str
) -> None:
    harness = open_connected(pool, bot_114)
    target = "data_channel" if closing == "data channel" else "peer_connection"
    harness.run(f"client.transport.{target}.close()")
    harness.wait_event("disconnected", timeout_ms=10_000)
    names = [e["name"] for e in harness.events()]
    assert names.count("botDisconnected") == 1
    assert names.index("botDisconnected") < names.index("disconnected")
    assert state_changes(harness)[-2:] == ["disconnecting", "disconnected"]
    assert harness.run("[client.state, live_proxies()]") == ["disconnected", 0]


def test_other_messages_are_ignored_and_oversized_ones_refused(pool: HarnessPool, bot: Bot) -> None:
    harness = open_connected(pool, bot)
    result = harness.run(
        """
from pyodide.ffi import to_js
from rtvi import MessageTooLargeError
dc = client.transport.data_channel
for data in ["garbage", '{"foo": 1}', "[1, 2]", '{"label": "other", "type": "x"}', "ping: 1"]:
    dc.dispatchEvent(
        js.MessageEvent.new("message", to_js({"data": data}, dict_converter=js.Object.fromEntries))
    )
dc.dispatchEvent(js.MessageEvent.new(
    "message", to_js({"data": js.ArrayBuffer.new(4)}, dict_converter=js.Object.fromEntries)
))
limit = client.transport.max_message_size
try:
    client.send_client_message("echo", "x" * limit)
    refused = None
except MessageTooLargeError as exc:
    refused = [exc.size > limit, exc.max_size == limit]
try:
    client.transport.send_text("y" * (limit + 1))
    refused_raw = False
except MessageTooLargeError:
    refused_raw = True
await asyncio.sleep(0.3)
[refused, refused_raw, dc.readyState]
"""
    )
    assert result == [[True, True], True, "open"]
    # Nothing reached the client as an error, and the channel still works.
    for name in ("error", "messageError", "genericMessage", "disconnected"):
        assert harness.events(name) == [], name
    assert any("ignoring a non-JSON data channel message" in line for line in harness.console)
    assert any("ignoring a non-RTVI data channel message" in line for line in harness.console)
    assert_bot_answers(harness, bot)
    harness.run("await client.disconnect()")


def test_twenty_cycles_release_every_js_proxy(pool: HarnessPool, bot: Bot) -> None:
    harness = pool.get(bot.server)
    peak = harness.cycle_and_count_proxies(
        f"client = make_client(transport=SmallWebRTCTransport(ice_trickle={bot.trickle}))"
    )
    assert peak >= 8  # pc and channel listeners, device watcher: the count is real
    assert harness.page.evaluate(
        "window.peerConnections.length === 20 && "
        "window.peerConnections.every((pc) => pc.connectionState === 'closed')"
    )


def track_statuses(harness: Harness) -> list[tuple[int, bool]]:
    out = []
    for raw in harness.dc_sent():
        if '"trackStatus"' in raw:
            message = json.loads(raw)["message"]
            out.append((message["receiver_index"], message["enabled"]))
    return out


def sender_track(harness: Harness, index: int) -> dict[str, Any] | None:
    return harness.page.evaluate(  # type: ignore[no-any-return]
        """(index) => {
            const track = window.peerConnections.at(-1).getTransceivers()[index].sender.track;
            return track && {
                id: track.id, enabled: track.enabled, state: track.readyState,
                device: track.getSettings().deviceId,
            };
        }""",
        index,
    )


SCREEN_BYTES_SENT = """async () => {
    const sender = window.peerConnections.at(-1).getTransceivers()[2].sender;
    let bytes = 0;
    (await sender.getStats()).forEach((r) => { if (r.type === "outbound-rtp") bytes += r.bytesSent; });
    return bytes;
}"""


def test_screen_share_is_sent_on_the_third_transceiver(pool: HarnessPool, bot: Bot) -> None:
    harness = open_connected(pool, bot, screen_share=True)
    offer = harness.offers[0]["body"]["sdp"]
    assert offer.count("m=video") == 2  # camera, then the send-only screen
    assert offer.index("m=audio") < offer.index("m=video") < offer.index("m=application")
    assert track_statuses(harness)[:3] == [(0, True), (1, False), (2, False)]
    assert harness.run("client.is_sharing_screen") is False

    harness.run("client.enable_screen_share(True)")
    harness.wait_event("screenTrackStarted")
    sharing = "[client.is_sharing_screen, client.tracks().local.screen_video is not None]"
    assert harness.run(sharing) == [True, True]
    assert track_statuses(harness)[-1] == (2, True)
    assert sender_track(harness, 2)["state"] == "live"  # type: ignore[index]
    # Screen frames really go to the bot (it accepted the third m-line).
    harness.wait_for(lambda: harness.page.evaluate(SCREEN_BYTES_SENT) > 20_000, timeout_s=15)
    assert harness.run("client.transport.session_id is not None")  # still the same session
    assert harness.run("client.state") == "ready"

    harness.run("client.enable_screen_share(False)")
    harness.wait_event("screenTrackStopped")
    assert harness.run("client.is_sharing_screen") is False
    assert track_statuses(harness)[-1] == (2, False)
    assert sender_track(harness, 2) is None

    # Sharing again, then the browser's own "Stop sharing" (the track ends) stops it too.
    harness.run("client.enable_screen_share(True)")
    harness.wait_event("screenTrackStarted", count=2)
    harness.page.evaluate(
        "window.peerConnections.at(-1).getTransceivers()[2].sender.track"
        ".dispatchEvent(new Event('ended'))"
    )
    harness.wait_event("screenTrackStopped", count=2)
    assert harness.run("client.is_sharing_screen") is False
    harness.run("await client.disconnect()")
    assert harness.run("live_proxies()") == 0
    assert [e["name"] for e in harness.events("screenShareError")] == []


def test_screen_share_needs_the_option(pool: HarnessPool, bot_114: Bot) -> None:
    harness = open_connected(pool, bot_114)
    assert harness.offers[0]["body"]["sdp"].count("m=video") == 1
    result = harness.run(
        """
from rtvi import UnsupportedFeatureError
try:
    client.enable_screen_share(True)
    outcome = "no error"
except UnsupportedFeatureError as error:
    outcome = str(error)
outcome
"""
    )
    assert result == (
        "screen share is not supported by SmallWebRTCTransport: create it with screen_share=True"
    )
    harness.run("await client.disconnect()")


def test_mic_and_camera_are_opened_only_when_enabled(pool: HarnessPool, bot_114: Bot) -> None:
    harness = open_connected(pool, bot_114, ", enable_mic=False")
    # A disabled mic is never opened (pipecat #2755, RN transports #24); the bot is told.
    assert harness.page.evaluate("window.userMediaCalls") == []
    assert harness.run(
        "[client.transport.tracks().local.audio, client.transport.is_mic_enabled]"
    ) == [
        None,
        False,
    ]
    assert track_statuses(harness)[:2] == [(0, False), (1, False)]
    assert sender_track(harness, 0) is None
    harness.run("client.enable_mic(True)")
    harness.page.wait_for_function(
        "window.peerConnections.at(-1).getTransceivers()[0].sender.track !== null"
    )
    assert sender_track(harness, 0)["enabled"] is True  # type: ignore[index]
    assert track_statuses(harness)[-1] == (0, True)
    harness.wait_for(lambda: harness.run("max([l for _, l in LEVELS['local']] or [0])") > 0.05)
    # Muting: the same track, disabled, and silent in the level meter.
    harness.run("client.enable_mic(False)")
    assert sender_track(harness, 0)["enabled"] is False  # type: ignore[index]
    assert track_statuses(harness)[-1] == (0, False)
    harness.run("await asyncio.sleep(0.5); LEVELS['local'].clear(); await asyncio.sleep(0.5)")
    assert max(lv for _, lv in harness.run("LEVELS['local']")) < 0.001
    # The camera, enabled mid-session: opened, sent on the video transceiver, announced.
    harness.run("client.enable_cam(True)")
    harness.page.wait_for_function(
        "window.peerConnections.at(-1).getTransceivers()[1].sender.track !== null"
    )
    assert track_statuses(harness)[-1] == (1, True)
    tracks = harness.run(
        "t = client.transport.tracks(); [t.local.audio is not None, t.local.video is not None, "
        "t.bot.audio is not None]"
    )
    assert tracks == [True, True, True]
    kinds = [json.loads(c) for c in harness.page.evaluate("window.userMediaCalls")]
    assert kinds == [{"audio": True}, {"video": True}]
    harness.run("await client.disconnect()")
    assert harness.page.evaluate(
        "window.peerConnections.at(-1).getTransceivers().every((t) => !t.sender.track || "
        "t.sender.track.readyState === 'ended')"
    )


def test_devices_can_be_listed_switched_and_watched(pool: HarnessPool, bot_114: Bot) -> None:
    harness = open_connected(pool, bot_114)
    devices = harness.run(
        """
mics = await client.get_all_mics()
cams = await client.get_all_cams()
speakers = await client.get_all_speakers()
[[d.kind for d in mics], [d.kind for d in cams], [d.device_id for d in speakers],
 [d.device_id for d in mics]]
"""
    )
    mic_kinds, cam_kinds, speaker_ids, mic_ids = devices
    assert len(mic_kinds) >= 2 and set(mic_kinds) == {"audioinput"}
    assert cam_kinds and set(cam_kinds) == {"videoinput"}
    assert speaker_ids
    before = sender_track(harness, 0)
    other = next(i for i in mic_ids if i not in ("default", before["device"]))  # type: ignore[index]
    harness.run(f"await client.update_mic({other!r})")
    after = sender_track(harness, 0)
    assert after is not None and after["device"] == other and after["id"] != before["id"]  # type: ignore[index]
    assert harness.run("client.transport.selected_mic.device_id") == other
    assert harness.wait_event("micUpdated")["data"][0]["device_id"] == other
    speaker = speaker_ids[-1]
    harness.run(f"await client.update_speaker({speaker!r})")
    assert harness.run("client.transport.audio_element.sinkId") == speaker
    assert harness.wait_event("speakerUpdated")["data"][0]["device_id"] == speaker
    # A device appearing or leaving: the lists are sent again.
    lists_before = len(harness.events("availableMicsUpdated"))
    harness.page.evaluate("navigator.mediaDevices.dispatchEvent(new Event('devicechange'))")
    harness.wait_event("availableMicsUpdated", count=lists_before + 1)
    harness.wait_event("availableSpeakersUpdated", count=lists_before + 1)
    harness.run("await client.disconnect()")
    assert harness.run("live_proxies()") == 0


def test_bot_audio_plays_in_a_given_element(pool: HarnessPool, bot_114: Bot) -> None:
    harness = open_connected(pool, bot_114, audio_element="#bot-audio")
    assert harness.page.evaluate("document.querySelectorAll('audio').length") == 1
    assert (
        harness.page.evaluate(
            "document.querySelector('#bot-audio').srcObject.getAudioTracks()[0].readyState"
        )
        == "live"
    )
    harness.run("await client.disconnect()")
    assert harness.page.evaluate("document.querySelector('#bot-audio').srcObject") is None


def test_reconnect_gives_up_after_three_failed_attempts(pool: HarnessPool, bot_114: Bot) -> None:
    harness = open_connected(pool, bot_114)
    harness.page.route("**/offer", lambda route: route.abort("connectionrefused"))
    try:
        harness.run("client.transport._recovery.schedule(client.transport._session)")
        harness.wait_event("disconnected", timeout_ms=15_000)
    finally:
        harness.page.unroute("**/offer")
    error = harness.events("error")[-1]["data"][0]["data"]
    assert error == {
        "message": "connection lost; gave up after 3 reconnect attempts",
        "error": "connection lost; gave up after 3 reconnect attempts",
        "fatal": True,
    }
    attempts = [e for e in harness.console if "reconnecting, attempt" in e]
    assert len(attempts) == 3
    assert harness.run("[client.state, live_proxies()]") == ["disconnected", 0]


# Keep last: it kills the module's bot (the server restarts it on the next request).
def test_bot_killed_mid_session_ends_in_disconnected_within_15_s(
    pool: HarnessPool, bot: Bot
) -> None:
    harness = open_connected(pool, bot)
    harness.wait_event("botReady")
    os.kill(bot.server.bot_pid(), signal.SIGKILL)
    killed = harness.page.evaluate("performance.now()")
    disconnected = harness.wait_event("disconnected", timeout_ms=30_000)
    took = disconnected["t"] - killed
    assert took < 15_000, f"disconnected {took / 1000:.1f} s after the bot died"
    error = harness.events("error")[-1]["data"][0]["data"]
    assert error["fatal"] is True
    # The server knows the session's bot died: its 410 ends the attempts at the first one.
    assert error["message"] == "connection lost; the bot refused to reconnect (HTTP 410)"
    names = [e["name"] for e in harness.events()]
    assert names.count("botDisconnected") == 1
    assert names.index("botDisconnected") < names.index("disconnected")
    restarts = [o for o in harness.offers if o["method"] == "POST" and o["body"]["restart_pc"]]
    assert len(restarts) == 1
    assert harness.run("[client.state, live_proxies()]") == ["disconnected", 0]
