"""The virtual microphone as a browser transport's audio source, against the stock runner bot.

Chromium runs here WITHOUT its fake-file microphone (only ``--use-fake-ui-for-media-stream``):
the page's client sends a :class:`rtvi.transports.virtual_mic.VirtualMic` track
(``audio_source=``), which plays an espeak-ng sentence (``pyrtvi_testing.speech``) once, with
silence around it. The runner bot (Silero VAD) reports the user's speech start and stop, answers
with its tone, and an :class:`~rtvi.transports.virtual_mic.AudioWatch` on the bot's received
track gives ``voice_to_voice_ms``: first audible bot sample after the utterance minus the last
audible sample of the utterance, both on the page's audio clock.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pyrtvi_testing.harness import HarnessPool
from pyrtvi_testing.processes import LiveServer
from pyrtvi_testing.speech import speech_wav

from tests.runner_bot import RunnerBot, started

pytestmark = [pytest.mark.browser, pytest.mark.bot]

SENTENCE = "Hello bot, please answer me."
#: Generous: with no STT, the runner bot ends the user turn on its turn-stop timeout (~5 s).
V2V_BOUND_MS = 15000.0
#: The pool's browser: the kit's Chromium (`rtvi_browser`), launched without fake devices, so no
#: microphone exists but the one we make.
HARNESS_BROWSER = "rtvi_browser"
#: The page (fulfilled by Playwright) opens sockets to loopback: see test_websocket.py.
HARNESS_GRANTS = ["local-network-access"]
#: The pool guards its own context (no guard on the suite's default browser, not started here).
POOLS_ONLY = True


@pytest.fixture(scope="module", autouse=True)
def runner_bot_without_stt() -> Iterator[None]:
    """These tests measure the transports, not an STT: the module's runner bots run without one
    (`RUNNER_BOT_STT=none`), their turn ending on the fixed turn-stop timeout; PocketSphinx's
    decoding time varies with the machine's load by more than the ±60 ms allowed below."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNNER_BOT_STT", "none")
        yield


@pytest.fixture(scope="module")
def delayed_ws_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerBot]:
    """The runner bot on `-t websocket`, answering 500 ms late (`RUNNER_BOT_ANSWER_DELAY_MS`)."""
    yield from started(tmp_path_factory, "websocket", {"RUNNER_BOT_ANSWER_DELAY_MS": "500"})


def wav_literal(text: str) -> str:
    return repr(base64.b64encode(speech_wav(text, rate=16000)).decode())


def speak_and_measure(harness: Any, transport: str, params: str = "None") -> dict[str, Any]:
    """Connect a client whose mic is a VirtualMic, say SENTENCE, measure voice to voice."""
    result: dict[str, Any] = harness.run(
        f"""
import base64
from rtvi.transports.virtual_mic import VirtualMic, voice_to_voice_ms
from rtvi.transports.websocket import WebSocketTransport
mic = await VirtualMic.open()
client = make_client(transport={transport}, **({{"params": {params}}} if {params} else {{}}))
await client.connect()
watch = mic.watch(client.tracks().bot.audio)
await watch.start()
no_mic_opened = js.userMediaCalls.length == 0
utterance = await mic.play(base64.b64decode({wav_literal(SENTENCE)}))
heard = await watch.first_audible_after(utterance.last_audible, timeout=30)
local_track_is_the_mic = client.tracks().local.audio.id == mic.track.id
result = {{
    "utterance": utterance, "heard": heard, "no_mic_opened": no_mic_opened,
    "local_track_is_the_mic": local_track_is_the_mic,
    "v2v": voice_to_voice_ms(utterance, heard),
    "v2v_perf": voice_to_voice_ms(utterance, heard, same_clock=False),
}}
await client.disconnect()
result["mic_live"] = str(mic.track.readyState)
await watch.close()
await mic.close()
result
""",
        timeout_ms=90_000,
    )
    return result


def check(harness: Any, result: dict[str, Any]) -> None:
    assert result["no_mic_opened"], "the microphone was opened"
    assert result["local_track_is_the_mic"]
    assert result["mic_live"] == "live", "disconnect stopped the caller's track"
    utterance = result["utterance"]
    assert utterance["last_audible"] is not None and utterance["end"] > utterance["last_audible"]
    names = [e["name"] for e in harness.events()]
    assert "userStartedSpeaking" in names and "userStoppedSpeaking" in names, names
    assert "botStartedSpeaking" in names, names
    v2v = result["v2v"]
    assert 0 < v2v < V2V_BOUND_MS, result
    # The two clocks (audio and performance.now()) agree on it within a render callback or two.
    assert abs(result["v2v_perf"] - v2v) < 50, result


def test_virtual_mic_over_webrtc(pool: HarnessPool, proxied: LiveServer) -> None:
    harness = pool.get(proxied)
    result = speak_and_measure(harness, "SmallWebRTCTransport(audio_source=mic.track)")
    check(harness, result)
    print(f"webrtc voice_to_voice_ms={result['v2v']:.1f}")


def test_virtual_mic_over_websocket(
    pool: HarnessPool, page_server: LiveServer, runner_ws_bot: RunnerBot
) -> None:
    ws_url = httpx.post(runner_ws_bot.url + "/start", json={"transport": "websocket"}).json()
    harness = pool.get(page_server)
    transport = f"WebSocketTransport(ws_url={ws_url['wsUrl']!r}, audio_source=mic.track)"
    direct = '{"base_url": None, "endpoints": {"connect": None}}'
    result = speak_and_measure(harness, transport, direct)
    check(harness, result)
    print(f"websocket voice_to_voice_ms={result['v2v']:.1f}")


@pytest.mark.timing
@pytest.mark.parametrize("transport", ["webrtc", "websocket"])
def test_a_known_answer_delay_shows_in_voice_to_voice(
    request: pytest.FixtureRequest, pool: HarnessPool, transport: str
) -> None:
    """The runner bot answers D ms later (`answer_delay_ms` in its body): v2v grows by D.

    Each delay is measured twice and the smaller kept: a busy machine only ever adds to a
    turn's v2v (one CI run's delay-0 turn came 69 ms late)."""
    v2v: dict[int, float] = {}
    for delay in (0, 500, 0, 500):
        if transport == "webrtc":
            harness = pool.get(request.getfixturevalue("proxied"))
            data = {"answer_delay_ms": delay}
            params = f'{{"base_url": str(js.location.origin), "request_data": {data!r}}}'
            made = "SmallWebRTCTransport(audio_source=mic.track)"
        else:  # a WebSocket session has no body: the delay is the bot process's env
            bot: RunnerBot = request.getfixturevalue("delayed_ws_bot" if delay else "runner_ws_bot")
            start = {"transport": "websocket"}
            ws_url = httpx.post(bot.url + "/start", json=start).json()["wsUrl"]
            harness = pool.get(request.getfixturevalue("page_server"))
            params = '{"base_url": None, "endpoints": {"connect": None}}'
            made = f"WebSocketTransport(ws_url={ws_url!r}, audio_source=mic.track)"
        result = speak_and_measure(harness, made, params)
        check(harness, result)
        v2v[delay] = min(v2v.get(delay, result["v2v"]), result["v2v"])
    print(f"{transport} voice_to_voice_ms by answer delay (the smaller of two): {v2v}")
    assert abs(v2v[500] - v2v[0] - 500) <= 60, v2v
