"""RTVI 2.2 end to end in Chromium with pipecat 1.14 (the embedded bot), and what older bots do.

The page announces 2.2.0; the bot answers 2.2.0 with its capabilities, sends v2 `bot-output`
(spoken status and progress), `user-input`, `bot-interrupted` and raw VAD events, and receives
DTMF keys and a file (it reports each as a `server-message`, see server/pyrtvi_bot/modern.py).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pyrtvi_testing.harness import Harness, HarnessPool
from pyrtvi_testing.processes import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.bot]

T = 30_000


@pytest.fixture(scope="module")
def bot_114(server_factory: Any) -> LiveServer:
    return server_factory("--bot", "embedded", "--bot-pipecat", "1.14.0")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def bot_0108(server_factory: Any) -> LiveServer:
    return server_factory("--bot", "embedded", "--bot-pipecat", "0.0.108")  # type: ignore[no-any-return]


def connected(pool: HarnessPool, server: LiveServer, client_args: str = "") -> Harness:
    harness = pool.get(server)
    harness.run(
        f"""
client = make_client(transport=SmallWebRTCTransport(ice_trickle=True){client_args})
ready = await client.connect()
"""
    )
    return harness


def client_ready_sent(harness: Harness) -> dict[str, Any]:
    sent = [json.loads(m) for m in harness.dc_sent() if '"client-ready"' in m]
    assert len(sent) == 1
    return sent[0]  # type: ignore[no-any-return]


def test_2_2_end_to_end_with_pipecat_114(pool: HarnessPool, bot_114: LiveServer) -> None:
    harness = connected(pool, bot_114)
    assert client_ready_sent(harness)["data"]["version"] == "2.2.0"
    ready = harness.run("ready")
    assert ready["version"] == "2.2.0"
    caps = ready["capabilities"]
    assert caps["audio_in"] is True and caps["audio_out"] is True
    assert harness.run("client.bot_capabilities") == caps
    assert harness.run("client.bot_about")["library_version"] == "1.14.0"

    # The fake microphone's speech: raw VAD from the bot, then the turn.
    harness.wait_event("vadUserStartedSpeaking", timeout_ms=T)
    harness.wait_event("vadUserStoppedSpeaking", timeout_ms=T)
    harness.wait_event("botStartedSpeaking", timeout_ms=T)

    # Typed text: user-input (chat) for what was sent, and v2 bot-output for the answer.
    harness.run("client.send_text('say hello from the browser')")
    user_input = harness.wait_event("userInput", timeout_ms=T)["data"][0]
    assert user_input["input_type"] == "chat"
    assert user_input["text"] == "say hello from the browser"
    harness.wait_for(
        lambda: any(
            "hello from the browser" in e["data"][0]["text"].lower()
            and e["data"][0].get("spoken_status") in ("new", "in-progress", "completed")
            for e in harness.events("botOutput")
        ),
        timeout_s=20,
    )
    output = next(
        e["data"][0]
        for e in harness.events("botOutput")
        if "hello from the browser" in e["data"][0]["text"].lower()
    )
    # The v2 format: lifecycle and progress fields (a 1.x client gets none of them).
    assert "will_be_spoken" in output and "segment_id" in output
    assert output["output_type"] and output["aggregated_by"] == output["output_type"]
    if output.get("will_be_spoken"):
        assert set(output["spoken_progress"]) == {"accumulated_text", "remaining_text"}
    # send-text runs immediately: whatever the bot was saying is cut off.
    harness.wait_event("botInterrupted", timeout_ms=T)

    # DTMF and a file, as the bot reports receiving them.
    harness.run("client.send_dtmf('42#')")
    harness.wait_for(lambda: len(received(harness, "dtmf")) >= 3, timeout_s=15)
    assert [r["button"] for r in received(harness, "dtmf")] == ["4", "2", "#"]
    sent = harness.run(
        "await client.send_file(b'pyrtvi file body', format='text/plain', name='note.txt', "
        "content='read this', run_immediately=False)"
    )
    assert sent["source"]["type"] == "bytes"  # no fileUploadUrl from pyrtvi's /connect
    harness.wait_for(lambda: received(harness, "file"), timeout_s=15)
    (report,) = received(harness, "file")
    assert report["text"] == "read this" and report["format"] == "text/plain"
    encoded = base64.b64encode(b"pyrtvi file body").decode()
    assert report["file"] == f"data:text/plain;base64,{encoded}"
    assert [e for e in harness.events("messageError")] == []
    harness.run("await client.disconnect()")


def received(harness: Harness, kind: str) -> list[dict[str, Any]]:
    return [
        e["data"][0]
        for e in harness.events("serverMessage")
        if isinstance(e["data"][0], dict) and e["data"][0].get("received") == kind
    ]


def test_a_pinned_1_x_client_is_served_as_legacy(pool: HarnessPool, bot_114: LiveServer) -> None:
    harness = connected(pool, bot_114, ", protocol_version='1.0.0'")
    assert client_ready_sent(harness)["data"]["version"] == "1.0.0"
    assert harness.run("ready['version']") == "1.0.0"  # pipecat echoes a legacy client's
    refused = harness.run(
        """
from rtvi import UnsupportedFeatureError
try:
    client.send_dtmf('1')
    refused = None
except UnsupportedFeatureError as error:
    refused = str(error)
refused
"""
    )
    assert refused == "dtmf is not supported by the bot: it needs RTVI 2.0, the bot speaks 1.0.0"
    harness.run("await client.disconnect()")


def test_an_older_bot_refuses_2_x_sends_at_once(pool: HarnessPool, bot_0108: LiveServer) -> None:
    harness = connected(pool, bot_0108)
    assert client_ready_sent(harness)["data"]["version"] == "2.2.0"
    assert harness.run("ready['version']") == "1.2.0"
    outcome = harness.run(
        """
from rtvi import UnsupportedFeatureError
outcomes = []
for call in (lambda: client.send_dtmf('1'), lambda: client.send_ui_event('x')):
    try:
        call()
        outcomes.append('sent')
    except UnsupportedFeatureError as error:
        outcomes.append(str(error))
try:
    await client.send_file(b'x', format='text/plain')
    outcomes.append('sent')
except UnsupportedFeatureError as error:
    outcomes.append(str(error))
outcomes
"""
    )
    assert outcome == [
        "dtmf is not supported by the bot: it needs RTVI 2.0, the bot speaks 1.2.0",
        "ui-event is not supported by the bot: it needs RTVI 1.3, the bot speaks 1.2.0",
        "send-file is not supported by the bot: it needs RTVI 2.2, the bot speaks 1.2.0",
    ]
    # and the session is untouched: a request still round-trips
    assert harness.run("(await client.describe_actions()).type") == "actions-available"
    harness.run("await client.disconnect()")
