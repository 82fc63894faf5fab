"""Transports. ``memory`` works everywhere; the browser ones import ``js`` lazily.

``SmallWebRTCTransport`` (``rtvi.transports.small_webrtc``) is loaded on first access so that
importing this package never touches browser modules.
"""

from __future__ import annotations

from typing import Any

from .memory import FakeBot, MemoryTransport


def __getattr__(name: str) -> Any:
    if name == "SmallWebRTCTransport":
        from .small_webrtc import SmallWebRTCTransport

        return SmallWebRTCTransport
    raise AttributeError(name)


__all__ = ["FakeBot", "MemoryTransport", "SmallWebRTCTransport"]
