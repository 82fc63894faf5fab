"""The HTTP client for the bot service (the embedded bot process or a remote runner).

The base URL and the headers come from configuration only; request paths are built here from
validated values, so nothing a browser sends can choose where a request goes (no open proxy).
Failures become `ProxyError`s with the status the browser should see: 502 when the service is
unreachable or answers nonsense (or too much), 504 when a whole request takes longer than the
timeout (a service that drips its answer byte by byte is cut off too), its own status for its 4xx
answers. Upstream error text reaches the browser only when it holds no configured secret.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from rtvi.errors import error_text

from pyrtvi_server.guard import Secrets
from pyrtvi_server.models import SESSION_ID_RE

log = logging.getLogger("pyrtvi.upstream")

#: Longest upstream error text passed on to the browser.
MAX_DETAIL_CHARS = 500
#: Default cap on a (non-streamed) upstream reply.
MAX_REPLY_BYTES = 1024 * 1024
#: Longest line a streamed reply may hold (lines are checked for secrets one by one).
MAX_STREAM_LINE = 1024 * 1024


class ProxyError(Exception):
    """An error answer for the browser: HTTP status plus the `{"error", "detail"}` JSON body."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})


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
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        *,
        secrets: Secrets | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: What every request to the bot carries (the configured headers, the embedded bot's
        #: token): the WebSocket relay sends them on its socket to the bot too.
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.secrets = secrets or Secrets(())
        self.max_reply_bytes = max_reply_bytes
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
        """Whether one of `paths` answers 200 (tried in order)."""
        for path in paths:
            if await self.get_info(path, timeout) is not None:
                return True
        return False

    async def get_info(self, path: str, timeout: float) -> dict[str, Any] | None:
        """A GET's JSON object (`{}` if not JSON), None unless it answers 200."""
        try:
            reply = await self._client.get(path, timeout=timeout)
        except httpx.HTTPError:
            return None
        if reply.status_code != 200:
            return None
        try:
            data = reply.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    # -- plumbing -------------------------------------------------------------------------------

    async def request(self, method: str, path: str, body: dict[str, Any]) -> UpstreamReply:
        """Send JSON, read the whole reply (at most `max_reply_bytes`, within `timeout` in all);
        4xx/5xx/transport failures raise `ProxyError`."""
        try:
            async with asyncio.timeout(self.timeout):
                request = self._client.build_request(method, path, json=body)
                reply = await self._client.send(request, stream=True)
                try:
                    data = await self._read_capped(reply)
                finally:
                    await reply.aclose()
        except TimeoutError:
            raise self._timeout_error() from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        result = UpstreamReply(reply.status_code, reply.headers.get("content-type", ""), data)
        self._check_status(result.status, result.body)
        return result

    async def stream(self, method: str, path: str, body: dict[str, Any]) -> StreamedReply:
        """Send JSON and return once the status line and headers are in (within `timeout`); the
        body then streams for as long as it keeps flowing (`timeout` between chunks)."""
        request = self._client.build_request(method, path, json=body)
        try:
            async with asyncio.timeout(self.timeout):
                reply = await self._client.send(request, stream=True)
                if reply.status_code >= 300:
                    try:
                        data = await self._read_capped(reply)
                    except httpx.HTTPError:
                        data = b""
                    finally:
                        await reply.aclose()
                    self._check_status(reply.status_code, data)
        except TimeoutError:
            raise self._timeout_error() from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        return StreamedReply(reply, self.secrets)

    async def _read_capped(self, reply: httpx.Response) -> bytes:
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_reply_bytes:
            raise self._too_large()
        data = bytearray()
        async for chunk in reply.aiter_raw():
            data += chunk
            if len(data) > self.max_reply_bytes:
                raise self._too_large()
        return bytes(data)

    def _too_large(self) -> ProxyError:
        log.warning("bot service reply over %s bytes: dropped", self.max_reply_bytes)
        return ProxyError(
            502,
            "bot service error",
            f"the bot service's reply is larger than {self.max_reply_bytes} bytes",
        )

    def _timeout_error(self) -> ProxyError:
        log.warning("bot service request took longer than %ss: abandoned", self.timeout)
        return ProxyError(
            504, "bot service timeout", f"the bot service did not answer within {self.timeout:g} s"
        )

    def _transport_error(self, exc: httpx.HTTPError) -> ProxyError:
        if isinstance(exc, httpx.TimeoutException):
            return self._timeout_error()
        log.warning("bot service unreachable: %r", exc)
        return ProxyError(502, "bot service unreachable", _describe(exc))

    def _check_status(self, status: int, body: bytes) -> None:
        if status < 300:
            return
        full = error_text(body, limit=self.max_reply_bytes) or "(empty body)"
        message = full[:MAX_DETAIL_CHARS]
        if self.secrets.found_in(full):
            log.warning("bot service answered %s with a configured secret in it: %s", status, full)
            message = f"the bot service answered {status} (details in the server log)"
        if 400 <= status < 500:
            raise ProxyError(status, "bot service rejected the request", message)
        log.warning("bot service answered %s: %s", status, message)
        raise ProxyError(502, "bot service error", f"the bot service answered {status}: {message}")


class StreamedReply:
    """An upstream reply whose body is read chunk by chunk, as it arrives."""

    def __init__(self, response: httpx.Response, secrets: Secrets | None = None) -> None:
        self._response = response
        self.status = response.status_code
        self.content_type = response.headers.get("content-type", "application/json")
        self._secrets = secrets or Secrets(())

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; with secrets configured, line by line (an SSE event is a few
        lines), each line checked first: one holding a secret is replaced (SSE) or ends it."""
        pending = b""
        try:
            async for chunk in self._response.aiter_bytes():
                if not self._secrets:
                    yield chunk
                    continue
                pending += chunk
                cut = pending.rfind(b"\n") + 1
                lines, pending = pending[:cut], pending[cut:]
                if len(pending) > MAX_STREAM_LINE:
                    log.warning("bot service stream line over %s bytes: ended", MAX_STREAM_LINE)
                    return
                if lines:
                    checked = self._checked(lines)
                    if checked is None:
                        return
                    yield checked
            if pending:
                checked = self._checked(pending)
                if checked is not None:
                    yield checked
        except httpx.HTTPError as exc:
            # The status line has gone out already; all we can do is end the stream and log.
            log.warning("bot service stream broke off: %r", exc)
        finally:
            await self._response.aclose()

    def _checked(self, lines: bytes) -> bytes | None:
        out = []
        for line in lines.splitlines(keepends=True):
            if not self._holds_secret(line):
                out.append(line)
            elif "event-stream" in self.content_type:
                log.warning("bot service stream event held a configured secret: replaced")
                out.append(WITHHELD_EVENT + (b"\n" if line.endswith(b"\n") else b""))
            else:
                log.warning("bot service reply held a configured secret: ended")
                return None
        return b"".join(out)

    def _holds_secret(self, line: bytes) -> bool:
        text = line.decode("utf-8", errors="replace")
        if self._secrets.found_in(text):
            return True
        if text.startswith("data:"):
            try:
                decoded = base64.b64decode(text[5:].strip(), validate=True)
            except (binascii.Error, ValueError):
                return False
            return self._secrets.found_in(decoded.decode("utf-8", errors="replace"))
        return False

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


#: What replaces a streamed event that held a secret: an RTVI error message, base64 as realtime-ai
#: reads disconnected-action events.
WITHHELD_EVENT = b"data: " + base64.b64encode(
    json.dumps(
        {
            "label": "rtvi-ai",
            "type": "error",
            "data": {"error": "the bot's answer was withheld (see the server log)", "fatal": False},
        }
    ).encode()
)
