"""The browser's WebRTC objects, reached through Pyodide's JS interop.

Small wrappers named after the objects they wrap and keeping the W3C method names
(``pc.createOffer()``, ``dc.readyState``), as aiortc does, so a reader who knows the browser API
knows this code. A wrapper has only W3C members (plus ``js``, the wrapped object, and
``listeners``); what the browser API lacks is a plainly named function beside them
(:func:`wait_ice_gathering`, :func:`inbound_packets`, :func:`max_message_size`). Everything here
runs only under Pyodide; ``js`` and ``pyodide`` are imported
lazily so that ``import rtvi`` keeps working in CPython.

Two interop rules are enforced in one place:

- A Python callable handed to JS must be a proxy made with ``create_proxy`` and later
  destroyed, or it either never fires (a borrowed proxy) or leaks. :class:`ProxyRegistry`
  creates and destroys them and counts the live ones (``live_proxies()``), so tests can prove
  that connect/disconnect cycles release everything.
- Python data handed to JS goes through :func:`to_js_object` (plain JS objects, and no hidden
  PyProxies for things that cannot be converted).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("rtvi.transports.webrtc")


# --- lazy access to the browser --------------------------------------------------------------


def js_global() -> Any:
    """The ``js`` module (the page's ``globalThis``); only importable under Pyodide."""
    import js

    return js


def _ffi() -> Any:
    import pyodide.ffi

    return pyodide.ffi


def js_value(value: Any) -> Any:
    """``value``, or ``None`` for JS ``null``/``undefined`` (Pyodide gives ``jsnull`` for null)."""
    if value is None or type(value).__name__ == "JsNull":
        return None
    return value


def js_error_text(exc: BaseException) -> str:
    """``"NotAllowedError: Permission denied"`` from a JS exception (or any exception)."""
    js_error = getattr(exc, "js_error", None)
    if js_error is not None:
        name = getattr(js_error, "name", "") or "Error"
        message = getattr(js_error, "message", "") or ""
        return f"{name}: {message}" if message else str(name)
    return str(exc) or type(exc).__name__


def to_js_object(value: Any) -> Any:
    """Python data (dicts, lists, str, numbers, JS objects) as plain JS objects and arrays."""
    ffi = _ffi()
    return ffi.to_js(value, dict_converter=js_global().Object.fromEntries, create_pyproxies=False)


def to_py(value: Any) -> Any:
    """A JS value as Python data (objects become dicts); ``None`` stays ``None``."""
    value = js_value(value)
    if value is None:
        return None
    converter = getattr(value, "to_py", None)
    return converter() if converter is not None else value


def now_ms() -> int:
    """``Date.now()``: wall-clock milliseconds (what the keepalive carries)."""
    return int(js_global().Date.now())


# --- proxies ---------------------------------------------------------------------------------


class ProxyRegistry:
    """Creates, destroys and counts the JS proxies of Python callables."""

    def __init__(self) -> None:
        self._live: dict[int, Any] = {}
        self.created = 0
        self.destroyed = 0

    @property
    def live(self) -> int:
        return len(self._live)

    def create(self, func: Callable[..., Any]) -> Any:
        proxy = _ffi().create_proxy(func)
        self._live[id(proxy)] = proxy
        self.created += 1
        return proxy

    def destroy(self, proxy: Any) -> None:
        if self._live.pop(id(proxy), None) is None:
            return
        self.destroyed += 1
        try:
            proxy.destroy()
        except Exception:  # already destroyed by someone else
            logger.debug("proxy was already destroyed", exc_info=True)


#: Every proxy the browser transport hands to JS goes through this registry.
PROXIES = ProxyRegistry()


def live_proxies() -> int:
    """How many JS proxies created by the transport are alive right now."""
    return PROXIES.live


def _guarded(handler: Callable[[Any], Any], what: str) -> Callable[[Any], None]:
    """A JS-called handler must not throw into the browser: log instead."""

    def call(event: Any = None) -> None:
        try:
            handler(event)
        except Exception:
            logger.exception("%s handler failed", what)

    return call


class Listeners:
    """Event listeners added to JS event targets, removed and released together."""

    def __init__(self, registry: ProxyRegistry = PROXIES) -> None:
        self._registry = registry
        self._added: list[tuple[Any, str, Any]] = []

    def __len__(self) -> int:
        return len(self._added)

    def add(self, target: Any, event: str, handler: Callable[[Any], Any]) -> None:
        proxy = self._registry.create(_guarded(handler, event))
        target.addEventListener(event, proxy)
        self._added.append((target, event, proxy))

    def clear(self) -> None:
        while self._added:
            target, event, proxy = self._added.pop()
            try:
                target.removeEventListener(event, proxy)
            except Exception:
                logger.debug("removeEventListener(%s) failed", event, exc_info=True)
            self._registry.destroy(proxy)


class EventTarget:
    """Base of the wrappers: the JS object (``js``) plus the listeners this wrapper added to it.

    ``addEventListener`` registers through :class:`Listeners`, so :meth:`close` of a wrapper
    removes and releases every handler it was given.
    """

    def __init__(self, target: Any) -> None:
        self.js = target
        self.listeners = Listeners()

    def addEventListener(self, type: str, listener: Callable[[Any], Any]) -> None:
        self.listeners.add(self.js, type, listener)


# --- WebRTC ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RTCSessionDescription:
    sdp: str
    type: str

    def toJSON(self) -> dict[str, str]:
        return {"sdp": self.sdp, "type": self.type}


def session_description(value: Any) -> RTCSessionDescription | None:
    """A JS ``RTCSessionDescription`` (or ``null``) as Python."""
    if js_value(value) is None:
        return None
    return RTCSessionDescription(sdp=str(value.sdp), type=str(value.type))


@dataclass(frozen=True)
class RTCIceCandidate:
    candidate: str
    sdpMid: str | None
    sdpMLineIndex: int | None


def ice_candidate(value: Any) -> RTCIceCandidate:
    """A JS ``RTCIceCandidate`` (e.g. ``event.candidate``) as Python."""
    mline = js_value(value.sdpMLineIndex)
    mid = js_value(value.sdpMid)
    return RTCIceCandidate(
        candidate=str(value.candidate),
        sdpMid=None if mid is None else str(mid),
        sdpMLineIndex=None if mline is None else int(mline),
    )


class RTCDataChannel(EventTarget):
    @property
    def readyState(self) -> str:
        return str(self.js.readyState)

    def send(self, data: str) -> None:
        self.js.send(data)

    def close(self) -> None:
        """Remove our listeners first: a channel we close ourselves fires no events at us."""
        self.listeners.clear()
        try:
            self.js.close()
        except Exception:
            logger.debug("data channel close failed", exc_info=True)


class RTCRtpSender:
    def __init__(self, sender: Any) -> None:
        self.js = sender

    async def replaceTrack(self, track: Any) -> None:
        await self.js.replaceTrack(track)


class RTCRtpTransceiver:
    def __init__(self, transceiver: Any) -> None:
        self.js = transceiver
        self.sender = RTCRtpSender(transceiver.sender)


class RTCPeerConnection(EventTarget):
    def __init__(self, ice_servers: Iterable[Mapping[str, Any]] = ()) -> None:
        config = to_js_object({"iceServers": [dict(s) for s in ice_servers]})
        super().__init__(js_global().RTCPeerConnection.new(config))

    # states
    @property
    def connectionState(self) -> str:
        return str(self.js.connectionState)

    @property
    def iceConnectionState(self) -> str:
        return str(self.js.iceConnectionState)

    @property
    def iceGatheringState(self) -> str:
        return str(self.js.iceGatheringState)

    @property
    def signalingState(self) -> str:
        return str(self.js.signalingState)

    @property
    def localDescription(self) -> RTCSessionDescription | None:
        return session_description(self.js.localDescription)

    # media and data
    def addTransceiver(self, kind: str, direction: str = "sendrecv") -> RTCRtpTransceiver:
        init = to_js_object({"direction": direction})
        return RTCRtpTransceiver(self.js.addTransceiver(kind, init))

    def createDataChannel(self, label: str, *, ordered: bool = True) -> RTCDataChannel:
        return RTCDataChannel(self.js.createDataChannel(label, to_js_object({"ordered": ordered})))

    # signalling
    async def createOffer(self) -> RTCSessionDescription:
        offer = session_description(await self.js.createOffer())
        assert offer is not None
        return offer

    async def setLocalDescription(self, description: RTCSessionDescription) -> None:
        await self.js.setLocalDescription(to_js_object(description.toJSON()))

    async def setRemoteDescription(self, description: RTCSessionDescription) -> None:
        await self.js.setRemoteDescription(to_js_object(description.toJSON()))

    def close(self) -> None:
        """Remove our listeners, then close (closing twice is harmless, as in the browser)."""
        self.listeners.clear()
        try:
            self.js.close()
        except Exception:
            logger.debug("peer connection close failed", exc_info=True)


# --- helpers on a peer connection (not part of the W3C API) ----------------------------------

_PACKETS_COUNTER = """
return pc.getStats().then((report) => {
  let packets = 0;
  report.forEach((stats) => {
    if (stats.type === "inbound-rtp" && stats.kind === kind) packets += stats.packetsReceived || 0;
  });
  return packets;
});
"""
_packets_counter_fn: Any = None


def _packets_counter() -> Any:
    global _packets_counter_fn
    if _packets_counter_fn is None:
        _packets_counter_fn = js_global().Function.new("pc", "kind", _PACKETS_COUNTER)
    return _packets_counter_fn


def max_message_size(pc: RTCPeerConnection) -> int | None:
    """``pc.sctp.maxMessageSize`` once the SCTP transport exists (after the answer)."""
    sctp = js_value(pc.js.sctp)
    if sctp is None:
        return None
    size = js_value(sctp.maxMessageSize)
    if size is None:
        return None
    size = float(size)
    # Infinity means "no limit announced"; keep a finite, conservative number.
    return int(size) if size == size and size not in (float("inf"), 0.0) else None


async def inbound_packets(pc: RTCPeerConnection, kind: str) -> int:
    """Packets received so far on the inbound RTP streams of ``kind`` (from ``getStats``).

    The report is summed in JS: only one number crosses into Python.
    """
    return int(await _packets_counter()(pc.js, kind))


async def wait_ice_gathering(pc: RTCPeerConnection, timeout: float) -> bool:
    """Wait until ICE gathering is ``complete``, at most ``timeout`` s; True if it completed.

    Polls the state (every 10 ms) rather than adding a listener: nothing to release, and
    a late ``complete`` cannot be missed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pc.iceGatheringState != "complete":
        if pc.signalingState == "closed" or loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True
