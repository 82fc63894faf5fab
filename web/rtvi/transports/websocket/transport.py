"""``WebSocketTransport``: Pipecat's protobuf WebSocket (its ``/ws`` or the runner's ``/ws-client``).

Every message is one protobuf ``pipecat.Frame`` (PROTOCOL §9). RTVI messages travel as
``MessageFrame`` and are encoded and decoded here by :mod:`.protobuf`; audio never passes through
Python (see :mod:`.audio_js`): a capture worklet turns the mic into ``Frame{audio}`` at the bot's
input rate (16 kHz mono by default), and the router hands the bot's audio frames straight to a
player worklet, which plays each at its own ``sample_rate`` from a small jitter buffer into an
``<audio>`` element (so ``setSinkId`` picks the speaker). Both queue until ``ready``.

Interruptions: on ``bot-interrupted`` or ``user-started-speaking`` (and on pipecat 1.x's
``InterruptionFrame``, flushed in JS before Python sees it) the player drops its queue at once:
a bot sends audio faster than real time, so without this the page plays on for seconds.

The URL comes from the auth bundle (``ws_url``/``wsUrl``, with ``token`` appended as a query
parameter when given) or the ``ws_url`` option; a relative URL is resolved against the client's
``base_url`` (else the page). A lost socket is reopened under a :class:`ReconnectPolicy` (a new
bot pipeline: ``client-ready`` is sent again); when it gives up, a fatal ``error`` and disconnect.
Camera and screen share raise :class:`~rtvi.errors.UnsupportedFeatureError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from ...abort import AbortSignal
from ...errors import (
    AbortError,
    MessageTooLargeError,
    RTVIError,
    TransportStartError,
    UnsupportedFeatureError,
)
from ...messages import RTVIMessage
from ...state import TransportState
from ...transport import (
    BotTracks,
    DeviceInfo,
    LocalTracks,
    Participant,
    Tracks,
    Transport,
    transport_error,
)
from .._browser import PROXIES, Listeners, js_error_text, js_global, to_js_object
from ..common import open_or_abort, report_device_lists, report_levels, switch_speaker
from ..media import (
    AudioLevels,
    DeviceWatcher,
    LocalMedia,
    MediaElement,
    enumerate_devices,
    media_stream,
    track_device_id,
)
from ..reconnect import ReconnectAttempts, ReconnectPolicy, reconnect
from ..tasks import TaskSet
from .audio_js import CAPTURE_WORKLET, PLAYER_WORKLET, ROUTER
from .protobuf import (
    FrameDecodeError,
    InterruptionFrame,
    MessageFrame,
    TextFrame,
    TranscriptionFrame,
    decode_frame,
    encode_frame,
)

logger = logging.getLogger("rtvi.transports.websocket")

#: The JS websocket-transport's limit, and the embedded bot's.
DEFAULT_MAX_MESSAGE = 1 << 20
#: RTVI messages after which queued bot audio is stale.
FLUSH_ON = frozenset({"bot-interrupted", "user-started-speaking"})
_LOCAL = Participant(id="local", name="local", local=True)
_OPEN = 1  # WebSocket.OPEN


class TransportNotConnectedError(RTVIError):
    """A message was sent while the socket is not open (e.g. during a reconnect)."""

    default_message = "The WebSocket is not open"


class NoWebSocketURLError(TransportStartError):
    """The connect reply has no ``ws_url``/``wsUrl`` and no ``ws_url`` option is set: the
    server offers no WebSocket for this session (e.g. it only speaks WebRTC)."""

    default_message = (
        "no WebSocket URL: the connect reply has no 'ws_url' and no ws_url option is set"
    )


@dataclass(eq=False)
class _Session:
    """Everything one connect() opened; closed as a whole by disconnect()."""

    url: str
    ws: Any = None
    router: Any = None
    on_frame: Any = None  # the one Python proxy the router calls
    listeners: Listeners = field(default_factory=Listeners)
    tasks: TaskSet = field(default_factory=lambda: TaskSet(logger))
    opened: asyncio.Future[None] | None = None
    ready_message: RTVIMessage | None = None
    reconnecting: bool = False
    bot: Participant = field(default_factory=lambda: Participant(id="bot", name="bot"))
    bot_left: bool = False
    closed: bool = False


class _Audio:
    """One AudioContext with the capture and player worklets; the bot plays into an element."""

    def __init__(self, context: Any, capture: Any, player: Any, destination: Any) -> None:
        self.context = context
        self.capture = capture
        self.player = player
        self.destination = destination
        self.source: Any = None  # the mic's MediaStreamSource → capture

    @property
    def bot_track(self) -> Any:
        return self.destination.stream.getAudioTracks()[0]

    def attach_mic(self, track: Any) -> None:
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


_module_urls: dict[str, str] = {}
_router_fn: Any = None


def _module_url(name: str, source: str) -> str:
    """A ``blob:`` URL for a worklet module, made once per page."""
    url = _module_urls.get(name)
    if url is None:
        js = js_global()
        blob = js.Blob.new(to_js_object([source]), to_js_object({"type": "text/javascript"}))
        url = str(js.URL.createObjectURL(blob))
        _module_urls[name] = url
    return url


def _router() -> Any:
    global _router_fn
    if _router_fn is None:
        _router_fn = js_global().Function.new(
            "ws", "capturePort", "playerPort", "onFrame", "opts", ROUTER
        )
    return _router_fn


class WebSocketTransport(Transport):
    """Pipecat's WebSocket transport (protobuf frames), in the browser (Pyodide).

    Options (all keyword):

    - ``ws_url``: the socket URL when the auth bundle has none (a direct connect).
    - ``sample_rate`` (16000) and ``frame_samples`` (512): what the mic is sent as (the bot's
      input rate; pipecat's default is 16 kHz).
    - ``jitter_ms`` (60): bot audio buffered before playing starts (and after an underrun).
    - ``audio_element``: where the bot plays (element or CSS selector); by default a hidden
      ``<audio>`` is created and removed on disconnect.
    - ``max_message_size`` (1 MiB): larger messages are refused (sent) or dropped (received).
    - ``reconnect``: a :class:`~rtvi.transports.reconnect.ReconnectPolicy` (default 3 attempts,
      0.5 s doubling up to 4 s).
    - ``open_timeout`` (10 s), ``keepalive_interval`` (5 s: a silent frame when nothing else
      was sent), ``audio_level_interval`` (0.1 s), ``flush_on`` (RTVI message types that
      drop queued bot audio).
    """

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
    ) -> None:
        super().__init__()
        if sample_rate <= 0 or frame_samples <= 0:
            raise ValueError("sample_rate and frame_samples must be positive")
        self.ws_url = ws_url
        self.sample_rate = sample_rate
        self.frame_samples = frame_samples
        self.jitter_ms = jitter_ms
        self._max_message_size = max_message_size
        self.reconnect_policy = reconnect or ReconnectPolicy(delay=0.5, max_delay=4.0)
        self._attempts = ReconnectAttempts(self.reconnect_policy)
        self.open_timeout = open_timeout
        self.keepalive_interval = keepalive_interval
        self.audio_level_interval = audio_level_interval
        self.flush_on = frozenset(flush_on)
        self._audio_element_option = audio_element
        self._session: _Session | None = None
        self._speaker_id: str | None = None
        self._local: Any = None  # media.LocalMedia
        self._devices: Any = None  # media.DeviceWatcher
        self._element: Any = None  # media.MediaElement
        self._audio: _Audio | None = None
        self._levels: Any = None  # media.AudioLevels
        self._level_values: dict[str, float] = {}
        self._background = TaskSet(logger)
        #: Flushes of queued bot audio caused by RTVI messages (by type).
        self.flushes: dict[str, int] = {}

    # --- public extras ----------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        return self._session.url if self._session else None

    @property
    def websocket(self) -> Any:
        """The browser ``WebSocket`` of the current session, or ``None``."""
        return self._session.ws if self._session else None

    @property
    def audio_element(self) -> Any:
        return self._bot_element().element

    @property
    def local_audio_level(self) -> float:
        return self._level_values.get("local", 0.0)

    @property
    def bot_audio_level(self) -> float:
        return self._level_values.get("bot", 0.0)

    def audio_stats(self) -> dict[str, Any]:
        """The player's counters (samples played/dropped, flushes, frames, last rate, energy)
        and the router's (frames sent, mic frames queued, oversize drops); ``{}`` when idle."""
        session = self._session
        if session is None or session.router is None:
            return {}
        return dict(json.loads(str(session.router.stats())))

    def flush_bot_audio(self) -> None:
        """Drop the bot audio queued in the player now."""
        session = self._session
        if session is not None and session.router is not None:
            session.router.flush()

    # --- lifecycle --------------------------------------------------------------------------

    async def init_devices(self) -> None:
        self.state = TransportState.INITIALIZING
        if self._local is None:
            self._local = LocalMedia()
        if self.is_mic_enabled and self._local.mic is None:
            await self._acquire_mic()
        if self._devices is None:
            self._devices = DeviceWatcher(self._on_device_change)
        self._devices.start()
        await self._report_devices()
        self.state = TransportState.INITIALIZED

    async def connect(self, auth_bundle: Any, abort: AbortSignal) -> None:
        if self._session is not None:
            raise TransportStartError("already connected: disconnect() first")
        url = self.resolve_url(auth_bundle)
        self.state = TransportState.CONNECTING
        session = _Session(url)
        self._session = session
        self._attempts = ReconnectAttempts(self.reconnect_policy)
        await open_or_abort(
            self._open(session),
            abort,
            cleanup=lambda: self._forget_session(session),
            what="WebSocket",
            describe=js_error_text,
        )
        if self._session is not session:
            raise AbortError()
        self._start_task(session, self._report_levels(session))
        self.state = TransportState.CONNECTED
        self.callbacks.on_connected()
        self.callbacks.on_bot_connected(session.bot)
        if self._audio is not None:
            self.callbacks.on_track_started(self._audio.bot_track, session.bot)

    async def send_ready_message(self, message: RTVIMessage) -> None:
        session = self._session
        if session is not None:
            session.ready_message = message
        self.send_message(message)
        if session is not None and session.router is not None:
            session.router.setReady(True)
        self.state = TransportState.READY

    async def disconnect(self) -> None:
        session, self._session = self._session, None
        if session is None and self.state in (
            TransportState.DISCONNECTED,
            TransportState.DISCONNECTING,
        ):
            self._release_devices()
            return
        self.state = TransportState.DISCONNECTING
        if session is not None:
            await self._close_session(session)
        self._release_devices()
        self.state = TransportState.DISCONNECTED
        self.callbacks.on_disconnected()

    def send_message(self, message: RTVIMessage) -> None:
        session = self._session
        ws = session.ws if session else None
        if ws is None or int(ws.readyState) != _OPEN:
            raise TransportNotConnectedError()
        data = encode_frame(MessageFrame(message.to_json()))
        if len(data) > self.max_message_size:
            raise MessageTooLargeError(len(data), self.max_message_size)
        ws.send(to_js_object(data))

    @property
    def max_message_size(self) -> int:
        return self._max_message_size

    # --- devices ----------------------------------------------------------------------------

    async def get_all_mics(self) -> list[DeviceInfo]:
        return await enumerate_devices("audioinput")

    async def get_all_speakers(self) -> list[DeviceInfo]:
        return await enumerate_devices("audiooutput")

    async def update_mic(self, device_id: str) -> None:
        if self._local is None:
            self._local = LocalMedia()
        await self._acquire_mic(device_id)
        self.callbacks.on_mic_updated(self.selected_mic or DeviceInfo(device_id=device_id))

    async def update_cam(self, device_id: str) -> None:
        raise UnsupportedFeatureError("camera", type(self).__name__, "WebSocket carries no video")

    async def update_speaker(self, device_id: str) -> None:
        await switch_speaker(
            self._set_sink, enumerate_devices, self.callbacks, device_id, type(self).__name__
        )

    async def _set_sink(self, device_id: str) -> None:
        await self._bot_element().set_sink_id(device_id)
        self._speaker_id = device_id

    @property
    def selected_mic(self) -> DeviceInfo | None:
        track = self._local.mic if self._local is not None else None
        device_id = track_device_id(track)
        if track is None or device_id is None:
            return None
        return DeviceInfo(device_id=device_id, label=str(track.label), kind="audioinput")

    @property
    def selected_speaker(self) -> DeviceInfo | None:
        if self._speaker_id is None:
            return None
        return DeviceInfo(device_id=self._speaker_id, kind="audiooutput")

    def enable_mic(self, enable: bool) -> None:
        super().enable_mic(enable)
        if self._local is None:
            return
        if self._local.mic is not None:
            self._local.set_enabled("audio", enable)  # a muted track: the bot hears silence
        elif enable and self.state not in (
            TransportState.DISCONNECTED,
            TransportState.DISCONNECTING,
        ):
            self._start_background(self._acquire_quietly())

    def enable_cam(self, enable: bool) -> None:
        if enable:
            raise UnsupportedFeatureError(
                "camera", type(self).__name__, "WebSocket carries no video"
            )
        super().enable_cam(False)

    def enable_screen_share(self, enable: bool) -> None:
        raise UnsupportedFeatureError("screen share", type(self).__name__)

    def tracks(self) -> Tracks:
        local = self._local
        audio = self._audio
        bot = BotTracks(audio=audio.bot_track) if self._session and audio else None
        return Tracks(local=LocalTracks(audio=local.mic if local else None), bot=bot)

    # --- connection target ------------------------------------------------------------------

    def resolve_url(self, auth_bundle: Any) -> str:
        """The socket URL from the bundle (``ws_url``/``wsUrl``, ``token``) or the option."""
        bundle: Mapping[str, Any] = auth_bundle if isinstance(auth_bundle, Mapping) else {}
        url = next((bundle[k] for k in ("ws_url", "wsUrl") if bundle.get(k)), None) or self.ws_url
        if not url or not isinstance(url, str):
            raise NoWebSocketURLError()
        base = self.options.params.base_url if self._options is not None else None
        if not base:
            with contextlib.suppress(Exception):
                base = str(js_global().location.href)
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        if scheme not in ("ws", "wss"):
            raise TransportStartError(f"not a WebSocket URL: {url!r}")
        query = parts.query
        token = bundle.get("token")
        if isinstance(token, str) and token:
            query = (
                f"{query}&{urlencode({'token': token})}" if query else urlencode({"token": token})
            )
        return urlunsplit((scheme, parts.netloc, parts.path, query, parts.fragment))

    # --- opening ----------------------------------------------------------------------------

    async def _open(self, session: _Session) -> None:
        if self._audio is None:
            self._audio = await self._build_audio()
        self._bot_element().play(media_stream(self._audio.bot_track))
        self._level_meters().watch("bot", self._audio.bot_track)
        await self._open_socket(session)

    async def _build_audio(self) -> _Audio:
        js = js_global()
        context = js.AudioContext.new()
        try:
            if str(context.state) == "suspended":
                await context.resume()
            await context.audioWorklet.addModule(_module_url("capture", CAPTURE_WORKLET))
            await context.audioWorklet.addModule(_module_url("player", PLAYER_WORKLET))
            capture = js.AudioWorkletNode.new(
                context,
                "pyrtvi-capture",
                to_js_object(
                    {
                        "numberOfInputs": 1,
                        "numberOfOutputs": 0,
                        "channelCount": 1,
                        "channelCountMode": "explicit",
                        "processorOptions": {
                            "sampleRate": self.sample_rate,
                            "frameSamples": self.frame_samples,
                        },
                    }
                ),
            )
            player = js.AudioWorkletNode.new(
                context,
                "pyrtvi-player",
                to_js_object(
                    {
                        "numberOfInputs": 0,
                        "numberOfOutputs": 1,
                        "outputChannelCount": [1],
                        "processorOptions": {"jitterMs": self.jitter_ms},
                    }
                ),
            )
            destination = context.createMediaStreamDestination()
            player.connect(destination)
        except BaseException:
            with contextlib.suppress(Exception):
                await context.close()
            raise
        audio = _Audio(context, capture, player, destination)
        if self._local is not None:
            audio.attach_mic(self._local.mic)
        return audio

    async def _open_socket(self, session: _Session) -> None:
        """A new WebSocket for ``session``, wired to the router; returns once it is open."""
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[None] = loop.create_future()
        session.opened = opened
        ws = js_global().WebSocket.new(session.url)
        session.ws = ws
        session.listeners.add(ws, "open", lambda _e: _resolve(opened))
        session.listeners.add(ws, "close", lambda event: self._on_close(session, ws, event))
        try:
            await asyncio.wait_for(asyncio.shield(opened), self.open_timeout)
        except TimeoutError:
            raise TransportStartError(
                f"the WebSocket did not open within {self.open_timeout:g} s"
            ) from None
        assert self._audio is not None
        session.on_frame = PROXIES.create(lambda kind, data: self._on_frame(session, kind, data))
        session.router = _router()(
            ws,
            self._audio.capture.port,
            self._audio.player.port,
            session.on_frame,
            to_js_object(
                {
                    "maxMessage": self.max_message_size,
                    "queueFrames": max(1, int(5 * self.sample_rate / self.frame_samples)),
                    "keepaliveMs": self.keepalive_interval * 1000,
                    "keepaliveSamples": self.sample_rate // 100,
                    "sampleRate": self.sample_rate,
                }
            ),
        )

    # --- inbound ----------------------------------------------------------------------------

    def _on_frame(self, session: _Session, kind: str, data: Any) -> None:
        if session.closed:
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

    def _on_message(self, session: _Session, text: str) -> None:
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

    def _on_close(self, session: _Session, ws: Any, event: Any) -> None:
        if session.ws is not ws or session.closed:
            return
        code, reason = int(event.code), str(event.reason or "")
        opened = session.opened
        if opened is not None and not opened.done():
            detail = f" ({reason})" if reason else ""
            opened.set_exception(
                TransportStartError(f"the WebSocket closed with code {code}{detail}")
            )
            return
        logger.info("WebSocket closed: code %d %s", code, reason)
        if session.reconnecting:
            return
        session.reconnecting = True
        self._start_task(session, self._reconnect(session, code, reason))

    async def _reconnect(self, session: _Session, code: int, reason: str) -> None:
        why = f"the bot closed the connection (code {code}{', ' + reason if reason else ''})"
        try:
            self._drop_socket(session)
            if self.reconnect_policy.is_final(code):
                result = None
            else:
                result = await reconnect(
                    self._attempts,
                    lambda: self._reopen(session),
                    closed=lambda: session.closed,
                    log=logger,
                    describe=js_error_text,
                    wait_first=True,
                )
        finally:
            session.reconnecting = False
        if result is not None:
            if result.reconnected:
                self._attempts.reset()
                return
            if result.aborted:
                return
            why = f"connection lost; {result.reason}"
        if session.closed or self._session is not session:
            return
        logger.warning(why)
        self.callbacks.on_error(transport_error(why, fatal=True))
        self._report_bot_left(session)
        await self.disconnect()

    async def _reopen(self, session: _Session) -> None:
        """One reconnect attempt: a new socket; the bot starts a new pipeline, so ready again."""
        logger.info("reconnecting to %s", session.url)
        try:
            await self._open_socket(session)
        except BaseException:
            self._drop_socket(session)
            raise
        if session.ready_message is not None:
            self.send_message(session.ready_message)
            session.router.setReady(True)

    def _report_bot_left(self, session: _Session) -> None:
        if not session.bot_left:
            session.bot_left = True
            self.callbacks.on_bot_disconnected(session.bot)

    # --- media ------------------------------------------------------------------------------

    def _bot_element(self) -> MediaElement:
        if self._element is None:
            self._element = MediaElement("audio", self._audio_element_option)
            if self._speaker_id:
                self._start_background(self._element.set_sink_id(self._speaker_id))
        return self._element  # type: ignore[no-any-return]

    def _level_meters(self) -> Any:
        if self._levels is None:
            self._levels = AudioLevels()
            if self._local is not None and self._local.mic is not None:
                self._levels.watch("local", self._local.mic)
        return self._levels

    async def _report_levels(self, session: _Session) -> None:
        await report_levels(
            self._level_meters().level,
            self._level_values,
            self.audio_level_interval,
            lambda: not session.closed,
            self.callbacks.on_local_audio_level,
            lambda level: self.callbacks.on_remote_audio_level(level, session.bot),
        )

    async def _acquire_mic(self, device_id: str | None = None) -> Any:
        try:
            track = await self._local.acquire("audio", device_id)
        except Exception as exc:
            logger.warning("cannot open the microphone: %s", js_error_text(exc))
            self.callbacks.on_device_error(exc)
            raise
        track.enabled = self.is_mic_enabled
        if self._audio is not None:
            self._audio.attach_mic(track)
        if self._levels is not None:
            self._levels.watch("local", track)
        self.callbacks.on_track_started(track, _LOCAL)
        return track

    async def _acquire_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self._acquire_mic()

    def _on_device_change(self) -> None:
        self._start_background(self._report_devices())

    async def _report_devices(self) -> None:
        await report_device_lists(
            enumerate_devices, self.callbacks, ("audioinput", "audiooutput"), js_error_text
        )

    # --- teardown ---------------------------------------------------------------------------

    def _drop_socket(self, session: _Session) -> None:
        """Release the socket, its listeners and the router (not the audio)."""
        if session.router is not None:
            session.router.dispose()
            session.router = None
        if session.on_frame is not None:
            PROXIES.destroy(session.on_frame)
            session.on_frame = None
        session.listeners.clear()
        ws, session.ws = session.ws, None
        if ws is not None and int(ws.readyState) <= _OPEN:
            with contextlib.suppress(Exception):
                ws.close(1000, "client disconnect")

    async def _close_session(self, session: _Session) -> None:
        if session.closed:
            return
        session.closed = True
        session.tasks.cancel()
        if session.opened is not None and not session.opened.done():
            session.opened.cancel()
        self._drop_socket(session)
        audio, self._audio = self._audio, None
        if audio is not None:
            self.callbacks.on_track_stopped(audio.bot_track, session.bot)
            await audio.close()
        if self._element is not None:
            self._element.release()
            self._element = None
        if self._levels is not None:
            self._levels.close()
            self._levels = None
        self._level_values.clear()
        await session.tasks.wait()

    async def _forget_session(self, session: _Session) -> None:
        """A connect() failed or was aborted: close ``session`` and let it go."""
        await self._close_session(session)
        if self._session is session:
            self._session = None

    def _release_devices(self) -> None:
        if self._devices is not None:
            self._devices.stop()
        if self._local is not None:
            if self._local.mic is not None:
                self.callbacks.on_track_stopped(self._local.mic, _LOCAL)
            self._local.release()

    # --- tasks ------------------------------------------------------------------------------

    def _start_task(self, session: _Session, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return session.tasks.start(coro)

    def _start_background(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._background.start(coro)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
