"""``WebSocketTransport``: Pipecat's protobuf WebSocket (its ``/ws`` or the runner's ``/ws-client``).

Every message is one protobuf ``pipecat.Frame`` (PROTOCOL §9). RTVI messages travel as
``MessageFrame`` and are encoded and decoded by :mod:`.protobuf`; audio never passes through
Python (:mod:`.audio_graph`): a capture worklet turns the mic into ``Frame{audio}`` at the bot's
input rate (16 kHz mono by default), and the router hands the bot's audio frames straight to a
player worklet, which plays each at its own ``sample_rate`` from a small jitter buffer into an
``<audio>`` element (so ``setSinkId`` picks the speaker). Both queue until ``ready``.

Interruptions: on ``bot-interrupted`` or ``user-started-speaking`` (and on pipecat 1.x's
``InterruptionFrame``, flushed in JS, which keeps it from Python) the player drops its queue at
once: a bot sends audio faster than real time, so without this the page plays on for seconds.

The package, one concept per module: :mod:`.target` (bundle → URL, pure), :mod:`.audio_graph`
(the worklets and the router), :mod:`.socket` (one connect()'s socket and its reconnects),
:mod:`.protobuf` (the frame codec, pure), :mod:`.audio_js` (the JavaScript). Shared with
WebRTC: the lifecycle (:mod:`~rtvi.transports.lifecycle`), the mic
(:mod:`~rtvi.transports.devices`), the bot's element and the levels
(:mod:`~rtvi.transports.bot_media`). This module wires them and turns inbound frames into
RTVI messages. Camera and screen share raise :class:`~rtvi.errors.UnsupportedFeatureError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import MessageTooLargeError, TransportNotConnectedError, UnsupportedFeatureError
from ...events import RTVIEvent
from ...messages import RTVIMessage
from ...routing import quiet_types
from ...state import TransportState
from ...transport import BotTracks, LocalTracks, Tracks, transport_error
from .._browser import WebSocket
from .._interop import js_global
from ..browser_transport import BrowserTransport
from ..reconnect import ReconnectPolicy
from .audio_graph import AudioFormat, AudioGraph, Router, router_options
from .protobuf import (
    FrameDecodeError,
    InterruptionFrame,
    MessageFrame,
    TextFrame,
    TranscriptionFrame,
    decode_frame,
    encode_frame,
)
from .socket import SocketEvents, SocketSession
from .target import NoWebSocketURLError, resolve_ws_url

logger = logging.getLogger("rtvi.transports.websocket")

#: The JS websocket-transport's limit, and the embedded bot's.
DEFAULT_MAX_MESSAGE = 1 << 20
#: RTVI messages after which queued bot audio is stale.
FLUSH_ON = frozenset({"bot-interrupted", "user-started-speaking"})

__all__ = [
    "DEFAULT_MAX_MESSAGE",
    "FLUSH_ON",
    "NoWebSocketURLError",
    "TransportNotConnectedError",
    "WebSocketTransport",
]


class WebSocketTransport(BrowserTransport[SocketSession]):
    """Pipecat's WebSocket transport (protobuf frames), in the browser (Pyodide).

    Options (all keyword):

    - ``ws_url``: the socket URL when the auth bundle has none (a direct connect); ``token``:
      added to it as the ``token`` query parameter when the bundle has none (client-js).
    - ``sample_rate`` (16000) and ``frame_samples`` (512): what the mic is sent as (the bot's
      input rate; pipecat's default is 16 kHz).
    - ``jitter_ms`` (60): bot audio buffered before playing starts (and after an underrun).
    - ``audio_element``: where the bot plays (element or CSS selector); by default a hidden
      ``<audio>`` is created and removed on disconnect.
    - ``audio_source``: a ``MediaStreamTrack`` sent instead of opening the microphone (e.g. a
      :class:`~rtvi.transports.virtual_mic.VirtualMic`'s track); see :meth:`set_audio_source`.
    - ``max_message_size`` (1 MiB): larger messages are refused (sent) or dropped (received).
    - ``reconnect``: a :class:`~rtvi.transports.reconnect.ReconnectPolicy` (default 3 attempts,
      0.5 s doubling up to 4 s).
    - ``open_timeout`` (10 s), ``keepalive_interval`` (5 s: a silent frame when nothing else
      was sent), ``audio_level_interval`` (0.1 s), ``flush_on`` (RTVI message types that
      drop queued bot audio).
    """

    pipe_name = "WebSocket"

    def __init__(
        self,
        *,
        ws_url: str | None = None,
        sample_rate: int = 16000,
        frame_samples: int = 512,
        jitter_ms: float = 60.0,
        audio_element: Any = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE,
        reconnect: ReconnectPolicy | None = None,
        open_timeout: float = 10.0,
        keepalive_interval: float = 5.0,
        audio_level_interval: float = 0.1,
        flush_on: Iterable[str] = FLUSH_ON,
        audio_source: Any = None,
        token: str | None = None,
    ) -> None:
        super().__init__(
            logger,
            kinds=("audio",),
            audio_element=audio_element,
            audio_level_interval=audio_level_interval,
            audio_source=audio_source,
        )
        AudioFormat(sample_rate, frame_samples, jitter_ms)  # checks the numbers
        self.ws_url = ws_url
        self.token = token
        self.sample_rate = sample_rate
        self.frame_samples = frame_samples
        self.jitter_ms = jitter_ms
        self._max_message_size = max_message_size
        self.reconnect_policy = reconnect or ReconnectPolicy(delay=0.5, max_delay=4.0)
        self.open_timeout = open_timeout
        self.keepalive_interval = keepalive_interval
        self.flush_on = frozenset(flush_on)
        self._graph: AudioGraph | None = None
        self._events = SocketEvents(wire=self._wire, give_up=self._give_up)
        #: Flushes of queued bot audio caused by RTVI messages (by type).
        self.flushes: dict[str, int] = {}

    # --- public extras ----------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        return self._session.url if self._session else None

    @property
    def websocket(self) -> Any:
        """The browser ``WebSocket`` of the current session, or ``None``."""
        session = self._session
        return session.ws.js if session and session.ws else None

    def audio_stats(self) -> dict[str, Any]:
        """The player's counters (samples played/dropped, flushes, frames, last rate, energy)
        and the router's (frames sent, mic frames queued, oversize drops, ``quiet`` messages
        dropped unread, ``interruptions``: pipecat 1.x ``InterruptionFrame`` frames, handled in JS);
        ``{}`` when idle."""
        session = self._session
        router = session.router if session is not None else None
        return router.stats() if router is not None else {}

    def flush_bot_audio(self) -> None:
        """Drop the bot audio queued in the player now."""
        session = self._session
        if session is not None and session.router is not None:
            session.router.flush()

    def resolve_url(self, auth_bundle: Any) -> str:
        """The socket URL from the bundle (``ws_url``/``wsUrl``, ``token``) or the option."""
        base = self.options.params.base_url if self._options is not None else None
        if not base:
            with contextlib.suppress(Exception):
                base = str(js_global().location.href)
        if self.token and not (isinstance(auth_bundle, Mapping) and auth_bundle.get("token")):
            auth_bundle = {
                **(auth_bundle if isinstance(auth_bundle, Mapping) else {}),
                "token": self.token,
            }
        return resolve_ws_url(auth_bundle, option=self.ws_url, base=base)

    # --- lifecycle (the rest is SessionTransport's) -----------------------------------------

    def _new_session(self, auth_bundle: Any) -> SocketSession:
        return SocketSession(
            self.resolve_url(auth_bundle),
            self._events,
            policy=self.reconnect_policy,
            open_timeout=self.open_timeout,
            max_message_size=self.max_message_size,
        )

    async def _open(self, session: SocketSession) -> None:
        if self._graph is None:
            self._graph = await AudioGraph.build(
                AudioFormat(self.sample_rate, self.frame_samples, self.jitter_ms)
            )
            self._graph.attach_mic(self._devices.track("audio"))
        self._media.play(self._graph.bot_track)
        await session.open()

    def _connected(self, session: SocketSession) -> None:
        if self._media.audio is not None:
            self.callbacks.on_track_started(self._media.audio, session.bot)

    async def send_ready_message(self, message: RTVIMessage) -> None:
        session = self._session
        if session is None:
            raise TransportNotConnectedError("The WebSocket is not open")
        session.send_ready(message)
        self.state = TransportState.READY

    def send_message(self, message: RTVIMessage) -> None:
        session = self._session
        if session is None:
            raise TransportNotConnectedError("The WebSocket is not open")
        session.send(message)

    def send_raw_message(self, message: Any) -> None:
        """client-js ``sendRawMessage``: any JSON-serializable object, sent as it is (a
        protobuf ``MessageFrame``, no RTVI envelope added or checked); refused when the socket
        is closed or the frame is over ``max_message_size``."""
        session = self._session
        ws = session.ws if session is not None else None
        if session is None or ws is None or not session.is_open:
            raise TransportNotConnectedError("The WebSocket is not open")
        data = encode_frame(MessageFrame(json.dumps(message)))
        if len(data) > self.max_message_size:
            raise MessageTooLargeError(len(data), self.max_message_size)
        ws.send(data)

    @property
    def max_message_size(self) -> int:
        return self._max_message_size

    def set_unheard_events(self, events: frozenset[RTVIEvent]) -> None:
        """Also: the messages that would fire nothing but these are dropped by the router, in
        JS, before Python (never those of ``flush_on``: they flush the player)."""
        super().set_unheard_events(events)
        session = self._session
        if session is not None and session.router is not None:
            session.router.set_quiet(self._quiet_types())

    def _quiet_types(self) -> frozenset[str]:
        return quiet_types(self._unheard_events) - self.flush_on

    async def _close_session(self, session: SocketSession) -> None:
        session.close()
        graph, self._graph = self._graph, None
        self._stop_bot_media(session)
        if graph is not None:
            await graph.close()
        await session.tasks.wait()

    # --- devices ----------------------------------------------------------------------------

    async def update_cam(self, device_id: str) -> None:
        raise UnsupportedFeatureError("camera", type(self).__name__, "WebSocket carries no video")

    def enable_cam(self, enable: bool) -> None:
        if enable:
            raise UnsupportedFeatureError(
                "camera", type(self).__name__, "WebSocket carries no video"
            )
        super().enable_cam(False)

    def enable_screen_share(self, enable: bool) -> None:
        raise UnsupportedFeatureError("screen share", type(self).__name__)

    def tracks(self) -> Tracks:
        bot = self._media.audio
        return Tracks(
            local=LocalTracks(audio=self._devices.track("audio")),
            bot=BotTracks(audio=bot) if self._session and bot is not None else None,
        )

    async def _attach_track(self, kind: str, track: Any) -> bool:
        if self._graph is None:
            return False
        self._graph.attach_mic(track)
        return True

    # --- inbound ----------------------------------------------------------------------------

    def _wire(self, session: SocketSession, ws: WebSocket) -> Router:
        assert self._graph is not None
        options = router_options(
            AudioFormat(self.sample_rate, self.frame_samples, self.jitter_ms),
            max_message=self.max_message_size,
            keepalive_interval=self.keepalive_interval,
        )
        router = Router(
            ws, self._graph, lambda kind, data: self._on_frame(session, kind, data), options
        )
        router.set_quiet(self._quiet_types())
        return router

    def _on_frame(self, session: SocketSession, kind: str, data: Any) -> None:
        if session.closed:
            return
        if kind == "message":  # an RTVI message's JSON text, read from its frame by the router
            self._on_message(session, data)
            return
        if kind == "oversize":
            text = f"dropped a {int(data)}-byte message (limit {self.max_message_size})"
            logger.warning(text)
            self.callbacks.on_error(transport_error(text))
            return
        if kind == "text":
            logger.warning("ignored a text message: the bot should send protobuf frames")
            return
        try:
            frame = decode_frame(data.to_bytes())
        except FrameDecodeError as exc:
            logger.warning("ignored a bad frame from the bot: %s", exc)
            self.callbacks.on_error(transport_error(f"bad frame from the bot: {exc}"))
            return
        if isinstance(frame, MessageFrame):
            self._on_message(session, frame.data)
        elif isinstance(frame, InterruptionFrame):
            logger.debug("bot interrupted: queued bot audio dropped")
        elif isinstance(frame, TextFrame | TranscriptionFrame):
            logger.debug("ignored a %s from the bot", type(frame).__name__)

    def _on_message(self, session: SocketSession, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self.deliver(text)  # the client reports malformed messages
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind in self.flush_on and session.router is not None:
            session.router.flush()
            self.flushes[kind] = self.flushes.get(kind, 0) + 1
        self.deliver(message)
