"""``SessionTransport``: the session lifecycle every browser transport shares, written once.

A transport built on it opens one *session* per ``connect()`` (a peer connection, a socket...)
and says only how: :meth:`~SessionTransport._new_session` (the target from the auth bundle),
:meth:`~SessionTransport._open` (until the pipe is open), :meth:`~SessionTransport._opened`
(its tasks), :meth:`~SessionTransport._close_session` (release it) and
:meth:`~SessionTransport._release_devices`. The rest is here, the same for every transport:

- ``connect()``: one session at a time; ``connecting`` → open (racing the abort signal; a
  failure or abort forgets the session) → ``connected``, ``on_connected``, ``on_bot_connected``,
  then the client's hook (``Transport.connected_now``: it sends ``client-ready``). A transport
  whose pipe opens in a browser event reports all that from the event itself
  (:meth:`~SessionTransport._pipe_opened`), in the same order, without waiting for the awaiting
  coroutine to resume;
- ``disconnect()``: ``disconnecting`` → close the session → release the devices →
  ``disconnected``, ``on_disconnected`` (a second call only releases the devices again);
- the bot left (``on_bot_disconnected`` once per session, then disconnect), and giving up
  after the reconnects (a fatal ``error``, bot-disconnected, disconnect).

A session is a :class:`TransportSession` (its tasks, reconnect attempts, bot and the
``bot_left`` / ``closed`` flags), subclassed by each transport (``small_webrtc.session.Session``,
``websocket.socket.SocketSession``). Pure asyncio: nothing here touches ``js``, so the lifecycle
is unit-tested in CPython (``tests/unit/test_transport_lifecycle.py``, on a fake clock).
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, Generic, TypeVar

from ..abort import AbortSignal
from ..errors import AbortError, TransportStartError
from ..state import TransportState
from ..transport import Participant, Transport, transport_error
from .common import open_or_abort
from .reconnect import ReconnectAttempts, ReconnectPolicy
from .tasks import TaskSet

logger = logging.getLogger("rtvi.transports")


class TransportSession:
    """What every session has: its tasks, its reconnect attempts, its bot and two flags."""

    def __init__(self, policy: ReconnectPolicy, *, bot_id: str, log: logging.Logger) -> None:
        self.tasks = TaskSet(log)
        self.attempts = ReconnectAttempts(policy)
        self.bot = Participant(id=bot_id, name="bot")
        self.bot_left = False  # bot-disconnected was reported (once per session)
        self.closed = False
        self.connected = False  # connected was reported (once per session)
        #: The abort signal of the connect() that opens this session.
        self.abort: AbortSignal | None = None

    @property
    def reconnecting(self) -> bool:
        return self.attempts.running


S = TypeVar("S", bound=TransportSession)


class SessionTransport(Transport, Generic[S]):
    """A :class:`~rtvi.transport.Transport` whose ``connect()`` opens one session ``S``."""

    #: Names the pipe in "<what> connection failed: ..." errors.
    pipe_name: ClassVar[str] = "transport"

    def __init__(
        self, log: logging.Logger = logger, describe: Callable[[BaseException], str] = str
    ) -> None:
        super().__init__()
        self._session: S | None = None
        self._log = log
        self._describe = describe
        self._background = TaskSet(log)

    # --- what a transport says -------------------------------------------------------------

    @abstractmethod
    def _new_session(self, auth_bundle: Any) -> S:
        """A session for ``auth_bundle`` (not opened); raises when there is nowhere to go."""

    @abstractmethod
    async def _open(self, session: S) -> None:
        """Open ``session``'s pipe; returns once it is open (the lifecycle handles failures)."""

    def _opened(self, session: S) -> None:
        """``session`` just opened: start its tasks (called before ``connected``)."""

    def _connected(self, session: S) -> None:
        """``connected`` was reported (e.g. the bot's track, when it exists from the start)."""

    @abstractmethod
    async def _close_session(self, session: S) -> None:
        """Close ``session`` (once: it is marked ``closed``) and wait for its tasks."""

    @abstractmethod
    def _release_devices(self) -> None:
        """Stop the local tracks and the device watch (disconnect's last step)."""

    # --- the lifecycle ---------------------------------------------------------------------

    async def connect(self, auth_bundle: Any, abort: AbortSignal) -> None:
        if self._session is not None:
            raise TransportStartError("already connected: disconnect() first")
        session = self._new_session(auth_bundle)
        session.abort = abort
        self.state = TransportState.CONNECTING
        self._session = session
        await open_or_abort(
            self._open(session),
            abort,
            cleanup=lambda: self._forget_session(session),
            what=self.pipe_name,
            describe=self._describe,
        )
        if self._session is not session:  # disconnect() won the race
            raise AbortError()
        self._report_connected(session)  # unless _pipe_opened did already

    def _report_connected(self, session: S) -> None:
        """``connected`` and its reports, then the client's hook; once per session."""
        if session.connected:
            return
        self._opened(session)
        self.state = TransportState.CONNECTED
        session.connected = True
        self.callbacks.on_connected()
        self.callbacks.on_bot_connected(session.bot)
        self._connected(session)
        self.connected_now()

    def _pipe_opened(self, session: S) -> None:
        """``session``'s pipe just opened (called from the browser's event): if it is the
        first opening of the connect() in flight, report ``connected`` now, in this step (the
        client's hook then sends ``client-ready``); else (a reconnect, an abort, a state that
        is not ``connecting``) leave it to the awaiting ``connect()``."""
        if (
            session.connected
            or not self._is_current(session)
            or self.state != TransportState.CONNECTING
            or session.abort is None
            or session.abort.aborted
        ):
            return
        self._report_connected(session)

    async def disconnect(self) -> None:
        session, self._session = self._session, None
        if session is None and self.state in (
            TransportState.DISCONNECTED,
            TransportState.DISCONNECTING,
        ):
            self._release_devices()
            return
        self.state = TransportState.DISCONNECTING
        if session is not None and not session.closed:
            await self._close_session(session)
        self._release_devices()
        self.state = TransportState.DISCONNECTED
        self.callbacks.on_disconnected()

    async def _forget_session(self, session: S) -> None:
        """A connect() failed or was aborted: close ``session`` and let it go."""
        if not session.closed:
            await self._close_session(session)
        if self._session is session:
            self._session = None

    def _is_current(self, session: S) -> bool:
        return not session.closed and self._session is session

    # --- the end of a session --------------------------------------------------------------

    def _report_bot_left(self, session: S) -> None:
        """bot-disconnected, once: a bot's goodbye is usually followed by its pipe closing."""
        if not session.bot_left:
            session.bot_left = True
            self.callbacks.on_bot_disconnected(session.bot)

    def _bot_left(self, session: S) -> None:
        """The bot ended the session: report it and disconnect (in the background), unless the
        client was made with ``disconnect_on_bot_disconnect=False``."""
        if not self._is_current(session) or session.bot_left:
            return
        self._report_bot_left(session)
        if self._options is None or self._options.disconnect_on_bot_disconnect:
            self._start_background(self.disconnect())

    async def _give_up(self, session: S, text: str) -> None:
        """The connection is lost for good: a fatal error, bot-disconnected, disconnect."""
        if not self._is_current(session):
            return
        self._log.warning(text)
        self.callbacks.on_error(transport_error(text, fatal=True))
        self._report_bot_left(session)
        await self.disconnect()

    def _start_background(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """A task of the transport (not of a session): it may outlive a disconnect."""
        return self._background.start(coro)
