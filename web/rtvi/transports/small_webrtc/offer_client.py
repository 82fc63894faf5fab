"""``OfferClient``: the bot's offer endpoint over HTTP (``POST`` offers, ``PATCH`` candidates).

IO-injected: it runs on the client's :class:`~rtvi.http.base.HTTPAdapter` (browser ``fetch`` in
the page, a fake in unit tests). Every failure is a :class:`~rtvi.errors.TransportStartError`
naming the request: no answer within ``timeout`` seconds, a network error, an HTTP error (with
its ``status`` and the body's :func:`~rtvi.errors.error_text`), or a body that is not JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from ...errors import RTVIError, TransportStartError, error_text
from ...http.base import HTTPAdapter, HTTPResponse, HTTPTimeoutError
from .._interop import js_error_text


class OfferClient:
    """JSON requests to one offer URL, each bounded by ``timeout`` seconds."""

    def __init__(
        self,
        http: HTTPAdapter,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.http = http
        self.url = url
        self.headers = {**(headers or {}), "Content-Type": "application/json"}
        self.timeout = timeout

    async def post(self, body: Mapping[str, Any]) -> Any:
        """Send an offer; returns the decoded answer (None for an empty body)."""
        return await self.request("POST", body)

    async def patch(self, body: Mapping[str, Any]) -> Any:
        """Send trickled candidates."""
        return await self.request("PATCH", body)

    async def request(self, method: str, body: Mapping[str, Any]) -> Any:
        url = self.url

        async def exchange() -> tuple[HTTPResponse, str]:
            response = await self.http.request(
                method, url, headers=self.headers, body=json.dumps(body), timeout=self.timeout
            )
            return response, await response.text()

        try:
            response, text = await asyncio.wait_for(exchange(), self.timeout)
        except (TimeoutError, HTTPTimeoutError):
            raise TransportStartError(
                f"{method} {url}: no answer within {self.timeout:g} s"
            ) from None
        except RTVIError as exc:
            raise TransportStartError(f"{method} {url} failed: {exc.message}") from exc
        except Exception as exc:
            raise TransportStartError(f"{method} {url} failed: {js_error_text(exc)}") from exc
        if not response.ok:
            detail = error_text(text)
            raise TransportStartError(
                f"{method} {url} answered HTTP {response.status}{': ' + detail if detail else ''}",
                status=response.status,
            )
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise TransportStartError(f"{method} {url} answered with invalid JSON") from None
