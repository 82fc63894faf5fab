"""HTTP adapters: how the client talks to the developer's connect and action endpoints.

The core only knows :class:`HTTPAdapter`. :func:`default_adapter` picks the browser ``fetch``
adapter under Pyodide and the stdlib asyncio adapter under CPython.
"""

from __future__ import annotations

import sys

from .base import (
    BufferedHTTPResponse,
    HTTPAdapter,
    HTTPError,
    HTTPResponse,
    HTTPTimeoutError,
)


def default_adapter() -> HTTPAdapter:
    """The right adapter for the running interpreter (imports ``js`` only under Pyodide)."""
    if sys.platform == "emscripten":
        from .fetch import FetchAdapter

        return FetchAdapter()
    from .stdlib import StdlibAdapter

    return StdlibAdapter()


__all__ = [
    "BufferedHTTPResponse",
    "HTTPAdapter",
    "HTTPError",
    "HTTPResponse",
    "HTTPTimeoutError",
    "default_adapter",
]
