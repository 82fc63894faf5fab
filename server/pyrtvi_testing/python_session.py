"""Sessions without a browser (``--rtvi-transport python``): the pyrtvi client in the pytest
process (CPython), over Pipecat's protobuf WebSocket
(:class:`~rtvi.transports.python_websocket.PythonWebSocketTransport`), through the `pyrtvi serve`
of the test session (its ``/connect`` with ``"transport": "websocket"`` and its relay), as the
kit's page connects.

:class:`AsyncPythonSession` is the session itself, on the running event loop (async suites);
:class:`PythonSession` is its synchronous face for ordinary tests: every call runs on one event
loop in a background thread shared by the process's sync sessions, so many sessions can talk at
once. Both have the browser sessions' API, events and turns (``pyrtvi_testing.turns``).

Times are the event loop's clock in ms (``t`` of the events, ``now()``). The microphone sends a
20 ms frame every 20 ms in real time (silence between utterances, and at least 1 s of it after
each, so the bot's VAD hears the end of speech); ``voice_to_voice_ms`` runs from the last audible
sample of the utterance (the frame that holds it was sent at its frame's start, plus the sample's
place in the frame) to the first audible sample (``abs(sample) >= 0.02`` of full scale at both
ends, as in the page) of the bot's audio as a player without jitter
buffer plays it (:class:`~rtvi.transports.python_websocket.BotAudio`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from array import array
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from rtvi import RTVIClient, RTVIEvent
from rtvi.latency import AUDIBLE as PAGE_AUDIBLE
from rtvi.messages import jsonable
from rtvi.transports.python_websocket import PCM, Microphone, PythonWebSocketTransport
from rtvi.transports.python_websocket.audio import last_audible

from .surface import AsyncKitSession, ClientCall, KitSession, Recording, not_connected
from .turns import Events, Speech, Turn, speech_label, speech_wav, spoken_turn

__all__ = ["AsyncPythonSession", "PythonSession", "RecordingMicrophone"]

T = TypeVar("T")
#: Not recorded (as in the page): the 10 Hz audio levels.
SKIPPED = frozenset({RTVIEvent.LOCAL_AUDIO_LEVEL, RTVIEvent.REMOTE_AUDIO_LEVEL})
#: "Audible" as the page has it (``abs(sample) >= 0.02`` of full scale, about -34 dBFS), in
#: 16-bit samples: both ends of ``voice_to_voice_ms`` use it.
AUDIBLE = round(PAGE_AUDIBLE * 32768)
#: The ``rtvi`` log lines a session keeps as its ``console`` (the page's console, here).
LOG_FORMAT = "py %(relativeCreated)d %(levelname)s %(name)s: %(message)s"


@dataclass
class RecordingMicrophone(Microphone):
    """A :class:`Microphone` that keeps every frame it sent, silence included (``user.wav``)."""

    sent: array[int] = field(default_factory=lambda: array("h"))
    #: Clock time of the first frame sent (the recordings' common origin), or None.
    started_at: float | None = None

    def next_frame(self, now: float) -> array[int]:
        frame = super().next_frame(now)
        if self.started_at is None:
            self.started_at = now
        self.sent.extend(frame)
        return frame


class _LogLines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class AsyncPythonSession(AsyncKitSession):
    """A connected session in this process, awaited: see :class:`PythonSession` and
    :class:`~pyrtvi_testing.surface.AsyncKitSession`."""

    def __init__(self, client: RTVIClient, transport: PythonWebSocketTransport) -> None:
        self.client = client
        self.rtvi_transport = transport
        assert isinstance(transport.microphone, RecordingMicrophone), "the kit records the mic"
        self.microphone = transport.microphone
        #: The kind of session (``"python"``), as the browser sessions' ``transport``.
        self.transport = "python"
        self.console: list[str] = []
        self.turns: list[Turn] = []
        self.ready: Any = None
        #: Every event so far (``{"type", "data", "t"}``), appended on the event loop.
        self.recorded: Events = []
        self._loop = asyncio.get_running_loop()
        self._log = _LogLines(self.console)
        for event in RTVIEvent:
            if event not in SKIPPED:
                client.on(event, self._recorder(event))

    @classmethod
    async def open(
        cls,
        origin: str,
        request_data: Any = None,
        log_tail: Callable[[], str] = str,
        **options: Any,
    ) -> AsyncPythonSession:
        """A session connected through ``origin`` (a `pyrtvi serve`) and bot-ready.

        ``options`` go to ``RTVIClient`` (``enable_mic=False`` mutes the microphone). A connect
        that fails raises :class:`BotStartError` with the error and ``log_tail()``.
        """
        data = {**(request_data or {}), "transport": "websocket"}
        transport = PythonWebSocketTransport(microphone=RecordingMicrophone(threshold=AUDIBLE))
        transport.bot_audio.threshold = AUDIBLE
        params = {"base_url": origin, "request_data": data}
        session = cls(RTVIClient(transport=transport, params=params, **options), transport)
        logger = logging.getLogger("rtvi")
        logger.addHandler(session._log)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)  # as the page logs
        try:
            session.ready = jsonable(await session.client.connect())
        except Exception as error:
            await session.disconnect()
            raise not_connected(
                f"{type(error).__name__}: {error}", "client log", session.console, log_tail
            ) from None
        return session

    def _recorder(self, event: RTVIEvent) -> Callable[..., None]:
        def record(*args: Any) -> None:
            data = jsonable(args[0]) if len(args) == 1 else [jsonable(a) for a in args]
            self.recorded.append({"type": str(event), "data": data, "t": self._now()})

        return record

    def _now(self) -> float:
        return self._loop.time() * 1000

    async def now(self) -> float:
        """The event loop's clock, ms: event times are on it."""
        return self._now()

    async def events(self) -> Events:
        """Every event so far (a coroutine, as on the async browser session)."""
        return list(self.recorded)

    async def disconnect(self) -> None:
        try:
            await self.client.disconnect()
        finally:
            logging.getLogger("rtvi").removeHandler(self._log)

    # -- what the API stands on (``surface.AsyncKitSession``) ----------------------------------

    async def _call(self, call: ClientCall) -> Any:
        return jsonable(await call.on(self.client))

    async def _sleep(self, ms: float) -> None:
        await asyncio.sleep(ms / 1000)

    async def _recording(self, which: Recording) -> bytes | None:
        return self._wav(which)

    def _wav(self, which: Recording) -> bytes | None:
        """``"user"``: what the microphone sent (silence included), None before its first
        frame; ``"bot"``: the bot's audio as it played, from the microphone's first frame (so
        both WAVs line up), None if the bot sent none."""
        if which == "user":
            if self.microphone.started_at is None:
                return None
            return PCM(array("h", self.microphone.sent), self.microphone.sample_rate).to_wav()
        audio = self.rtvi_transport.bot_audio
        if not audio.segments:
            return None
        pcm = audio.pcm()
        origin = self.microphone.started_at
        lead = 0.0 if origin is None else max(0.0, audio.segments[0].start - origin)
        silence = array("h", bytes(2 * round(lead * pcm.sample_rate)))
        return PCM(silence + pcm.samples, pcm.sample_rate).to_wav()

    async def _speak(self, speech: Speech, kind: str, timeout: float) -> Turn:
        """Speak ``speech`` in real time; the turn."""
        mic = self.microphone
        pcm = PCM.from_wav(speech_wav(speech)).resampled(mic.sample_rate)
        start = self._now()
        frame_at = await asyncio.wait_for(
            self.rtvi_transport.say(pcm), timeout + pcm.duration + mic.gap_s
        )
        index = last_audible(pcm.samples, mic.threshold)
        if frame_at is None:  # all silence: its end
            said_end = self._now()
        else:  # the frame's start plus the sample's place in it
            said_end = (frame_at + index % mic.frame_samples / mic.sample_rate) * 1000
        turn = await self._turn(start, kind, speech_label(speech), timeout)
        heard = self.rtvi_transport.bot_audio.first_audible(after=said_end / 1000)
        return spoken_turn(turn, said_end, None if heard is None else heard * 1000)


