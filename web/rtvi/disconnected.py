"""Disconnected actions: ``action()`` without a session, as a POST to the action endpoint.

The reply is a ``text/event-stream`` of RTVI messages (read incrementally, each one handled as
if it came over a transport) or a single JSON message. Either way the request waits, through the
client's :class:`~rtvi.dispatcher.Dispatcher`, for the ``action-response`` with its id. I/O goes
through the injected HTTP adapter; the client passes in how to handle an inbound message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from .dispatcher import Dispatcher
from .errors import ActionEndpointError, InvalidMessageError
from .http.base import HTTPAdapter, HTTPError, HTTPResponse
from .messages import MessageType, RTVIMessage
from .params import RTVIClientParams
from .sse import SSEParser, decode_event_data

#: ``(raw, strict)``: handle one inbound message; ``strict`` reports a foreign label as malformed
#: instead of ignoring it.
Receive = Callable[[Any, bool], None]


def action_headers(params: RTVIClientParams) -> dict[str, str]:
    """``params.headers`` plus JSON and streaming defaults the caller did not set."""
    headers = dict(params.headers)
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    headers.setdefault("Cache-Control", "no-cache")
    headers.setdefault("Connection", "keep-alive")
    return headers


def action_body(params: RTVIClientParams, message: RTVIMessage) -> dict[str, Any]:
    """``request_data`` plus ``actions: [the action message]``."""
    return {**params.request_data, "actions": [message.to_dict()]}


class ActionEndpoint:
    """Runs disconnected actions for one client."""

    def __init__(
        self,
        http: HTTPAdapter,
        dispatcher: Dispatcher,
        receive: Receive,
        malformed: Callable[[InvalidMessageError], None],
        report: Callable[[RTVIMessage], None],
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]],
    ) -> None:
        self._http = http
        self._dispatcher = dispatcher
        self._receive = receive
        self._malformed = malformed  # reports bad inbound data
        self._report = report  # fires on_message_error
        self._spawn = spawn

    async def request(
        self, params: RTVIClientParams, message: RTVIMessage, timeout: float | None
    ) -> RTVIMessage:
        """POST ``message``; returns the ``action-response``. Failures are
        :class:`ActionEndpointError` (or the dispatcher's timeout and error-response errors)."""
        url = params.endpoint_url("action")
        future = self._dispatcher.register(message, timeout)
        reader: asyncio.Task[Any] | None = None
        try:
            response = await self._http.request(
                "POST",
                url,
                headers=action_headers(params),
                body=json.dumps(action_body(params, message)),
                timeout=timeout if timeout is not None else self._dispatcher.default_timeout,
            )
            if not response.ok:
                await self._refused(response, message.id, url)
            elif "text/event-stream" in response.content_type.lower():
                reader = self._spawn(self._read_stream(response, message.id, url))
            else:
                reader = self._spawn(self._read_json(response, message.id, url))
        except HTTPError as exc:
            self._dispatcher.fail(message.id, ActionEndpointError(f"Action request failed: {exc}"))
        except BaseException as exc:
            self._dispatcher.fail(message.id, exc)
            raise
        try:
            return await future
        finally:
            if reader is not None and (future.cancelled() or future.exception() is not None):
                reader.cancel()

    async def _refused(self, response: HTTPResponse, action_id: str, url: str) -> None:
        detail = await response.error_text()
        self._report(
            RTVIMessage(
                MessageType.ERROR_RESPONSE,
                {"error": f"Action endpoint '{url}' returned an error response: {detail}"},
                id=action_id,
            )
        )
        self._dispatcher.fail(
            action_id,
            ActionEndpointError(
                f"Action endpoint '{url}' returned {response.status}: {detail}",
                status=response.status,
            ),
        )

    async def _read_stream(self, response: HTTPResponse, action_id: str, url: str) -> None:
        parser = SSEParser()
        try:
            async for chunk in response.iter_text():
                for data in parser.feed(chunk):
                    self._receive_event(data)
            for data in parser.close():
                self._receive_event(data)
        except HTTPError as exc:
            self._dispatcher.fail(
                action_id, ActionEndpointError(f"Action stream from {url} broke off: {exc}")
            )
            return
        finally:
            await response.aclose()
        self._dispatcher.fail(
            action_id,
            ActionEndpointError(f"Action stream from {url} ended without an action-response"),
        )

    def _receive_event(self, data: str) -> None:
        try:
            obj = decode_event_data(data)
        except InvalidMessageError as exc:
            self._malformed(exc)
            return
        self._receive(obj, False)

    async def _read_json(self, response: HTTPResponse, action_id: str, url: str) -> None:
        try:
            text = await response.text()
        except HTTPError as exc:
            self._dispatcher.fail(action_id, ActionEndpointError(f"Action reply broke off: {exc}"))
            return
        self._receive(text, True)  # a foreign label is an error here, not noise
        self._dispatcher.fail(
            action_id,
            ActionEndpointError(f"Action endpoint {url} did not reply with the action-response"),
        )
