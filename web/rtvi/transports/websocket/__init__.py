"""The WebSocket transport (Pipecat's protobuf WebSocket): ``WebSocketTransport``.

``protobuf`` (the frame codec) and ``target`` (bundle → URL) are pure and import anywhere; the retry policy is the shared
:class:`~rtvi.transports.reconnect.ReconnectPolicy` (re-exported here); the transport itself is
loaded on first access, as ``SmallWebRTCTransport`` is.
"""

from __future__ import annotations

from typing import Any

from ..reconnect import ReconnectPolicy


def __getattr__(name: str) -> Any:
    if name in ("WebSocketTransport", "NoWebSocketURLError"):
        from . import transport

        return getattr(transport, name)
    raise AttributeError(name)


__all__ = ["NoWebSocketURLError", "ReconnectPolicy", "WebSocketTransport"]
