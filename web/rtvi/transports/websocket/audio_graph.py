"""The WebSocket transport's audio, kept out of Python: the worklet graph and the socket's router.

:class:`AudioGraph` is one ``AudioContext`` with the capture worklet (the mic in, protobuf audio
frames out at the bot's rate) and the player worklet (the bot's frames in, a track out, played in
an ``<audio>`` element). :class:`Router` is the JS function (:data:`.audio_js.ROUTER`) that sits
on one socket's messages: audio frames go between the socket and the worklets without Python;
everything else reaches Python through one callback. Per-sample and per-frame work lives in the
JS of :mod:`.audio_js`; this module only builds and releases the graph and the router.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._browser import (
    AudioContext,
    AudioNode,
    AudioWorkletNode,
    MediaStreamAudioDestinationNode,
    WebSocket,
    js_function,
    media_stream,
    module_url,
)
from .._interop import PROXIES, to_js_object
from .audio_js import CAPTURE_WORKLET, PLAYER_WORKLET, ROUTER

_module_urls: dict[str, str] = {}
_router_fn: Any = None


def _worklet_url(name: str, source: str) -> str:
    """A ``blob:`` URL for a worklet module, made once per page."""
    url = _module_urls.get(name)
    if url is None:
        url = _module_urls[name] = module_url(source)
    return url


@dataclass(frozen=True)
class AudioFormat:
    """What the mic is sent as (the bot's input rate) and how the bot's audio is buffered."""

    sample_rate: int = 16000
    frame_samples: int = 512
    jitter_ms: float = 60.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.frame_samples <= 0:
            raise ValueError("sample_rate and frame_samples must be positive")


def router_options(
    audio: AudioFormat, *, max_message: int, keepalive_interval: float
) -> dict[str, Any]:
    """The router's ``opts``: size limit, mic queue (5 s), keepalive (a silent 10 ms frame)."""
    return {
        "maxMessage": max_message,
        "queueFrames": max(1, int(5 * audio.sample_rate / audio.frame_samples)),
        "keepaliveMs": keepalive_interval * 1000,
        "keepaliveSamples": audio.sample_rate // 100,
        "sampleRate": audio.sample_rate,
    }


class AudioGraph:
    """One AudioContext with the capture and player worklets; the bot plays into an element."""

    def __init__(
        self,
        context: AudioContext,
        capture: AudioWorkletNode,
        player: AudioWorkletNode,
        destination: MediaStreamAudioDestinationNode,
    ) -> None:
        self.context = context
        self.capture = capture
        self.player = player
        self.destination = destination
        self.source: AudioNode | None = None  # the mic's MediaStreamSource → capture

    @classmethod
    async def build(cls, audio: AudioFormat) -> AudioGraph:
        """A running context with both worklets loaded and the player wired to a track."""
        context = AudioContext()
        try:
            if context.state == "suspended":
                await context.resume()
            await context.audioWorklet.addModule(_worklet_url("capture", CAPTURE_WORKLET))
            await context.audioWorklet.addModule(_worklet_url("player", PLAYER_WORKLET))
            capture = AudioWorkletNode(
                context,
                "pyrtvi-capture",
                {
                    "numberOfInputs": 1,
                    "numberOfOutputs": 0,
                    "channelCount": 1,
                    "channelCountMode": "explicit",
                    "processorOptions": {
                        "sampleRate": audio.sample_rate,
                        "frameSamples": audio.frame_samples,
                    },
                },
            )
            player = AudioWorkletNode(
                context,
                "pyrtvi-player",
                {
                    "numberOfInputs": 0,
                    "numberOfOutputs": 1,
                    "outputChannelCount": [1],
                    "processorOptions": {"jitterMs": audio.jitter_ms},
                },
            )
            destination = context.createMediaStreamDestination()
            player.connect(destination)
        except BaseException:
            with contextlib.suppress(Exception):
                await context.close()
            raise
        return cls(context, capture, player, destination)

    @property
    def bot_track(self) -> Any:
        """The bot's audio as a ``MediaStreamTrack`` (the player's output)."""
        return self.destination.stream.getAudioTracks()[0]

    def attach_mic(self, track: Any) -> None:
        """Send ``track`` (or nothing, for ``None``) into the capture worklet."""
        if self.source is not None:
            with contextlib.suppress(Exception):
                self.source.disconnect()
            self.source = None
        if track is not None:
            self.source = self.context.createMediaStreamSource(media_stream(track))
            self.source.connect(self.capture)

    async def close(self) -> None:
        self.attach_mic(None)
        for node in (self.capture, self.player):
            with contextlib.suppress(Exception):
                node.port.close()
            with contextlib.suppress(Exception):
                node.disconnect()
        with contextlib.suppress(Exception):
            await self.context.close()


def _router() -> Any:
    global _router_fn
    if _router_fn is None:
        _router_fn = js_function("ws", "capturePort", "playerPort", "onFrame", "opts", ROUTER)
    return _router_fn


class Router:
    """The JS router on one open socket; ``on_frame(kind, data)`` gets what is not audio.

    ``kind`` is ``"message"`` (an RTVI message's JSON text, out of its ``MessageFrame``),
    ``"frame"`` (any other frame's bytes, a JS ``Uint8Array``), ``"text"`` (a text message) or
    ``"oversize"`` (``data``: its size). Mic frames queue until :meth:`set_ready`.
    """

    def __init__(
        self,
        ws: WebSocket,
        graph: AudioGraph,
        on_frame: Callable[[str, Any], None],
        options: dict[str, Any],
    ) -> None:
        self._on_frame = PROXIES.create(on_frame)
        self.js = _router()(
            ws.js, graph.capture.port, graph.player.port, self._on_frame, to_js_object(options)
        )

    def set_ready(self) -> None:
        self.js.setReady(True)

    def flush(self) -> None:
        """Drop the bot audio queued in the player now."""
        self.js.flush()

    def set_quiet(self, types: Iterable[str]) -> None:
        """RTVI message types to drop in JS, unread (see ``Transport.set_unheard_events``)."""
        self.js.setQuiet(to_js_object(sorted(types)))

    def stats(self) -> dict[str, Any]:
        return dict(json.loads(str(self.js.stats())))

    def dispose(self) -> None:
        """Stop routing and release the Python callback."""
        self.js.dispose()
        PROXIES.destroy(self._on_frame)
