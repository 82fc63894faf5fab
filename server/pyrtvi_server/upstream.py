"""The HTTP client for the bot service (the embedded bot process or a remote runner).

The base URL and the headers come from configuration only; request paths are built here from
validated values, so nothing a browser sends can choose where a request goes (no open proxy).
Failures become `ProxyError`s with the status the browser should see: 502 when the service is
unreachable or answers nonsense, 504 when it is too slow, its own status for its 4xx answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from pyrtvi_server.models import SESSION_ID_RE

log = logging.getLogger("pyrtvi.upstream")

#: Longest upstream error text passed on to the browser.
MAX_DETAIL_CHARS = 500


class ProxyError(Exception):
    """An error answer for the browser: HTTP status plus the `{"error", "detail"}` JSON body."""

    def __init__(self, status: int, error: str, detail: object = None) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail


@dataclass
class UpstreamReply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Upstream:
    """One pooled `httpx.AsyncClient` for a fixed bot service base URL."""

    def __init__(
        self, base_url: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={**(headers or {}), "Accept-Encoding": "identity"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- bot service contract -------------------------------------------------------------------

    async def start(self, body: dict[str, Any]) -> UpstreamReply:
        return await self.request("POST", "/start", body)

    async def offer(self, session_id: str, body: dict[str, Any]) -> UpstreamReply:
        return await self.request("POST", _offer_path(session_id), body)

    async def ice(self, session_id: str, body: dict[str, Any]) -> UpstreamReply:
        return await self.request("PATCH", _offer_path(session_id), body)

    async def health(self, timeout: float, paths: tuple[str, ...] = ("/health",)) -> bool:
        """Whether one of `paths` answers 200 (tried in order; unreachable is False at once)."""
        for path in paths:
            try:
                reply = await self._client.get(path, timeout=timeout)
            except httpx.HTTPError:
                return False
            if reply.status_code == 200:
                return True
        return False

    # -- plumbing -------------------------------------------------------------------------------

    async def request(self, method: str, path: str, body: dict[str, Any]) -> UpstreamReply:
        """Send JSON, read the whole reply; 4xx/5xx/transport failures raise `ProxyError`."""
        try:
            reply = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        result = UpstreamReply(
            reply.status_code, reply.headers.get("content-type", ""), reply.content
        )
        self._check_status(result.status, result.content_type, result.body)
        return result

    async def stream(self, method: str, path: str, body: dict[str, Any]) -> StreamedReply:
        """Send JSON and return once the status line and headers are in; the body streams."""
        request = self._client.build_request(method, path, json=body)
        try:
            reply = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if reply.status_code >= 300:
            try:
                data = await reply.aread()
            except httpx.HTTPError:
                data = b""
            finally:
                await reply.aclose()
            self._check_status(reply.status_code, reply.headers.get("content-type", ""), data)
        return StreamedReply(reply)

    def _transport_error(self, exc: httpx.HTTPError) -> ProxyError:
        if isinstance(exc, httpx.TimeoutException):
            log.warning("bot service timed out after %ss: %r", self.timeout, exc)
            return ProxyError(
                504,
                "bot service timeout",
                f"the bot service did not answer within {self.timeout:g} s",
            )
        log.warning("bot service unreachable: %r", exc)
        return ProxyError(502, "bot service unreachable", _describe(exc))

    def _check_status(self, status: int, content_type: str, body: bytes) -> None:
        if status < 300:
            return
        message = _error_message(content_type, body)
        if 400 <= status < 500:
            raise ProxyError(status, "bot service rejected the request", message)
        log.warning("bot service answered %s: %s", status, message)
        raise ProxyError(502, "bot service error", f"the bot service answered {status}: {message}")


class StreamedReply:
    """An upstream reply whose body is read chunk by chunk, as it arrives."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.content_type = response.headers.get("content-type", "application/json")

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            # The status line has gone out already; all we can do is end the stream and log.
            log.warning("bot service stream broke off: %r", exc)
        finally:
            await self._response.aclose()

    async def aclose(self) -> None:
        await self._response.aclose()


def _offer_path(session_id: str) -> str:
    if not SESSION_ID_RE.match(session_id):  # callers validate; this is the last line of defence
        raise ValueError(f"bad session id {session_id!r}")
    return f"/sessions/{session_id}/api/offer"


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "could not connect to the bot service"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the bot service closed the connection or spoke invalid HTTP"
    return f"request to the bot service failed ({type(exc).__name__})"


def _error_message(content_type: str, body: bytes) -> str:
    """The most useful short message in an upstream error body (JSON `detail`/`error`/… or text)."""
    text = body.decode("utf-8", errors="replace").strip()
    if "json" in content_type:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("detail", "error", "info", "message"):
                value = data.get(key)
                if value:
                    text = value if isinstance(value, str) else json.dumps(value)
                    break
    text = text or "(empty body)"
    return text[:MAX_DETAIL_CHARS]
