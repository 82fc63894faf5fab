"""Disconnected actions: POST to the action endpoint, SSE (base64 RTVI messages) or JSON reply."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from rtvi import (
    ActionEndpointError,
    ActionEndpointNotSetError,
    HTTPResponse,
    RequestTimeoutError,
    RTVIClient,
    RTVIClientParams,
    RTVIEvent,
    RTVIMessage,
)
from rtvi.disconnected import action_body, action_headers
from rtvi.http import HTTPError

from .conftest import WAIT, FakeHTTP, Recorded, json_response, next_event

PARAMS = {
    "base_url": "http://bots.example",
    "request_data": {"conversation_id": "c1"},
    "headers": {"X-Key": "k"},
}


def envelope(msg_type: str, data: Any, msg_id: str | None = None) -> dict[str, Any]:
    obj = {"label": "rtvi-ai", "type": msg_type, "data": data}
    if msg_id is not None:
        obj["id"] = msg_id
    return obj


def sse_event(obj: Any) -> str:
    return "data: " + base64.b64encode(json.dumps(obj).encode()).decode() + "\n\n"


class StreamResponse(HTTPResponse):
    """A text/event-stream whose chunks the test releases one by one."""

    def __init__(self, status: int = 200, content_type: str = "text/event-stream") -> None:
        super().__init__(status, "", {"Content-Type": content_type})
        self.queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        self.closed = False

    async def iter_text(self) -> AsyncIterator[str]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def aclose(self) -> None:
        self.closed = True


def action_id(req: Recorded) -> str:
    return str(req.body["actions"][0]["id"])


@pytest.fixture
def dclient(make_client: Callable[..., RTVIClient]) -> RTVIClient:
    return make_client(params=dict(PARAMS))


async def test_sse_reply_is_read_incrementally_and_dispatched(
    dclient: RTVIClient, http: FakeHTTP
) -> None:
    stream = StreamResponse()
    http.responder = lambda req: stream
    texts: list[Any] = []
    dclient.on(RTVIEvent.BOT_LLM_TEXT, texts.append)
    first_text = next_event(dclient, RTVIEvent.BOT_LLM_TEXT)
    call = asyncio.ensure_future(
        dclient.action("llm", "append_to_messages", [{"name": "messages", "value": []}])
    )
    await asyncio.wait_for(http.started.wait(), WAIT)
    req = http.requests[0]
    aid = action_id(req)
    # an event split across two chunks arrives, is dispatched before the stream ends
    chunk = sse_event(envelope("bot-llm-text", {"text": "Hel"}))
    stream.queue.put_nowait(chunk[:10])
    stream.queue.put_nowait(chunk[10:])
    assert await asyncio.wait_for(first_text, WAIT) == ({"text": "Hel"},)
    assert not call.done()
    stream.queue.put_nowait(sse_event(envelope("bot-llm-text", {"text": "lo"})))
    stream.queue.put_nowait(sse_event(envelope("action-response", {"result": True}, aid)))
    reply = await asyncio.wait_for(call, WAIT)
    assert reply.data == {"result": True} and reply.id == aid
    assert texts == [{"text": "Hel"}, {"text": "lo"}]
    # events after the action-response are still dispatched, then the stream is closed
    after = next_event(dclient, RTVIEvent.BOT_TTS_STOPPED)
    stream.queue.put_nowait(sse_event(envelope("bot-tts-stopped", None)))
    stream.queue.put_nowait(None)
    await asyncio.wait_for(after, WAIT)
    await asyncio.wait_for(asyncio.gather(*dclient._tasks), WAIT)
    assert stream.closed
    # the request itself
    assert (req.method, req.url) == ("POST", "http://bots.example/action")
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["X-Key"] == "k" and req.headers["Cache-Control"] == "no-cache"
    assert req.body["conversation_id"] == "c1"
    assert req.body["actions"] == [
        {
            "id": aid,
            "label": "rtvi-ai",
            "type": "action",
            "data": {
                "service": "llm",
                "action": "append_to_messages",
                "arguments": [{"name": "messages", "value": []}],
            },
        }
    ]


async def test_malformed_event_is_reported_and_stream_continues(
    dclient: RTVIClient, http: FakeHTTP
) -> None:
    def respond(req: Recorded) -> HTTPResponse:
        stream = StreamResponse()
        stream.queue.put_nowait("data: %%%not-base64%%%\n\n")
        stream.queue.put_nowait(
            sse_event(envelope("action-response", {"result": 7}, action_id(req)))
        )
        stream.queue.put_nowait(None)
        return stream

    http.responder = respond
    bad = next_event(dclient, RTVIEvent.MESSAGE_ERROR)
    assert (await dclient.action("tts", "say")).data["result"] == 7
    assert "base64" in (await asyncio.wait_for(bad, WAIT))[0].data["error"]


async def test_plain_json_reply(dclient: RTVIClient, http: FakeHTTP) -> None:
    http.responder = lambda req: json_response(
        envelope("action-response", {"result": "ok"}, action_id(req))
    )
    assert (await dclient.action("tts", "say")).data == {"result": "ok"}


async def test_json_reply_that_is_not_the_response(dclient: RTVIClient, http: FakeHTTP) -> None:
    http.responder = lambda req: json_response({"result": "ok"})
    errors = next_event(dclient, RTVIEvent.MESSAGE_ERROR)
    with pytest.raises(ActionEndpointError, match="did not reply with the action-response"):
        await dclient.action("tts", "say")
    await asyncio.wait_for(errors, WAIT)  # the reply was not an RTVI envelope


async def test_error_response_in_stream_rejects(dclient: RTVIClient, http: FakeHTTP) -> None:
    def respond(req: Recorded) -> HTTPResponse:
        stream = StreamResponse()
        stream.queue.put_nowait(
            sse_event(envelope("error-response", {"error": "no such action"}, action_id(req)))
        )
        stream.queue.put_nowait(None)
        return stream

    http.responder = respond
    with pytest.raises(Exception, match="no such action"):
        await dclient.action("x", "y")


async def test_stream_ending_without_response_fails(dclient: RTVIClient, http: FakeHTTP) -> None:
    def respond(req: Recorded) -> HTTPResponse:
        stream = StreamResponse()
        stream.queue.put_nowait(sse_event(envelope("bot-llm-text", {"text": "x"})))
        stream.queue.put_nowait(None)
        return stream

    http.responder = respond
    with pytest.raises(ActionEndpointError, match="ended without an action-response"):
        await dclient.action("x", "y")


async def test_stream_breaking_off_fails(dclient: RTVIClient, http: FakeHTTP) -> None:
    def respond(req: Recorded) -> HTTPResponse:
        stream = StreamResponse()
        stream.queue.put_nowait(HTTPError("connection reset"))
        return stream

    http.responder = respond
    with pytest.raises(ActionEndpointError, match="connection reset"):
        await dclient.action("x", "y")


@pytest.mark.parametrize(
    ("body", "detail"),
    [('{"error": "unauthorized"}', "unauthorized"), ("gateway exploded", "gateway exploded")],
)
async def test_non_2xx(dclient: RTVIClient, http: FakeHTTP, body: str, detail: str) -> None:
    from rtvi import BufferedHTTPResponse

    http.responder = lambda req: BufferedHTTPResponse(403, body)
    errors = next_event(dclient, RTVIEvent.MESSAGE_ERROR)
    with pytest.raises(ActionEndpointError, match=detail) as info:
        await dclient.action("x", "y")
    assert info.value.status == 403
    (msg,) = await asyncio.wait_for(errors, WAIT)
    assert "returned an error response" in msg.data["error"]


async def test_network_error(dclient: RTVIClient, http: FakeHTTP) -> None:
    def fail(req: Recorded) -> Any:
        raise HTTPError("connection refused")

    http.responder = fail
    with pytest.raises(ActionEndpointError, match="connection refused"):
        await dclient.action("x", "y")
    assert len(dclient._dispatcher) == 0


async def test_silent_stream_times_out_and_is_cancelled(
    dclient: RTVIClient, http: FakeHTTP
) -> None:
    stream = StreamResponse()
    http.responder = lambda req: stream
    with pytest.raises(RequestTimeoutError):
        await dclient.action("x", "y", timeout=0.1)
    await asyncio.wait_for(asyncio.gather(*dclient._tasks, return_exceptions=True), WAIT)
    assert stream.closed  # the reader was cancelled and closed the response


async def test_endpoint_not_set_or_no_base_url(dclient: RTVIClient) -> None:
    dclient.params.endpoints.action = None
    with pytest.raises(ActionEndpointNotSetError):
        await dclient.action("x", "y")
    dclient.params.endpoints.action = "/action"
    dclient.params.base_url = None
    with pytest.raises(Exception, match="Base URL not set"):
        await dclient.action("x", "y")


def test_action_request_headers_and_body() -> None:
    params = RTVIClientParams.coerce(
        {
            "headers": {"content-type": "text/x", "Cache-Control": "max-age=0"},
            "request_data": {"a": 1},
        }
    )
    assert action_headers(params) == {
        "content-type": "text/x",  # set by the caller, in any case: kept
        "Cache-Control": "max-age=0",
        "Connection": "keep-alive",
    }
    message = RTVIMessage("action", {"service": "s", "action": "x", "arguments": []}, id="i1")
    assert action_body(params, message) == {"a": 1, "actions": [message.to_dict()]}
