"""The CPython HTTP adapter against a real local HTTP server (asyncio, loopback)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from rtvi import ActionEndpointError, RTVIClient, RTVIEvent, StartBotError
from rtvi.abort import AbortController
from rtvi.errors import AbortError
from rtvi.http import HTTPError, HTTPTimeoutError
from rtvi.http.stdlib import StdlibAdapter
from rtvi.transports.memory import FakeBot, MemoryTransport

from .conftest import WAIT, next_event

Writer = asyncio.StreamWriter


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    requests: list[Request] = field(default_factory=list)
    routes: dict[str, Callable[[Request, Writer], Awaitable[None]]] = field(default_factory=dict)
    gate: asyncio.Event = field(default_factory=asyncio.Event)


def head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def sse(obj: Any) -> bytes:
    return b"data: " + base64.b64encode(json.dumps(obj).encode()) + b"\n\n"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state: Server | None = None

    async def handle(reader: asyncio.StreamReader, writer: Writer) -> None:
        assert state is not None
        try:
            request_line = (await reader.readline()).decode()
            method, path, _ = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            req = Request(method, path, headers, body)
            state.requests.append(req)
            await state.routes[path.split("?")[0]](req, writer)
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    state = Server(f"http://127.0.0.1:{port}")
    yield state
    srv.close()


async def test_json_reply_with_content_length(server: Server) -> None:
    async def connect(req: Request, w: Writer) -> None:
        body = json.dumps({"echo": json.loads(req.body), "ua": req.headers.get("x-key")}).encode()
        w.write(
            head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(body))})
        )
        w.write(body)

    server.routes["/connect"] = connect
    resp = await StdlibAdapter().request(
        "POST",
        server.url + "/connect?x=1",
        headers={"X-Key": "k", "Connection": "keep-alive"},
        body=json.dumps({"a": "é"}),
    )
    assert resp.ok and resp.status == 200 and resp.content_type == "application/json"
    assert await resp.json() == {"echo": {"a": "é"}, "ua": "k"}
    assert server.requests[0].headers["connection"] == "close"  # hop header not forwarded


async def test_chunked_stream_is_incremental_and_utf8_safe(server: Server) -> None:
    async def stream(req: Request, w: Writer) -> None:
        w.write(
            head("200 OK", {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"})
        )
        snowman = "☃".encode()
        w.write(chunk(b"one " + snowman[:1]))
        await w.drain()
        await server.gate.wait()  # the client must have read the first chunk already
        w.write(chunk(snowman[1:] + b" two"))
        w.write(b"0\r\n\r\n")

    server.routes["/s"] = stream
    resp = await StdlibAdapter().request("GET", server.url + "/s")
    chunks: list[str] = []
    async for text in resp.iter_text():
        chunks.append(text)
        server.gate.set()
    assert "".join(chunks) == "one ☃ two"
    assert chunks[0] == "one "  # the half character was held back, not mangled
    with pytest.raises(HTTPError, match="already read"):
        await resp.text()


async def test_error_status_body_and_read_to_eof(server: Server) -> None:
    async def fail(req: Request, w: Writer) -> None:
        w.write(head("503 Service Unavailable", {"Content-Type": "text/plain"}))
        w.write(b"try later")

    server.routes["/fail"] = fail
    resp = await StdlibAdapter().request("POST", server.url + "/fail", body=b"{}")
    assert not resp.ok and resp.status == 503 and resp.reason == "Service Unavailable"
    assert await resp.text() == "try later"


async def test_truncated_body_and_unreachable_host(server: Server) -> None:
    async def short(req: Request, w: Writer) -> None:
        w.write(head("200 OK", {"Content-Length": "100"}))
        w.write(b"only this")

    server.routes["/short"] = short
    resp = await StdlibAdapter().request("GET", server.url + "/short")
    with pytest.raises(HTTPError, match="before the body was complete"):
        await resp.text()
    port = server.url.rsplit(":", 1)[1]
    with pytest.raises(HTTPError, match="cannot connect"):
        await StdlibAdapter().request(
            "GET", f"http://127.0.0.1:{int(port) + 1 if int(port) < 65535 else 1}/"
        )
    with pytest.raises(HTTPError, match="unsupported URL"):
        await StdlibAdapter().request("GET", "ftp://x/")


async def test_timeout_and_abort(server: Server) -> None:
    async def hang(req: Request, w: Writer) -> None:
        await asyncio.Event().wait()

    server.routes["/hang"] = hang
    with pytest.raises(HTTPTimeoutError):
        await StdlibAdapter().request("GET", server.url + "/hang", timeout=0.1)
    controller = AbortController()
    task = asyncio.ensure_future(
        StdlibAdapter().request("GET", server.url + "/hang", abort=controller.signal)
    )

    async def second_request_arrived() -> None:
        while len(server.requests) < 2:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(second_request_arrived(), WAIT)
    controller.abort()
    with pytest.raises(AbortError):
        await asyncio.wait_for(task, WAIT)


async def test_client_end_to_end_over_real_http(server: Server) -> None:
    """connect() POSTs to a real server; a disconnected action streams SSE over HTTP."""

    async def connect(req: Request, w: Writer) -> None:
        body = json.dumps({"session": "s1"}).encode()
        w.write(
            head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(body))})
        )
        w.write(body)

    async def action(req: Request, w: Writer) -> None:
        aid = json.loads(req.body)["actions"][0]["id"]
        w.write(
            head(
                "200 OK",
                {
                    "Content-Type": "text/event-stream; charset=utf-8",
                    "Transfer-Encoding": "chunked",
                },
            )
        )
        w.write(
            chunk(sse({"label": "rtvi-ai", "type": "bot-tts-text", "data": {"text": "Bonjour"}}))
        )
        w.write(
            chunk(
                sse(
                    {
                        "label": "rtvi-ai",
                        "type": "action-response",
                        "id": aid,
                        "data": {"result": "said"},
                    }
                )
            )
        )
        w.write(b"0\r\n\r\n")

    async def refuse(req: Request, w: Writer) -> None:
        w.write(head("400 Bad Request", {"Content-Type": "application/json"}))
        w.write(b'{"detail": "room missing"}')

    server.routes.update({"/connect": connect, "/action": action, "/refuse": refuse})
    transport = MemoryTransport(FakeBot())
    client = RTVIClient(
        transport=transport, params={"base_url": server.url}, timeout=WAIT, http=StdlibAdapter()
    )
    tts = next_event(client, RTVIEvent.BOT_TTS_TEXT)
    reply = await client.action("tts", "say", [{"name": "text", "value": "Bonjour"}])
    assert reply.data == {"result": "said"}
    assert await asyncio.wait_for(tts, WAIT) == ({"text": "Bonjour"},)
    await client.connect()
    assert transport.auth_bundle == {"session": "s1"}
    await client.disconnect()
    client.params.endpoints.connect = "/refuse"
    with pytest.raises(StartBotError, match="room missing") as info:
        await client.connect()
    assert info.value.status == 400
    client.params.endpoints.action = "/refuse"
    with pytest.raises(ActionEndpointError, match="room missing"):
        await client.action("tts", "say")
