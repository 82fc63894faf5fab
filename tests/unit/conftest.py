"""Unit-test fixtures: a fake bot + in-memory transport, a scriptable fake HTTP adapter."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rtvi import RTVIClient, RTVIEvent, TransportState
from rtvi.abort import AbortSignal
from rtvi.http.base import BufferedHTTPResponse, HTTPResponse
from rtvi.transports.memory import FakeBot, MemoryTransport

WAIT = 5.0  # generous bound for "this should happen"; never an assertion by itself

CONFIG: list[dict[str, Any]] = [
    {"service": "tts", "options": [{"name": "voice", "value": "79a125e8"}]},
    {
        "service": "llm",
        "options": [
            {"name": "model", "value": "llama-3.1-8b"},
            {"name": "messages", "value": [{"role": "system", "content": "You are ExampleBot."}]},
        ],
    },
]


@dataclass
class Recorded:
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    timeout: float | None
    abort: AbortSignal | None


Responder = Callable[[Recorded], Any]


class FakeHTTP:
    """An HTTPAdapter whose replies come from ``responder(request)``.

    The responder may return an HTTPResponse, raise, or be async (e.g. to hang).
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self.requests: list[Recorded] = []
        self.responder: Responder = responder or (lambda req: json_response({"ok": True}))
        self.started = asyncio.Event()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Any = None,
        body: str | bytes | None = None,
        timeout: float | None = None,
        abort: AbortSignal | None = None,
    ) -> HTTPResponse:
        decoded: Any = body
        if isinstance(body, str) and body:
            decoded = json.loads(body)
        rec = Recorded(method, url, dict(headers or {}), decoded or None, timeout, abort)
        self.requests.append(rec)
        self.started.set()
        result = self.responder(rec)
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, HTTPResponse)
        return result


def json_response(obj: Any, status: int = 200) -> BufferedHTTPResponse:
    return BufferedHTTPResponse(status, json.dumps(obj), {"Content-Type": "application/json"})


@pytest.fixture
def bot() -> FakeBot:
    return FakeBot(config=CONFIG)


@pytest.fixture
def transport(bot: FakeBot) -> MemoryTransport:
    return MemoryTransport(bot)


@pytest.fixture
def http() -> FakeHTTP:
    return FakeHTTP()


DIRECT = {"base_url": None, "endpoints": {"connect": None}}


@pytest.fixture
def make_client(transport: MemoryTransport, http: FakeHTTP) -> Callable[..., RTVIClient]:
    """A client on the memory transport; defaults to direct connect (no auth POST)."""

    def make(**kwargs: Any) -> RTVIClient:
        kwargs.setdefault("params", dict(DIRECT))
        kwargs.setdefault("http", http)
        kwargs.setdefault("timeout", WAIT)
        return RTVIClient(transport=kwargs.pop("transport", transport), **kwargs)

    return make


@pytest.fixture
async def client(make_client: Callable[..., RTVIClient]) -> RTVIClient:
    """A connected, ready client."""
    c = make_client()
    await c.connect()
    assert c.state == TransportState.READY
    return c


def next_event(client: RTVIClient, event: RTVIEvent | str) -> asyncio.Future[tuple[Any, ...]]:
    """A future resolved with the arguments of the next ``event``."""
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def handler(*args: Any) -> None:
        if not future.done():
            future.set_result(args)

    client.once(event, handler)
    return future


async def wait_state(client: RTVIClient, state: TransportState) -> None:
    if client.state == state:
        return
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def handler(new: TransportState) -> None:
        if new == state and not future.done():
            future.set_result(None)

    client.on(RTVIEvent.TRANSPORT_STATE_CHANGED, handler)
    try:
        await asyncio.wait_for(future, WAIT)
    finally:
        client.off(RTVIEvent.TRANSPORT_STATE_CHANGED, handler)
