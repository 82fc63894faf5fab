"""``PythonWebSocketTransport``: Pipecat's protobuf WebSocket from CPython (no browser).

The same wire as the browser's :class:`~rtvi.transports.websocket.WebSocketTransport` (one
protobuf ``pipecat.Frame`` per message, :mod:`~rtvi.transports.websocket.protobuf`), the same URL
rules (:mod:`~rtvi.transports.websocket.target`) and the same lifecycle
(:class:`~rtvi.transports.lifecycle.SessionTransport`); the socket is the ``websockets`` package,
imported when a session opens (the ``rtvi`` package itself stays stdlib-only for the browser;
``websockets`` is a dependency of ``pyrtvi``). Audio is :mod:`.audio`: a :class:`~.audio.Microphone`
fed with PCM and paced in real time from ``ready``, and :class:`~.audio.BotAudio`, the bot's frames
with their arrival times, flushed on the interruption signal as the browser player is.

A lost socket is not reopened: a close with 1000/1001 is the bot leaving (``bot-disconnected``,
then disconnect), any other ends the session with a fatal ``error``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ...errors import MessageTooLargeError, TransportNotConnectedError, UnsupportedFeatureError
from ...messages import RTVIMessage
from ...state import TransportState
from ...transport import transport_error
from ..lifecycle import SessionTransport, TransportSession
from ..liveness import Clock, LoopClock
from ..reconnect import ReconnectPolicy
from ..websocket.protobuf import (
    AudioRawFrame,
    FrameDecodeError,
    InterruptionFrame,
    MessageFrame,
    decode_frame,
    encode_frame,
)
from ..websocket.target import resolve_ws_url
from .audio import PCM, BotAudio, Microphone, level

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

logger = logging.getLogger("rtvi.transports.python_websocket")

#: The browser transport's limit, and the embedded bot's.
DEFAULT_MAX_MESSAGE = 1 << 20
#: RTVI messages after which queued bot audio is stale (as in the browser transport).
FLUSH_ON = frozenset({"bot-interrupted", "user-started-speaking"})
#: Close codes that mean the bot ended the session on purpose.
NORMAL_CLOSE = frozenset({1000, 1001})
#: A lost socket is not reopened (see the module docstring).
NO_RECONNECT = ReconnectPolicy(attempts=0)
#: At disconnect, how long the messages already queued may take to go out.
DRAIN_TIMEOUT = 2.0


class PythonSocketSession(TransportSession):
    """One ``connect()``'s socket, its outbox (sends keep their order) and its tasks."""

    def __init__(self, url: str) -> None:
        super().__init__(NO_RECONNECT, bot_id="bot", log=logger)
        self.url = url
        self.ws: ClientConnection | None = None
        #: What to send, in order; ``None`` ends the writer (after what was queued before it).
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None


