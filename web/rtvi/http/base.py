"""The HTTP adapter interface (httpx-style transports, but for the RTVI client's two requests).

An adapter turns one request into an :class:`HTTPResponse` whose body can be read at once
(``text()``/``json()``) or incrementally (``iter_text()``), which is what the streaming
``text/event-stream`` reply of a disconnected action needs.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import HTTP_ERROR_TEXT_KEYS, RTVIError, error_text

if TYPE_CHECKING:
    from ..abort import AbortSignal


class HTTPError(RTVIError):
    """The request could not be made or its body could not be read (network level)."""

    default_message = "HTTP request failed"


class HTTPTimeoutError(HTTPError):
    default_message = "HTTP request timed out"


class HTTPResponse(ABC):
    """A response whose headers are known and whose body is still to be read.

    Header names are lower-case. Read the body once: either ``iter_text()`` or ``text()``.
    """

    def __init__(self, status: int, reason: str, headers: Mapping[str, str]) -> None:
        self.status = status
        self.reason = reason
        self.headers = {k.lower(): v for k, v in headers.items()}

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @abstractmethod
    def iter_text(self) -> AsyncIterator[str]:
        """Yield the body as decoded text chunks, as they arrive."""

    async def text(self) -> str:
        return "".join([chunk async for chunk in self.iter_text()])

    async def json(self) -> Any:
        """Parse the whole body as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(await self.text())

    async def aclose(self) -> None:
        """Release the connection early (optional for adapters)."""
        return None

    async def error_text(self, limit: int = 300) -> str:
        """The server's explanation of a failed request, read from the body: the JSON error
        text (``info``, ``detail``, ``error``, ``message``), else the body itself, else the
        reason phrase, else ``HTTP <status>``. Never raises."""
        try:
            text = await self.text()
        except HTTPError:
            text = ""
        return (
            error_text(text, limit, HTTP_ERROR_TEXT_KEYS)
            or text.strip()[:limit]
            or self.reason
            or f"HTTP {self.status}"
        )


class BufferedHTTPResponse(HTTPResponse):
    """A response built from ready-made chunks: for fake adapters in tests and custom adapters."""

    def __init__(
        self,
        status: int = 200,
        body: str | Iterable[str] = "",
        headers: Mapping[str, str] | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(status, reason, headers or {})
        self._chunks = [body] if isinstance(body, str) else list(body)

    async def iter_text(self) -> AsyncIterator[str]:
        for chunk in self._chunks:
            yield chunk


class HTTPAdapter(Protocol):
    """Make one HTTP request.

    ``timeout`` (seconds) bounds getting the response headers; ``abort`` cancels the request
    (the adapter raises :class:`~rtvi.errors.AbortError` or lets ``CancelledError`` through).
    Network failures raise :class:`HTTPError`. A non-2xx status is *not* an error here: the
    client reads the body to build a typed error with the server's message.
    """

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
        timeout: float | None = None,
        abort: AbortSignal | None = None,
    ) -> HTTPResponse: ...
