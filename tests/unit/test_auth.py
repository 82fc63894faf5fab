"""The connect request (rtvi.auth): body, headers, the bundle, and every failure as StartBotError."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from rtvi import (
    AbortController,
    BufferedHTTPResponse,
    HTTPResponse,
    RTVIClientParams,
    StartBotError,
)
from rtvi._version import __version__
from rtvi.auth import authenticate, connect_body, connect_headers, start_bot
from rtvi.http import HTTPError

from .conftest import FakeHTTP, Recorded, json_response

PARAMS = RTVIClientParams.coerce(
    {
        "base_url": "http://bots.example/api/",
        "services": {"llm": "ollama"},
        "config": [{"service": "llm", "options": []}],
        "request_data": {"room": "r1", "rtvi_client_version": "spoofed"},
        "headers": {"Authorization": "Bearer k", "Content-Type": "application/json; x=1"},
    }
)


def test_connect_body_and_headers() -> None:
    assert connect_body(PARAMS) == {
        "services": {"llm": "ollama"},
        "config": [{"service": "llm", "options": []}],
        "room": "r1",
        "rtvi_client_version": __version__,  # ours wins over request_data
    }
    assert connect_headers(PARAMS) == {
        "Content-Type": "application/json; x=1",  # the caller's headers win
        "Authorization": "Bearer k",
    }


async def test_start_bot_posts_and_returns_the_bundle() -> None:
    http = FakeHTTP(lambda req: json_response({"session_id": "s"}))
    signal = AbortController().signal
    assert await start_bot(PARAMS, http, signal) == {"session_id": "s"}
    (req,) = http.requests
    assert (req.method, req.url, req.abort) == ("POST", "http://bots.example/api/connect", signal)
    assert req.body == connect_body(PARAMS)


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        # the JS client's order: info, detail, then error, message
        ('{"error": "invalid-request-error", "info": "bad key"}', "", "bad key"),
        ('{"error": "boom", "detail": {"x": 1}}', "", '{"x": 1}'),
        ('{"message": "quota"}', "", "quota"),
        ('{"unknown": 1}', "", '{"unknown": 1}'),  # no known key: the body itself
        ("  <html>Bad Gateway</html>\n", "", "<html>Bad Gateway</html>"),
        ("", "Service Unavailable", "Service Unavailable"),
        ("", "", "HTTP 503"),
    ],
)
async def test_non_2xx_is_start_bot_error_with_the_server_text(
    body: str, reason: str, message: str
) -> None:
    http = FakeHTTP(lambda req: BufferedHTTPResponse(503, body, reason=reason))
    with pytest.raises(StartBotError) as info:
        await start_bot(PARAMS, http, AbortController().signal)
    assert (info.value.status, info.value.message) == (503, message)


class BrokenBody(HTTPResponse):
    def __init__(self, status: int) -> None:
        super().__init__(status, "Bad Gateway", {})

    async def iter_text(self) -> AsyncIterator[str]:
        raise HTTPError("connection reset")
        yield ""  # pragma: no cover - makes this an async generator


async def test_error_body_that_cannot_be_read_falls_back_to_the_reason() -> None:
    assert await BrokenBody(502).error_text() == "Bad Gateway"


async def test_network_failures_and_bad_replies() -> None:
    def refuse(req: Recorded) -> Any:
        raise HTTPError("connection refused")

    signal = AbortController().signal
    with pytest.raises(StartBotError, match="connection refused") as info:
        await start_bot(PARAMS, FakeHTTP(refuse), signal)
    assert info.value.status == 500
    with pytest.raises(StartBotError, match="did not return JSON") as info:
        await start_bot(PARAMS, FakeHTTP(lambda req: BufferedHTTPResponse(200, "<html>")), signal)
    assert info.value.status == 200
    with pytest.raises(StartBotError, match="broke off: connection reset"):
        await start_bot(PARAMS, FakeHTTP(lambda req: BrokenBody(200)), signal)


async def test_authenticate_prefers_the_custom_handler_sync_or_async() -> None:
    http = FakeHTTP()
    signal = AbortController().signal
    seen: list[Any] = []

    def sync_handler(params: RTVIClientParams, timeout: float | None, abort: Any) -> Any:
        seen.append((params, timeout, abort))
        return {"sync": True}

    async def async_handler(params: RTVIClientParams, timeout: float | None, abort: Any) -> Any:
        return {"async": True}

    assert await authenticate(PARAMS, http, signal, sync_handler, 7.0) == {"sync": True}
    assert seen == [(PARAMS, 7.0, signal)]
    assert await authenticate(PARAMS, http, signal, async_handler) == {"async": True}
    assert http.requests == []


async def test_authenticate_without_endpoint_is_direct_connect() -> None:
    http = FakeHTTP()
    direct = RTVIClientParams.coerce({"base_url": None, "endpoints": {"connect": None}})
    assert await authenticate(direct, http, AbortController().signal) is None
    assert http.requests == []
