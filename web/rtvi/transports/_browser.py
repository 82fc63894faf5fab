"""The browser's objects (WebRTC, WebSocket, Web Audio), reached through Pyodide's JS interop.

Small wrappers named after the objects they wrap and keeping the W3C method names
(``pc.createOffer()``, ``dc.readyState``, ``ws.send()``), as aiortc does, so a reader who knows
the browser API knows this code. A wrapper has only W3C members (plus ``js``, the wrapped
object, and ``listeners``); what the browser API lacks is a plainly named function beside them
(:func:`wait_ice_gathering`, :func:`inbound_packets`, :func:`max_message_size`). This is the one
module that constructs browser objects (``X.new(...)``). Everything here runs only under
Pyodide; the interop rules (proxies, conversions) are :mod:`._interop`'s, re-exported here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Re-exported: pages and tests count the live proxies here (``_browser.live_proxies()``).
from ._interop import PROXIES as PROXIES
from ._interop import Listeners, js_global, js_value, to_js_object
from ._interop import live_proxies as live_proxies

logger = logging.getLogger("rtvi.transports.webrtc")


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

    async def setLocalDescription(self, description: RTCSessionDescription | None = None) -> None:
        """``None``: the browser makes the description itself (an offer in ``stable``), with
        no SDP carried through Python and back."""
        if description is None:
            await self.js.setLocalDescription()
        else:
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
        _packets_counter_fn = js_function("pc", "kind", _PACKETS_COUNTER)
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


# --- WebSocket -------------------------------------------------------------------------------


class WebSocket(EventTarget):
    CONNECTING = 0
    OPEN = 1

    def __init__(self, url: str) -> None:
        super().__init__(js_global().WebSocket.new(url))

    @property
    def url(self) -> str:
        return str(self.js.url)

    @property
    def readyState(self) -> int:
        return int(self.js.readyState)

    def send(self, data: bytes | str) -> None:
        """Text as a text message; bytes as one binary message (copied into JS)."""
        self.js.send(data if isinstance(data, str) else to_js_object(data))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Remove our listeners, then close (a socket we close fires no events at us)."""
        self.listeners.clear()
        try:
            self.js.close(code, reason)
        except Exception:
            logger.debug("WebSocket close failed", exc_info=True)


# --- Media Capture and Web Audio --------------------------------------------------------------


def media_stream(*tracks: Any) -> Any:
    """``new MediaStream(tracks)`` (``None`` tracks are left out)."""
    return js_global().MediaStream.new(to_js_object([t for t in tracks if t is not None]))


class AudioNode:
    def __init__(self, node: Any) -> None:
        self.js = node

    def connect(self, destination: AudioNode) -> None:
        self.js.connect(destination.js)

    def disconnect(self) -> None:
        self.js.disconnect()


class AudioWorkletNode(AudioNode):
    def __init__(self, context: AudioContext, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(js_global().AudioWorkletNode.new(context.js, name, to_js_object(options)))
        self.port = self.js.port  # a MessagePort


class MediaStreamAudioDestinationNode(AudioNode):
    @property
    def stream(self) -> Any:
        return self.js.stream


class AnalyserNode(AudioNode):
    @property
    def fftSize(self) -> int:
        return int(self.js.fftSize)

    @fftSize.setter
    def fftSize(self, size: int) -> None:
        self.js.fftSize = size


class AudioContext:
    """``new AudioContext()``."""

    def __init__(self) -> None:
        self.js = js_global().AudioContext.new()

    @property
    def audioWorklet(self) -> Any:
        """The browser's ``AudioWorklet`` (absent outside a secure context)."""
        return self.js.audioWorklet

    @property
    def state(self) -> str:
        return str(self.js.state)

    @property
    def currentTime(self) -> float:
        return float(self.js.currentTime)

    async def resume(self) -> None:
        await self.js.resume()

    async def close(self) -> None:
        await self.js.close()

    def createMediaStreamSource(self, stream: Any) -> AudioNode:
        return AudioNode(self.js.createMediaStreamSource(stream))

    def createMediaStreamDestination(self) -> MediaStreamAudioDestinationNode:
        return MediaStreamAudioDestinationNode(self.js.createMediaStreamDestination())

    def createAnalyser(self) -> AnalyserNode:
        return AnalyserNode(self.js.createAnalyser())


# --- code made at run time ---------------------------------------------------------------------


def js_function(*params_and_body: str) -> Any:
    """``new Function(...params, body)``: JS that keeps per-sample work out of Python."""
    return js_global().Function.new(*params_and_body)


def module_url(source: str) -> str:
    """A ``blob:`` URL of JavaScript ``source`` (an AudioWorklet module)."""
    js = js_global()
    blob = js.Blob.new(to_js_object([source]), to_js_object({"type": "text/javascript"}))
    return str(js.URL.createObjectURL(blob))


# --- fetch (for ``rtvi.http.fetch``) -----------------------------------------------------------


def TextDecoder(label: str = "utf-8") -> Any:
    """``new TextDecoder(label)``."""
    return js_global().TextDecoder.new(label)


def AbortController() -> Any:
    """``new AbortController()``."""
    return js_global().AbortController.new()
