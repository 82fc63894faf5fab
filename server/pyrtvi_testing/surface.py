"""The session API, written once per flavour: :class:`KitSession` (synchronous: the browser
:class:`~pyrtvi_testing.session.Session` and :class:`~pyrtvi_testing.python_session.PythonSession`)
and :class:`AsyncKitSession` (awaited: :class:`~pyrtvi_testing.async_session.AsyncSession` and
:class:`~pyrtvi_testing.python_session.AsyncPythonSession`).

A session class supplies a few primitives (its clock, its events, a sleep, a call of the client,
speaking a WAV, a recording); ``type``, ``say``, ``interrupt``, ``press``, ``send_file``,
``request``, ``wait_for``, ``user_wav`` and ``bot_wav`` are defined here on them, so a new kit
method is written here, once per flavour, and every session has it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from .processes import BotStartError
from .turns import (
    TURN_TIMEOUT_S,
    Events,
    Speech,
    Turn,
    arun_steps,
    event_steps,
    run_steps,
    speaking_steps,
    turn_steps,
)

__all__ = ["AsyncKitSession", "ClientCall", "KitSession", "Recording"]

#: Which recording: what the microphone sent, or what was received from the bot.
Recording = Literal["user", "bot"]


@dataclass(frozen=True)
class ClientCall:
    """One call of the pyrtvi client's method: as Python source for the page (whose client is
    ``client``), or made on an ``RTVIClient`` in this process."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: The method is a coroutine function (its result is awaited).
    awaited: bool = False

    def code(self) -> str:
        """The call as the page's Python source (arguments as their ``repr``)."""
        params = [repr(arg) for arg in self.args]
        params += [f"{name}={value!r}" for name, value in self.kwargs.items()]
        call = f"client.{self.method}({', '.join(params)})"
        return f"await {call}" if self.awaited else call

    async def on(self, client: Any) -> Any:
        """Make the call on ``client``; its result (awaited if the method is a coroutine)."""
        result = getattr(client, self.method)(*self.args, **self.kwargs)
        return await result if self.awaited else result


def send_text(text: str) -> ClientCall:
    return ClientCall("send_text", (text,))


def send_dtmf(keys: str) -> ClientCall:
    return ClientCall("send_dtmf", (keys,))


def send_file(path: str | Path, format: str, content: str) -> ClientCall:
    file = Path(path)
    kwargs = {"format": format, "name": file.name, "content": content}
    return ClientCall("send_file", (file.read_bytes(),), kwargs, awaited=True)


def client_request(type: str, data: Any, timeout: float | None) -> ClientCall:
    return ClientCall("send_client_request", (type, data, timeout), awaited=True)


def not_connected(
    error: str, log: str, console: list[str], log_tail: Callable[[], str]
) -> Exception:
    """What a session's ``open`` raises when the connect failed: a :class:`BotStartError` with
    ``error``, the session's last ``console`` lines (titled ``log``) and the bot's log."""
    return BotStartError(
        f"the session did not connect: {error}\n"
        f"{log}:\n{chr(10).join(console[-15:])}\nbot log:\n{log_tail()}"
    )


