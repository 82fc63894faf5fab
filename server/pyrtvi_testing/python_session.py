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
from array import array
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, overload

from rtvi import RTVIClient, RTVIEvent
from rtvi.latency import AUDIBLE as PAGE_AUDIBLE
from rtvi.messages import jsonable
from rtvi.transports.python_websocket import PCM, Microphone, PythonWebSocketTransport
from rtvi.transports.python_websocket.audio import last_audible

from .processes import BotStartError
from .turns import (
    TURN_TIMEOUT_S,
    Events,
    Speech,
    Turn,
    arun_steps,
    event_steps,
    speaking_steps,
    speech_label,
    speech_wav,
    spoken_turn,
    turn_steps,
)

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


class AsyncPythonSession:
    """A connected session in this process, awaited: see :class:`PythonSession`."""

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
            raise BotStartError(
                f"the session did not connect: {type(error).__name__}: {error}\n"
                f"client log:\n{chr(10).join(session.console[-15:])}\nbot log:\n{log_tail()}"
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

    # -- sending -----------------------------------------------------------------------------

    @overload
    async def type(
        self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: Literal[True] = True
    ) -> Turn: ...
    @overload
    async def type(
        self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: Literal[False]
    ) -> None: ...
    async def type(
        self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: bool = True
    ) -> Turn | None:
        """Type ``text`` (RTVI ``send-text``); the turn once the bot finished answering
        (``wait=False``: at once, None)."""
        start = self._now()
        self.client.send_text(text)
        return await self._turn(start, "type", text, timeout) if wait else None

    async def say(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        """Speak ``speech`` (text, or a WAV's path or bytes) in real time; the turn."""
        return await self._speak(speech, "say", timeout)

    async def interrupt(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        """Wait (up to ``timeout``) until the bot speaks, then speak; the turn of the new
        answer, ``interrupted`` if the bot was cut off."""
        await arun_steps(speaking_steps(timeout), self.events, _sleep)
        return await self._speak(speech, "interrupt", timeout)

    async def press(self, keys: str) -> None:
        """Keypad keys (RTVI ``dtmf``)."""
        self.client.send_dtmf(keys)

    async def send_file(
        self, path: str | Path, *, format: str = "text/plain", content: str = ""
    ) -> dict[str, Any]:
        """Send a file (RTVI ``send-file``); the file object sent."""
        file = Path(path)
        sent = await self.client.send_file(
            file.read_bytes(), format=format, name=file.name, content=content
        )
        result: dict[str, Any] = jsonable(sent)
        return result

    async def request(self, type: str, data: Any = None, *, timeout: float | None = None) -> Any:
        """A client request; the ``d`` of the bot's ``server-response``."""
        return jsonable(await self.client.send_client_request(type, data, timeout))

    async def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] | None = None,
        timeout: float = TURN_TIMEOUT_S,
        *,
        after: float | None = None,
    ) -> dict[str, Any]:
        """The first event ``event`` whose data satisfies ``where`` (since ``after``)."""
        return await arun_steps(event_steps(event, where, timeout, after), self.events, _sleep)

    async def disconnect(self) -> None:
        try:
            await self.client.disconnect()
        finally:
            logging.getLogger("rtvi").removeHandler(self._log)

    # -- recordings --------------------------------------------------------------------------

    async def user_wav(self) -> bytes | None:
        """What the microphone sent (silence included), as a WAV; None before the first frame."""
        return self._user_wav()

    async def bot_wav(self) -> bytes | None:
        """The bot's audio as it played, from the microphone's first frame (so both WAVs line
        up); None if the bot sent none."""
        return self._bot_wav()

    def _user_wav(self) -> bytes | None:
        if self.microphone.started_at is None:
            return None
        return PCM(array("h", self.microphone.sent), self.microphone.sample_rate).to_wav()

    def _bot_wav(self) -> bytes | None:
        audio = self.rtvi_transport.bot_audio
        if not audio.segments:
            return None
        pcm = audio.pcm()
        origin = self.microphone.started_at
        lead = 0.0 if origin is None else max(0.0, audio.segments[0].start - origin)
        silence = array("h", bytes(2 * round(lead * pcm.sample_rate)))
        return PCM(silence + pcm.samples, pcm.sample_rate).to_wav()

    # -- turns -------------------------------------------------------------------------------

    async def _turn(self, start: float, kind: str, sent: str, timeout: float) -> Turn:
        async def poll() -> tuple[Events, float]:
            return list(self.recorded), self._now()

        return await arun_steps(turn_steps(start, kind, sent, timeout, self.turns), poll, _sleep)

    async def _speak(self, speech: Speech, kind: str, timeout: float) -> Turn:
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


async def _sleep(ms: float) -> None:
    await asyncio.sleep(ms / 1000)


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


class PythonSession:
    """A connected session in this process, driven synchronously: the browser
    :class:`~pyrtvi_testing.session.Session`'s API (``type``, ``say``, ``interrupt``, ``press``,
    ``send_file``, ``request``, ``wait_for``, ``events``, ``turns``, ``disconnect``), its events
    and turns, plus ``user_wav()`` / ``bot_wav()``."""

    def __init__(self, session: AsyncPythonSession, runner: LoopThread) -> None:
        self.session = session
        self._runner = runner

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
    def transport(self) -> str:
        return self.session.transport

    @property
    def client(self) -> RTVIClient:
        return self.session.client

    @property
    def console(self) -> list[str]:
        return self.session.console

    @property
    def turns(self) -> list[Turn]:
        return self.session.turns

    @property
    def ready(self) -> Any:
        return self.session.ready

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

    @overload
    def type(
        self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: Literal[True] = True
    ) -> Turn: ...
    @overload
    def type(self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: Literal[False]) -> None: ...
    def type(self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: bool = True) -> Turn | None:
        if wait:
            return self._runner.run(self.session.type(text, timeout=timeout))
        return self._runner.run(self.session.type(text, timeout=timeout, wait=False))

    def say(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        return self._runner.run(self.session.say(speech, timeout=timeout))

    def interrupt(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        return self._runner.run(self.session.interrupt(speech, timeout=timeout))

    def press(self, keys: str) -> None:
        self._runner.run(self.session.press(keys))

    def send_file(
        self, path: str | Path, *, format: str = "text/plain", content: str = ""
    ) -> dict[str, Any]:
        return self._runner.run(self.session.send_file(path, format=format, content=content))

    def request(self, type: str, data: Any = None, *, timeout: float | None = None) -> Any:
        return self._runner.run(self.session.request(type, data, timeout=timeout))

    def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] | None = None,
        timeout: float = TURN_TIMEOUT_S,
        *,
        after: float | None = None,
    ) -> dict[str, Any]:
        return self._runner.run(self.session.wait_for(event, where, timeout, after=after))

    def disconnect(self) -> None:
        self._runner.run(self.session.disconnect())

    def close(self) -> None:
        """Nothing to close beyond :meth:`disconnect` (no browser context)."""

    def user_wav(self) -> bytes | None:
        return self.session._user_wav()

    def bot_wav(self) -> bytes | None:
        return self.session._bot_wav()
