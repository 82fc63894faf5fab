"""A pyrtvi page directly on a stock Pipecat runner bot (tests/runner_bot, pipecat 1.14), with no
pyrtvi server between them: `start_bot_and_connect(endpoint=<runner>/start)`.

The page is served by `pyrtvi serve --bot none` (another origin than the runner's, so the
runner's CORS answers are exercised); the runner runs with `--uploads-folder`, so its start
reply carries a `fileUploadUrl` and `send_file` uploads there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyrtvi_testing.harness import HarnessPool
from pyrtvi_testing.processes import LiveServer

from tests.runner_bot import PYTHON, RunnerBot

#: Chromium's Local Network Access asks before the harness page reaches the runner (a loopback
#: address, another origin); granted to the pool's context as a user grants the prompt.
HARNESS_GRANTS = ["local-network-access"]

pytestmark = [pytest.mark.browser, pytest.mark.bot]

PAGE_DATA = {"greeting": "Hello from the page", "user": {"id": 7}}


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runner-uploads")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, uploads: Path) -> Iterator[RunnerBot]:
    if not PYTHON.exists():
        pytest.skip(f"no runner bot environment ({PYTHON}): run `make setup-test`")
    bot = RunnerBot(args=["--uploads-folder", str(uploads)])
    bot.start(tmp_path_factory.mktemp("runner-direct"))
    try:
        yield bot
    finally:
        bot.stop()


def test_pyrtvi_page_starts_and_connects_on_the_runner(
    pool: HarnessPool, page_server: LiveServer, runner: RunnerBot, uploads: Path
) -> None:
    assert page_server.url != runner.url  # cross-origin: the runner's CORS headers are used
    harness = pool.get(page_server)
    start = runner.url + "/start"
    result: dict[str, Any] = harness.run(
        f"""
client = make_client(transport=SmallWebRTCTransport())
ready = await client.start_bot_and_connect(
    endpoint={start!r},
    request_data={{"transport": "webrtc", "body": {PAGE_DATA!r}}},
    timeout=30,
)
{{"ready": ready, "reply": client.start_reply, "state": str(client.state)}}
"""
    )
    reply = result["reply"]
    assert result["state"] == "ready"
    assert result["ready"]["version"] == "2.2.0" and result["ready"]["capabilities"]["audio_in"]
    session_id = reply["sessionId"]
    assert reply["fileUploadUrl"] == f"/sessions/{session_id}/files"
    # The offer went to the session's URL derived from the start endpoint.
    offers = [o for o in harness.offers if o["method"] == "POST"]
    assert offers and offers[0]["url"] == f"{runner.url}/sessions/{session_id}/api/offer"
    # The bot got the page's body as runner_args.body, and answers over the data channel.
    assert runner.wait_for_body(session_id) == PAGE_DATA
    assert harness.run("await client.send_client_request('body', None)") == PAGE_DATA
    assert [e["name"] for e in harness.events("botStarted")] == ["botStarted"]

    # A file: uploaded to the runner's session route, then sent by the URL it answered.
    sent = harness.run(
        "await client.send_file(b'pyrtvi upload', format='text/plain', name='note.txt', "
        "content='a note', run_immediately=False)"
    )
    assert sent["source"]["type"] == "url" and sent["source"]["url"]
    stored = [p.read_bytes() for p in uploads.rglob("*") if p.is_file()]
    assert b"pyrtvi upload" in stored
    # The bot took the send-file: a refusal is an error-response, which the bot (handling its
    # messages in order) would send before answering the next request.
    assert harness.run("await client.send_client_request('body', None)") == PAGE_DATA
    assert harness.events("messageError") == []
    harness.run("await client.disconnect()")


def test_connect_with_a_start_reply_from_start_bot(
    pool: HarnessPool, page_server: LiveServer, runner: RunnerBot
) -> None:
    """client-js's two steps: `start_bot` returns the reply, `connect(reply)` connects."""
    harness = pool.get(page_server)
    start = runner.url + "/start"
    version = harness.run(
        f"""
client = make_client(transport=SmallWebRTCTransport())
reply = await client.start_bot(endpoint={start!r}, request_data={{"body": {{"n": 1}}}})
state_after_start = str(client.state)
ready = await client.connect(reply)
[state_after_start, ready["version"]]
"""
    )
    assert version == ["disconnected", "2.2.0"]
    harness.run("await client.disconnect()")


def test_a_start_reply_with_ice_servers_gets_a_fresh_peer_connection(
    pool: HarnessPool, page_server: LiveServer, runner: RunnerBot
) -> None:
    """The peer connection prepared while `/start` is in flight has no ICE servers; a reply
    bringing some (here added by the page's HTTP adapter) is connected with those, never with
    the prepared one (rtvi.overlap)."""
    harness = pool.get(page_server)
    start = runner.url + "/start"
    result = harness.run(
        f"""
import json
from rtvi import BufferedHTTPResponse
from rtvi.http import default_adapter

STUN = {{"urls": "stun:127.0.0.1:9"}}
fetch = default_adapter()

class WithIceServers:
    async def request(self, method, url, **kwargs):
        response = await fetch.request(method, url, **kwargs)
        if not url.endswith("/start"):
            return response
        reply = {{**(await response.json()), "iceConfig": {{"iceServers": [STUN]}}}}
        return BufferedHTTPResponse(response.status, json.dumps(reply))

client = make_client(transport=SmallWebRTCTransport(), http=WithIceServers())
ready = await client.start_bot_and_connect(endpoint={start!r}, timeout=30)
config = client.transport.peer_connection.getConfiguration()
[ready["version"], [str(server.urls) for server in config.iceServers]]
"""
    )
    assert result == ["2.2.0", ["stun:127.0.0.1:9"]]
    harness.run("await client.disconnect()")


def test_a_failing_start_is_a_start_bot_error(
    pool: HarnessPool, page_server: LiveServer, runner: RunnerBot
) -> None:
    harness = pool.get(page_server)
    start = runner.url + "/start"
    outcome = harness.run(
        f"""
from rtvi import StartBotError
client = make_client(transport=SmallWebRTCTransport())
try:
    await client.start_bot_and_connect(endpoint={start!r}, request_data={{"transport": "daily"}})
    outcome = None
except StartBotError as error:
    outcome = [error.status, str(error), str(client.state)]
outcome
"""
    )
    assert outcome is not None and outcome[0] == 400
    assert "daily" in outcome[1].lower() and outcome[2] == "error"
