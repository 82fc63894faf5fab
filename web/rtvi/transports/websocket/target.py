"""Where a WebSocket session connects: the auth bundle (or start reply) and the options → a URL.

Pure (no ``js``; unit-tested in CPython). The URL is the bundle's ``ws_url``/``wsUrl``, else the
``ws_url`` option; a relative one is resolved against the client's ``base_url`` (else the page),
``http``/``https`` become ``ws``/``wss``, and the bundle's ``token``, when given, is appended as
a query parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from ...errors import TransportStartError


class NoWebSocketURLError(TransportStartError):
    """The connect reply has no ``ws_url``/``wsUrl`` and no ``ws_url`` option is set: the
    server offers no WebSocket for this session (e.g. it only speaks WebRTC)."""

    default_message = (
        "no WebSocket URL: the connect reply has no 'ws_url' and no ws_url option is set"
    )


def resolve_ws_url(auth_bundle: Any, *, option: str | None, base: str | None) -> str:
    """The socket URL from the bundle (``ws_url``/``wsUrl``, ``token``) or ``option``.

    ``base`` resolves a relative URL (the client's ``base_url``, else the page's address).
    Raises :class:`NoWebSocketURLError` without a URL, :class:`TransportStartError` for a URL
    that is not ``ws``/``wss`` (or ``http``/``https``).
    """
    bundle: Mapping[str, Any] = auth_bundle if isinstance(auth_bundle, Mapping) else {}
    url = next((bundle[k] for k in ("ws_url", "wsUrl") if bundle.get(k)), None) or option
    if not url or not isinstance(url, str):
        raise NoWebSocketURLError()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise TransportStartError(f"not a WebSocket URL: {url!r}")
    query = parts.query
    token = bundle.get("token")
    if isinstance(token, str) and token:
        query = f"{query}&{urlencode({'token': token})}" if query else urlencode({"token": token})
    return urlunsplit((scheme, parts.netloc, parts.path, query, parts.fragment))