class LoopThread:
    """An event loop in a daemon thread, shared by this process's sync sessions."""

    _shared: ClassVar[LoopThread | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="rtvi-python-sessions", daemon=True
        )
        self.thread.start()

    @classmethod
    def shared(cls) -> LoopThread:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop; its result here (its exception raised here)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


class PythonSession(KitSession):
    """A connected session in this process, driven synchronously: the browser
    :class:`~pyrtvi_testing.session.Session`'s API (:class:`~pyrtvi_testing.surface.KitSession`),
    events and turns; the client's calls and speech run on the shared loop (:class:`LoopThread`),
    the waits for turns and events poll from the caller's thread."""

    def __init__(self, session: AsyncPythonSession, runner: LoopThread) -> None:
        self.session = session
        self._runner = runner
        # The async session's own (the same lists: its turns are this session's).
        self.transport = session.transport
        self.console = session.console
        self.turns = session.turns
        self.ready = session.ready

    @classmethod
    def open(
        cls,
        origin: str,
        request_data: Any = None,
        log_tail: Callable[[], str] = str,
        **options: Any,
    ) -> PythonSession:
        """A session connected through ``origin`` (a `pyrtvi serve`); see
        :meth:`AsyncPythonSession.open`."""
        runner = LoopThread.shared()
        opening = AsyncPythonSession.open(origin, request_data, log_tail, **options)
        return cls(runner.run(opening), runner)

    @property
    def client(self) -> RTVIClient:
        return self.session.client

    @property
    def events(self) -> Events:
        """Every event so far: ``{"type", "data", "t"}`` (``t``: the loop's clock, ms)."""
        return list(self.session.recorded)

    @property
    def alive(self) -> bool:
        """Its events can be read (always: they are kept in this process)."""
        return True

    def now(self) -> float:
        return self.session._now()

    def disconnect(self) -> None:
        self._runner.run(self.session.disconnect())

    def close(self) -> None:
        """Nothing to close beyond :meth:`disconnect` (no browser context)."""

    # -- what the API stands on (``surface.KitSession``): the client on the loop -------------

    def _call(self, call: ClientCall) -> Any:
        return self._runner.run(self.session._call(call))

    def _sleep(self, ms: float) -> None:
        time.sleep(ms / 1000)

    def _speak(self, speech: Speech, kind: str, timeout: float) -> Turn:
        return self._runner.run(self.session._speak(speech, kind, timeout))

    def _recording(self, which: Recording) -> bytes | None:
        return self.session._wav(which)
