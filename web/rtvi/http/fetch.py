"""The browser ``HTTPAdapter``: ``fetch`` with a ``ReadableStream`` reader (Pyodide only).

``js`` and ``pyodide`` are imported inside the methods so that importing this module (and the
rest of the package) works anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import AbortError
from .base import HTTPError, HTTPResponse, HTTPTimeoutError

if TYPE_CHECKING:
    from ..abort import AbortSignal

# Headers a page may not set; fetch would drop them anyway.
_FORBIDDEN = {"connection", "keep-alive", "host", "content-length", "transfer-encoding"}


class FetchResponse(HTTPResponse):
    def __init__(self, js_response: Any, controller: Any) -> None:
        from ..transports._interop import js_global, to_py

        # One conversion, not a crossing per header (each connect reads two replies).
        entries = to_py(js_global().Object.fromEntries(js_response.headers)) or {}
        headers = {str(name): str(value) for name, value in entries.items()}
        super().__init__(int(js_response.status), str(js_response.statusText), headers)
        self._response = js_response
        self._controller = controller
        self._consumed = False

    async def iter_text(self) -> AsyncIterator[str]:
        import js
        from pyodide.ffi import JsException, to_js

        from ..transports._browser import TextDecoder

        if self._consumed:
            raise HTTPError("response body already read")
        self._consumed = True
        body = self._response.body
        if body is None:
            return
        reader = body.getReader()
        decoder = TextDecoder("utf-8")
        stream_opts = to_js({"stream": True}, dict_converter=js.Object.fromEntries)
        done = False
        try:
            while True:
                try:
                    chunk = await reader.read()
                except JsException as exc:
                    raise HTTPError(f"error reading the response body: {exc}") from exc
                if chunk.done:
                    done = True
                    break
                text = str(decoder.decode(chunk.value, stream_opts))
                if text:
                    yield text
            tail = str(decoder.decode())
            if tail:
                yield tail
        finally:
            if not done:
                with contextlib.suppress(Exception):
                    reader.cancel()

    async def text(self) -> str:
        """The whole body in one ``Response.text()`` (one await, not a reader's chunks: the
        start, connect and offer replies are read on the way to bot-ready)."""
        from pyodide.ffi import JsException

        if self._consumed:
            raise HTTPError("response body already read")
        self._consumed = True
        try:
            return str(await self._response.text())
        except JsException as exc:
            raise HTTPError(f"error reading the response body: {exc}") from exc

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            self._controller.abort()


class FetchAdapter:
    """``HTTPAdapter`` over the browser's ``fetch`` (CORS mode, like the JS client)."""

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
        import js
        from pyodide.ffi import JsException, to_js

        from ..transports._browser import AbortController

        if abort is not None and abort.aborted:
            raise AbortError()
        controller = AbortController()
        init: dict[str, Any] = {
            "method": method.upper(),
            "mode": "cors",
            "headers": {k: v for k, v in (headers or {}).items() if k.lower() not in _FORBIDDEN},
            "signal": controller.signal,
        }
        if body is not None:
            init["body"] = body if isinstance(body, str) else to_js(body)
        options = to_js(init, dict_converter=js.Object.fromEntries)
        remove = abort.add_callback(lambda _r: controller.abort()) if abort is not None else None
        try:
            js_response = await asyncio.wait_for(js.fetch(url, options), timeout)
        except TimeoutError:
            controller.abort()
            raise HTTPTimeoutError(f"no response from {url} within {timeout:g} s") from None
        except asyncio.CancelledError:
            controller.abort()
            raise
        except JsException as exc:
            if abort is not None and abort.aborted:
                raise AbortError() from None
            raise HTTPError(f"fetch {url} failed: {exc}") from exc
        finally:
            if remove is not None:
                remove()
        return FetchResponse(js_response, controller)
