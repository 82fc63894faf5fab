"""The client core inside the page (Pyodide): memory transport end to end, fetch-based HTTP.

The page imports the same ``rtvi`` package the unit tests use. For HTTP, a small test-only
Starlette app plays the *bot service* behind ``pyrtvi serve --bot url`` (Chromium refuses a
page's fetch to another loopback port, so the page talks to its own origin's ``/connect`` and
``/action``, which the product server relays). The action reply is a real
``text/event-stream`` that pauses mid-stream, proving the page reads it incrementally through
``fetch`` + ``ReadableStream``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, Route, expect
from pyrtvi_testing.harness import Harness
from pyrtvi_testing.processes import LiveServer, free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route as StarletteRoute

pytestmark = pytest.mark.browser


def sse(obj: Any) -> str:
    return "data: " + base64.b64encode(json.dumps(obj).encode()).decode() + "\n\n"


@dataclass
class Endpoints:
    """The test endpoints and what they received."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)


def make_app(state: Endpoints) -> Starlette:
    """The bot service contract: ``/health``, ``/start``, ``/action``."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def start(request: Request) -> Response:
        body = await request.json()
        state.requests.append({"path": "/start", "body": body})
        room = body.get("request_data", {}).get("room")
        if room == "explode":
            return PlainTextResponse("upstream exploded", status_code=500)
        return JSONResponse({"sessionId": "browser-1"})

    async def action(request: Request) -> Response:
        body = await request.json()
        state.requests.append({"path": "/action", "body": body})
        if body.get("room") == "quota":
            return JSONResponse({"error": "action quota exceeded"}, status_code=429)
        action_id = body["actions"][0]["id"]

        async def stream() -> AsyncIterator[str]:
            yield sse({"label": "rtvi-ai", "type": "bot-llm-text", "data": {"text": "Hel"}})
            # hold the stream open until the test has seen the first event in the page
            await asyncio.to_thread(state.gate.wait, 30)
            yield sse({"label": "rtvi-ai", "type": "bot-llm-text", "data": {"text": "lo"}})
            yield sse(
                {
                    "label": "rtvi-ai",
                    "type": "action-response",
                    "id": action_id,
                    "data": {"result": {"said": "Hello"}},
                }
            )

        return StreamingResponse(stream(), media_type="text/event-stream")

    return Starlette(
        routes=[
            StarletteRoute("/health", health, methods=["GET"]),
            StarletteRoute("/start", start, methods=["POST"]),
            StarletteRoute("/action", action, methods=["POST"]),
        ]
    )


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    port = free_port()
    state = Endpoints(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(make_app(state), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test endpoint server did not start")
        time.sleep(0.05)
    yield state
    state.gate.set()
    server.should_exit = True
    thread.join(timeout=10)


MEMORY_SESSION = """
import asyncio
from rtvi import RTVIClient, RTVIEvent, TransportState
from rtvi.transports.memory import FakeBot, MemoryTransport

bot = FakeBot(config=[{"service": "tts", "options": [{"name": "voice", "value": "v1"}]}])
bot.add_action("llm", "run", lambda args: {"ran": args.get("interrupt")})
bot.on_client_message("add", lambda d: d["a"] + d["b"])
states = []
outputs = []
client = RTVIClient(
    MemoryTransport(bot),
    params={"base_url": None, "endpoints": {"connect": None}},
    callbacks={"on_transport_state_changed": lambda s: states.append(str(s))},
    timeout=5,
)
client.on(RTVIEvent.BOT_OUTPUT, outputs.append)
out = {"ready": await client.connect(), "bot_version": list(client.bot_version)}
out["about"] = (await bot.wait_for("client-ready"))["data"]["about"]
out["config"] = await client.get_config()
new = await client.set_service_option_in_config("tts", {"name": "voice", "value": "v2"})
out["updated"] = (await client.update_config(new)).data
out["action"] = (await client.action("llm", "run", [{"name": "interrupt", "value": True}])).data
out["sum"] = await client.send_client_request("add", {"a": 2, "b": 3})
client.send_text("hi")
await bot.wait_for("send-text")
for _ in range(100):
    if outputs:
        break
    await asyncio.sleep(0.01)
out["outputs"] = outputs
bot.reply_delay = 10
try:
    await client.get_config(timeout=0.1)
except Exception as exc:
    out["request_timeout"] = type(exc).__name__
bot.reply_delay = 0
await client.disconnect()
out["after_disconnect"] = str(client.state)
bot.answer_ready = False
client.timeout = 0.2
try:
    await client.connect()
except Exception as exc:
    out["connect_timeout"] = type(exc).__name__
out["after_timeout"] = str(client.state)
client.timeout = None
pending = asyncio.ensure_future(client.connect())
for _ in range(500):
    if str(client.state) == "ready":
        break
    await asyncio.sleep(0.01)
await client.disconnect()
try:
    await pending
except Exception as exc:
    out["interrupted"] = [type(exc).__name__, str(client.state)]
