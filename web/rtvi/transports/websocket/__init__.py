"""The WebSocket transport (Pipecat's protobuf WebSocket): ``WebSocketTransport``.

``protobuf`` (the frame codec) and ``reconnect`` (the retry policy) are pure and import anywhere;
the transport itself is loaded on first access, as ``SmallWebRTCTransport`` is.
"""

from __future__ import annotations

from typing import Any

from .reconnect import ReconnectPolicy


def __getattr__(name: str) -> Any:
    if name == "WebSocketTransport":
        from .transport import WebSocketTransport

        return WebSocketTransport
    raise AttributeError(name)


__all__ = ["ReconnectPolicy", "WebSocketTransport"]
