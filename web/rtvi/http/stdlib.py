"""An HTTP/1.1 client on asyncio streams (stdlib only): the adapter used under CPython.

Small by design: one request per connection (``Connection: close``), ``Content-Length``,
chunked or read-to-EOF bodies, incremental text decoding. Enough for the connect and action
endpoints; not a general HTTP client.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import AbortError
from .base import HTTPError, HTTPResponse, HTTPTimeoutError

if TYPE_CHECKING:
    from ..abort import AbortSignal

_CHUNK = 16 * 1024
_HOP_HEADERS = {"connection", "host", "content-length", "transfer-encoding", "keep-alive"}


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


class StdlibResponse(HTTPResponse):
    def __init__(
        self,
        status: int,
        reason: str,
        headers: Mapping[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        super().__init__(status, reason, headers)
        self._reader = reader
        self._writer = writer
        self._consumed = False

    async def iter_text(self) -> AsyncIterator[str]:
        if self._consumed:
            raise HTTPError("response body already read")
        self._consumed = True
        decoder = codecs.getincrementaldecoder(_charset(self.content_type))(errors="replace")
        try:
            async for raw in self._iter_bytes():
                text = decoder.decode(raw)
                if text:
                    yield text
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
        finally:
            await self.aclose()

    async def _iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size_line = await self._reader.readline()
                    if not size_line:
                        raise HTTPError("connection closed inside a chunked body")
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        await self._reader.readline()
                        return
                    yield await self._reader.readexactly(size)
                    await self._reader.readline()
            elif "content-length" in self.headers:
                remaining = int(self.headers["content-length"])
                while remaining > 0:
                    data = await self._reader.read(min(_CHUNK, remaining))
                    if not data:
                        raise HTTPError("connection closed before the body was complete")
                    remaining -= len(data)
                    yield data
            else:
                while data := await self._reader.read(_CHUNK):
                    yield data
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            raise HTTPError(f"error reading the response body: {exc}") from exc

    async def aclose(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self._writer.wait_closed()


class StdlibAdapter:
    """``HTTPAdapter`` for CPython. ``timeout`` bounds connecting + sending + reading headers."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
        timeout: float | None = None,
        abort: AbortSignal | None = None,
    ) -> HTTPResponse:
        if abort is not None and abort.aborted:
            raise AbortError()
        task = asyncio.ensure_future(self._open(method, url, headers or {}, body))
        remove = abort.add_callback(lambda _r: task.cancel()) if abort is not None else None
        try:
            return await asyncio.wait_for(task, timeout)
        except TimeoutError:
            raise HTTPTimeoutError(f"no response from {url} within {timeout:g} s") from None
        except asyncio.CancelledError:
            if abort is not None and abort.aborted and not _being_cancelled():
                raise AbortError() from None
            raise
        finally:
            if remove is not None:
                remove()

    async def _open(
        self, method: str, url: str, headers: Mapping[str, str], body: str | bytes | None
    ) -> StdlibResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HTTPError(f"unsupported URL {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        try:
            reader, writer = await asyncio.open_connection(
                parts.hostname, port, ssl=ssl.create_default_context() if tls else None
            )
        except OSError as exc:
            raise HTTPError(f"cannot connect to {parts.netloc}: {exc}") from exc
        try:
            data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            lines = [f"{method.upper()} {target} HTTP/1.1", f"Host: {parts.netloc}"]
            lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in _HOP_HEADERS]
            lines += [f"Content-Length: {len(data)}", "Connection: close", "", ""]
            writer.write("\r\n".join(lines).encode("latin-1") + data)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise HTTPError(f"{url}: the server closed the connection without a response")
            try:
                _version, status, *reason = status_line.decode("latin-1").split(" ", 2)
                code = int(status)
            except ValueError:
                raise HTTPError(f"malformed status line from {url}: {status_line!r}") from None
            response_headers: dict[str, str] = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                response_headers[name.strip().lower()] = value.strip()
        except BaseException as exc:
            writer.close()
            if isinstance(exc, OSError):
                raise HTTPError(f"request to {url} failed: {exc}") from exc
            raise
        return StdlibResponse(
            code, reason[0].strip() if reason else "", response_headers, reader, writer
        )


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