bot.answer_ready = True
out["reconnected"] = (await client.connect())["version"]
await client.disconnect()
out["states"] = states
out
"""


def test_memory_session_in_pyodide(page: Page, page_server: LiveServer) -> None:
    harness = Harness.open(page, page_server)
    # A test page opts out of the boot's kept copies (never visited again: a fresh context).
    expect(page.locator("html")).to_have_attribute("data-pyrtvi-kept", "off")
    out = harness.run(MEMORY_SESSION)
    assert out["ready"] == {"version": "1.0.0", "about": {"library": "pyrtvi-fakebot"}}
    assert out["bot_version"] == [1, 0, 0]
    assert out["about"]["platform"] == "Pyodide"
    assert out["about"]["library"] == "pyrtvi"
    assert out["config"] == [{"service": "tts", "options": [{"name": "voice", "value": "v1"}]}]
    assert out["updated"]["config"][0]["options"][0]["value"] == "v2"
    assert out["action"] == {"result": {"ran": True}}
    assert out["sum"] == 5
    assert out["outputs"][0]["text"] == "You said: hi"
    assert out["request_timeout"] == "RequestTimeoutError"
    assert out["after_disconnect"] == "disconnected"
    assert out["connect_timeout"] == "ConnectionTimeoutError"
    assert out["after_timeout"] == "error"
    assert out["interrupted"] == ["AbortError", "disconnected"]
    assert out["reconnected"] == "1.0.0"
    assert out["states"][:6] == [
        "initializing",
        "initialized",
        "authenticating",
        "connecting",
        "connected",
        "ready",
    ]
    assert out["states"][-1] == "disconnected"


def test_fetch_connect_and_streamed_disconnected_action(
    page: Page, server_factory: Any, endpoints: Endpoints
) -> None:
    server: LiveServer = server_factory("--bot", "url", "--bot-url", endpoints.url)
    harness = Harness.open(page, server)
    harness.run("""
import asyncio
from rtvi import RTVIClient, RTVIEvent
from rtvi.transports.memory import MemoryTransport

transport = MemoryTransport()
client = RTVIClient(
    transport,
    params={"base_url": str(js.location.origin), "request_data": {"room": "r1"},
            "headers": {"X-Test": "yes"}},
    timeout=10,
)
client.on(RTVIEvent.BOT_LLM_TEXT, lambda data: record("botLlmText", data))
pending = asyncio.ensure_future(
    client.action("tts", "say", [{"name": "text", "value": "Hello"}], timeout=20)
)
""")
    # The first event is dispatched while the bot service still holds the stream open.
    first = harness.wait_event("botLlmText", timeout_ms=15_000)
    assert first["data"] == {"text": "Hel"}
    assert harness.run("pending.done()") is False
    endpoints.gate.set()
    reply = harness.run("(await pending).to_dict()")
    assert reply["type"] == "action-response"
    assert reply["data"] == {"result": {"said": "Hello"}}
    assert [e["data"]["text"] for e in harness.events("botLlmText")] == ["Hel", "lo"]
    [action] = [r for r in endpoints.requests if r["path"] == "/action"]
    assert action["body"]["room"] == "r1"
    assert action["body"]["actions"][0]["data"] == {
        "service": "tts",
        "action": "say",
        "arguments": [{"name": "text", "value": "Hello"}],
    }
    assert action["body"]["actions"][0]["id"] == reply["id"]

    # connect() through fetch: the JSON reply becomes the transport's auth bundle
    out = harness.run("""
ready = await client.connect()
result = {"adapter": type(client.http).__name__, "bundle": transport.auth_bundle, "ready": ready}
await client.disconnect()
result
""")
    assert out["adapter"] == "FetchAdapter"
    assert out["bundle"]["session_id"] == "browser-1"
    assert out["bundle"]["offer_url"].endswith("/sessions/browser-1/offer")
    assert out["ready"]["version"] == "1.0.0"
    [start] = [r for r in endpoints.requests if r["path"] == "/start"]
    assert start["body"]["request_data"]["room"] == "r1"
    assert start["body"]["request_data"]["rtvi_client_version"]

    # failures are typed and carry the server's message, JSON or not
    def not_json(route: Route) -> None:
        route.fulfill(status=502, body="<html>Bad Gateway</html>", content_type="text/html")

    page.route(f"{server.url}/plain/connect", not_json)
    errors = harness.run("""
errors = {}
client.params.request_data["room"] = "explode"
try:
    await client.connect()
except Exception as exc:
    errors["connect"] = [type(exc).__name__, exc.status, str(exc), str(client.state)]
client.params.request_data["room"] = "quota"
try:
    await client.action("tts", "say")
except Exception as exc:
    errors["action"] = [type(exc).__name__, exc.status, str(exc)]
client.params.base_url = str(js.location.origin) + "/plain"
try:
    await client.connect()
except Exception as exc:
    errors["plain"] = [type(exc).__name__, exc.status, str(exc)]
client.params.base_url = "http://127.0.0.1:9"
try:
    await client.action("tts", "say")
except Exception as exc:
    errors["unreachable"] = type(exc).__name__
errors
""")
    assert errors["connect"][:2] == ["StartBotError", 502]
    assert errors["connect"][3] == "error"
    assert errors["action"][:2] == ["ActionEndpointError", 429]
    assert "action quota exceeded" in errors["action"][2]
    assert errors["plain"] == ["StartBotError", 502, "<html>Bad Gateway</html>"]
    assert errors["unreachable"] == "ActionEndpointError"