class KitSession(ABC):
    """A connected session, driven synchronously: send to the bot, wait for what it does, read
    its turns."""

    #: The kind of session: ``"webrtc"`` or ``"websocket"`` (a browser's), ``"python"``.
    transport: str
    #: The client's log lines (the page's console).
    console: list[str]
    #: The session's turns so far.
    turns: list[Turn]
    #: The bot-ready data.
    ready: Any

    # -- what a session supplies ---------------------------------------------------------------

    @abstractmethod
    def now(self) -> float:
        """The session's clock (ms; the page's ``performance.now()``): event times are on it."""

    @property
    @abstractmethod
    def events(self) -> Events:
        """Every event so far: ``{"type", "data", "t"}`` (``t``: :meth:`now`'s clock, ms)."""

    @property
    @abstractmethod
    def alive(self) -> bool:
        """Its events can be read (a browser session's page is open)."""

    @abstractmethod
    def disconnect(self) -> None:
        """Disconnect (the kit does at the end of the test)."""

    @abstractmethod
    def close(self) -> None:
        """Release what the session holds (its browser context), after :meth:`disconnect`."""

    @abstractmethod
    def _call(self, call: ClientCall) -> Any:
        """Make ``call`` on the session's client; its result, JSON-able."""

    @abstractmethod
    def _sleep(self, ms: float) -> None: ...

    @abstractmethod
    def _speak(self, speech: Speech, kind: str, timeout: float) -> Turn:
        """Speak ``speech`` into the microphone; the turn (a ``kind`` one) with its
        ``voice_to_voice_ms``. Raises :class:`NotImplementedError` without a microphone."""

    @abstractmethod
    def _recording(self, which: Recording) -> bytes | None: ...

    # -- the API -------------------------------------------------------------------------------

    @overload
    def type(
        self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: Literal[True] = True
    ) -> Turn: ...
    @overload
    def type(self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: Literal[False]) -> None: ...
    def type(self, text: str, *, timeout: float = TURN_TIMEOUT_S, wait: bool = True) -> Turn | None:
        """Type ``text`` to the bot (RTVI ``send-text``); the turn once it finished answering
        (``wait=False``: at once, None; e.g. to :meth:`interrupt` the answer)."""
        start = self.now()
        self._call(send_text(text))
        return self._turn(start, "type", text, timeout) if wait else None

    def say(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        """Speak ``speech`` (text, or a WAV's path or bytes) into the (virtual) microphone;
        the turn once the bot finished answering."""
        return self._speak(speech, "say", timeout)

    def interrupt(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        """Speak while the bot speaks: wait (up to ``timeout``) until it speaks, then speak;
        the turn of the new answer, ``interrupted`` if the bot was cut off."""
        run_steps(speaking_steps(timeout), lambda: self.events, self._sleep)
        return self._speak(speech, "interrupt", timeout)

    def press(self, keys: str) -> None:
        """Press keypad keys (RTVI ``dtmf``): ``"12#"`` is three keys."""
        self._call(send_dtmf(keys))

    def send_file(
        self, path: str | Path, *, format: str = "text/plain", content: str = ""
    ) -> dict[str, Any]:
        """Send a file to the bot (RTVI ``send-file``); the file object sent."""
        sent: dict[str, Any] = self._call(send_file(path, format, content))
        return sent

    def request(self, type: str, data: Any = None, *, timeout: float | None = None) -> Any:
        """A client request (``client-message``); the ``d`` of the bot's ``server-response``."""
        return self._call(client_request(type, data, timeout))

    def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] | None = None,
        timeout: float = TURN_TIMEOUT_S,
        *,
        after: float | None = None,
    ) -> dict[str, Any]:
        """The first event ``event`` (``"botTranscript"``...) whose data satisfies ``where``,
        since time ``after`` (default: any so far); waits up to ``timeout`` seconds."""
        steps = event_steps(event, where, timeout, after)
        return run_steps(steps, lambda: self.events, self._sleep)

    def user_wav(self) -> bytes | None:
        """What the microphone sent since the connect, as a WAV (None: nothing)."""
        return self._recording("user")

    def bot_wav(self) -> bytes | None:
        """The bot's audio the session received since the connect, as a WAV (None: none)."""
        return self._recording("bot")

    def _turn(self, start: float, kind: str, sent: str, timeout: float) -> Turn:
        steps = turn_steps(start, kind, sent, timeout, self.turns)
        return run_steps(steps, lambda: (self.events, self.now()), self._sleep)


class AsyncKitSession(ABC):
    """A connected session, awaited: :class:`KitSession`'s API, each call awaited, and
    ``events`` a coroutine (``await session.events()``)."""

    transport: str
    console: list[str]
    turns: list[Turn]
    ready: Any

    @abstractmethod
    async def now(self) -> float:
        """The session's clock (ms): event times are on it."""

    @abstractmethod
    async def events(self) -> Events:
        """Every event so far (a coroutine here, a property on the sync session)."""

    @abstractmethod
    async def disconnect(self) -> None: ...

    @abstractmethod
    async def _call(self, call: ClientCall) -> Any: ...

    @abstractmethod
    async def _sleep(self, ms: float) -> None: ...

    @abstractmethod
    async def _speak(self, speech: Speech, kind: str, timeout: float) -> Turn: ...

    @abstractmethod
    async def _recording(self, which: Recording) -> bytes | None: ...

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
        """See :meth:`KitSession.type`."""
        start = await self.now()
        await self._call(send_text(text))
        return await self._turn(start, "type", text, timeout) if wait else None

    async def say(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        """See :meth:`KitSession.say`."""
        return await self._speak(speech, "say", timeout)

    async def interrupt(self, speech: Speech, *, timeout: float = TURN_TIMEOUT_S) -> Turn:
        """See :meth:`KitSession.interrupt`."""
        await arun_steps(speaking_steps(timeout), self.events, self._sleep)
        return await self._speak(speech, "interrupt", timeout)

    async def press(self, keys: str) -> None:
        """See :meth:`KitSession.press`."""
        await self._call(send_dtmf(keys))

    async def send_file(
        self, path: str | Path, *, format: str = "text/plain", content: str = ""
    ) -> dict[str, Any]:
        """See :meth:`KitSession.send_file`."""
        sent: dict[str, Any] = await self._call(send_file(path, format, content))
        return sent

    async def request(self, type: str, data: Any = None, *, timeout: float | None = None) -> Any:
        """See :meth:`KitSession.request`."""
        return await self._call(client_request(type, data, timeout))

    async def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] | None = None,
        timeout: float = TURN_TIMEOUT_S,
        *,
        after: float | None = None,
    ) -> dict[str, Any]:
        """See :meth:`KitSession.wait_for`."""
        return await arun_steps(event_steps(event, where, timeout, after), self.events, self._sleep)

    async def user_wav(self) -> bytes | None:
        """See :meth:`KitSession.user_wav`."""
        return await self._recording("user")

    async def bot_wav(self) -> bytes | None:
        """See :meth:`KitSession.bot_wav`."""
        return await self._recording("bot")

    async def _turn(self, start: float, kind: str, sent: str, timeout: float) -> Turn:
        async def poll() -> tuple[Events, float]:
            return await self.events(), await self.now()

        steps = turn_steps(start, kind, sent, timeout, self.turns)
        return await arun_steps(steps, poll, self._sleep)