class PythonWebSocketTransport(SessionTransport[PythonSocketSession]):
    """Pipecat's WebSocket transport in CPython: drive it with ``RTVIClient`` as in the browser.

    Options (all keyword):

    - ``ws_url``: the socket URL when the connect reply has none (a direct connect).
    - ``microphone``: the :class:`~.audio.Microphone` to send from (default 16 kHz, 20 ms frames,
      1 s of silence after each utterance); :meth:`say` feeds it.
    - ``max_message_size`` (1 MiB), ``open_timeout`` (10 s), ``audio_level_interval`` (0.1 s),
      ``flush_on`` (RTVI message types that drop queued bot audio), ``clock`` (timestamps and
      pacing; the event loop's by default).

    :attr:`bot_audio` holds what the bot said (:class:`~.audio.BotAudio`, kept across sessions
    until :meth:`~.audio.BotAudio.clear`); :attr:`microphone` ``.last_audible_at`` when the user's
    speech ended, on the same clock.
    """

    pipe_name = "WebSocket"

    def __init__(
        self,
        *,
        ws_url: str | None = None,
        microphone: Microphone | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE,
        open_timeout: float = 10.0,
        audio_level_interval: float = 0.1,
        flush_on: Iterable[str] = FLUSH_ON,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(logger)
        self.ws_url = ws_url
        self.microphone = microphone or Microphone()
        self.bot_audio = BotAudio()
        self._max_message_size = max_message_size
        self.open_timeout = open_timeout
        self.audio_level_interval = audio_level_interval
        self.flush_on = frozenset(flush_on)
        self.clock: Clock = clock or LoopClock()
        #: Flushes of queued bot audio, by cause (an RTVI message type or ``"interruption"``).
        self.flushes: dict[str, int] = {}
        self._levels_at = {"local": float("-inf"), "remote": float("-inf")}

    # --- public extras ----------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        return self._session.url if self._session else None

    def say(self, source: PCM | bytes | str | os.PathLike[str]) -> asyncio.Future[float | None]:
        """Speak into the microphone: a :class:`~.audio.PCM`, a WAV path or WAV bytes. The
        future gives the clock time the last audible sample was sent (see :attr:`clock`)."""
        return self.microphone.say(source)

    def flush_bot_audio(self) -> None:
        """Drop the bot audio that has not played yet."""
        self._flush("flush_bot_audio")

    def resolve_url(self, auth_bundle: Any) -> str:
        """The socket URL from the bundle (``ws_url``/``wsUrl``, ``token``) or the option."""
        base = self.options.params.base_url if self._options is not None else None
        return resolve_ws_url(auth_bundle, option=self.ws_url, base=base)

    # --- lifecycle (the rest is SessionTransport's) -----------------------------------------

    async def init_devices(self) -> None:
        self.state = TransportState.INITIALIZING
        self.state = TransportState.INITIALIZED

    def _new_session(self, auth_bundle: Any) -> PythonSocketSession:
        return PythonSocketSession(self.resolve_url(auth_bundle))

    async def _open(self, session: PythonSocketSession) -> None:
        from websockets.asyncio.client import connect  # lazily: not a dependency of ``rtvi``

        session.ws = await asyncio.wait_for(
            connect(session.url, max_size=self._max_message_size, compression=None),
            self.open_timeout,
        )

    def _opened(self, session: PythonSocketSession) -> None:
        session.writer = session.tasks.start(self._write(session))
        session.tasks.start(self._read(session))

    async def send_ready_message(self, message: RTVIMessage) -> None:
        session = self._session
        if session is None:
            raise TransportNotConnectedError("The WebSocket is not open")
        self.send_message(message)
        session.tasks.start(
            self.microphone.run(lambda frame: self._send_mic(session, frame), self.clock)
        )
        self.state = TransportState.READY

    def send_message(self, message: RTVIMessage) -> None:
        data = encode_frame(MessageFrame(message.to_json()))
        if len(data) > self._max_message_size:
            raise MessageTooLargeError(len(data), self._max_message_size)
        self._send(data)

    @property
    def max_message_size(self) -> int:
        return self._max_message_size

    async def _close_session(self, session: PythonSocketSession) -> None:
        session.closed = True
        writer = session.writer
        if writer is not None and writer is not asyncio.current_task() and not writer.done():
            # What was sent before disconnect() still goes out (as a browser socket's send).
            session.outbox.put_nowait(None)
            await asyncio.wait([writer], timeout=DRAIN_TIMEOUT)
        session.tasks.cancel()
        ws, session.ws = session.ws, None
        if ws is not None:
            await ws.close(1000, "client disconnect")
        await session.tasks.wait()

    def _release_devices(self) -> None:
        self.microphone.cancel()

    # --- devices ----------------------------------------------------------------------------

    def enable_mic(self, enable: bool) -> None:
        super().enable_mic(enable)
        self.microphone.muted = not enable

    def enable_cam(self, enable: bool) -> None:
        if enable:
            raise UnsupportedFeatureError(
                "camera", type(self).__name__, "WebSocket carries no video"
            )
        super().enable_cam(False)

    # --- outbound ---------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        session = self._session
        if session is None or session.ws is None or session.closed:
            raise TransportNotConnectedError("The WebSocket is not open")
        session.outbox.put_nowait(data)

    def _send_mic(self, session: PythonSocketSession, frame: array[int]) -> None:
        if not self._is_current(session):
            return
        pcm = frame.tobytes()
        rate = self.microphone.sample_rate
        session.outbox.put_nowait(
            encode_frame(AudioRawFrame(pcm, sample_rate=rate, num_channels=1))
        )
        if self._level_due("local"):
            self.callbacks.on_local_audio_level(level(frame))

    async def _write(self, session: PythonSocketSession) -> None:
        from websockets.exceptions import ConnectionClosed

        while (ws := session.ws) is not None:
            data = await session.outbox.get()
            if data is None:
                return
            try:
                await ws.send(data)
            except ConnectionClosed:
                return  # the reader reports it

    # --- inbound ----------------------------------------------------------------------------

    async def _read(self, session: PythonSocketSession) -> None:
        from websockets.exceptions import ConnectionClosed

        ws = session.ws
        assert ws is not None
        try:
            async for data in ws:
                if not self._is_current(session):
                    return
                self._on_data(session, data)
        except ConnectionClosed:
            pass
        if not self._is_current(session):
            return
        code = ws.close_code or 1006
        reason = ws.close_reason or ""
        if code in NORMAL_CLOSE:
            self._bot_left(session)
        else:
            why = f"the bot closed the connection (code {code}{', ' + reason if reason else ''})"
            await self._give_up(session, why)

    def _on_data(self, session: PythonSocketSession, data: str | bytes) -> None:
        if isinstance(data, str):
            logger.warning("ignored a text message: the bot should send protobuf frames")
            return
        try:
            frame = decode_frame(data)
        except FrameDecodeError as exc:
            logger.warning("ignored a bad frame from the bot: %s", exc)
            self.callbacks.on_error(transport_error(f"bad frame from the bot: {exc}"))
            return
        if isinstance(frame, AudioRawFrame):
            pcm = PCM.from_bytes(frame.audio, frame.sample_rate or 16000, frame.num_channels or 1)
            self.bot_audio.receive(pcm, self.clock.time())
            if self._level_due("remote"):
                self.callbacks.on_remote_audio_level(level(pcm.samples), session.bot)
        elif isinstance(frame, MessageFrame):
            self._on_message(frame.data)
        elif isinstance(frame, InterruptionFrame):
            self._flush("interruption")
        else:
            logger.debug("ignored a %s from the bot", type(frame).__name__)

    def _on_message(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self.deliver(text)  # the client reports malformed messages
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if isinstance(kind, str) and kind in self.flush_on:
            self._flush(kind)
        self.deliver(message)

    def _flush(self, cause: str) -> None:
        self.bot_audio.flush(self.clock.time())
        self.flushes[cause] = self.flushes.get(cause, 0) + 1

    def _level_due(self, which: str) -> bool:
        now = self.clock.time()
        if now - self._levels_at[which] < self.audio_level_interval:
            return False
        self._levels_at[which] = now
        return True
