"""The offer endpoint client: request shape, timeouts and the errors it raises."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rtvi.errors import TransportStartError
from rtvi.http.base import BufferedHTTPResponse, HTTPError, HTTPTimeoutError
from rtvi.transports.small_webrtc.offer_client import OfferClient

from .conftest import FakeHTTP, Recorded, json_response


async def test_posts_and_patches_json_with_the_headers() -> None:
    http = FakeHTTP(lambda req: json_response({"sdp": "v=0", "type": "answer"}))
    client = OfferClient(http, "/offer", headers={"Authorization": "Bearer t"}, timeout=3)
    assert await client.post({"sdp": "x"}) == {"sdp": "v=0", "type": "answer"}
    http.responder = lambda req: BufferedHTTPResponse(200, "")
    assert await client.patch({"pc_id": "p", "candidates": []}) is None  # empty body
    post, patch = http.requests
    assert (post.method, post.url, post.body, post.timeout) == ("POST", "/offer", {"sdp": "x"}, 3)
    assert post.headers == {"Authorization": "Bearer t", "Content-Type": "application/json"}
    assert patch.method == "PATCH" and patch.body == {"pc_id": "p", "candidates": []}


def failing(exc: Exception) -> Any:
    def respond(req: Recorded) -> Any:
        raise exc

    return respond


@pytest.mark.parametrize(
    ("responder", "message", "status"),
    [
        (
            lambda req: json_response({"error": "no bot service", "detail": "restart it"}, 503),
            "POST /offer answered HTTP 503: no bot service: restart it",
            503,
        ),
        (
            lambda req: BufferedHTTPResponse(404, "Not Found"),
            "POST /offer answered HTTP 404: Not Found",
            404,
        ),
        (lambda req: BufferedHTTPResponse(500, ""), "POST /offer answered HTTP 500", 500),
        (
            lambda req: BufferedHTTPResponse(200, "<html>"),
            "POST /offer answered with invalid JSON",
            None,
        ),
        (failing(HTTPTimeoutError()), "POST /offer: no answer within 2 s", None),
        (failing(HTTPError("Failed to fetch")), "POST /offer failed: Failed to fetch", None),
        (failing(OSError("connection refused")), "POST /offer failed: connection refused", None),
    ],
)
async def test_failures_are_transport_start_errors(
    responder: Any, message: str, status: int | None
) -> None:
    client = OfferClient(FakeHTTP(responder), "/offer", timeout=2)
    with pytest.raises(TransportStartError) as caught:
        await client.post({})
    assert (caught.value.message, caught.value.status) == (message, status)


async def test_a_request_that_never_answers_times_out() -> None:
    async def hang(req: Recorded) -> Any:
        await asyncio.Event().wait()

    client = OfferClient(FakeHTTP(hang), "/offer", timeout=0.05)
    with pytest.raises(TransportStartError, match=r"no answer within 0\.05 s"):
        await client.patch({})
