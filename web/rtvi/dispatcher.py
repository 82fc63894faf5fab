"""Request/reply correlation by message id, with a timeout on every request.

The JS 0.x dispatcher silently forgets requests after 10 s, leaving the caller waiting forever.
Here each pending request owns an asyncio future that always settles: with the reply, with an
:class:`~rtvi.errors.ErrorResponse` / :class:`~rtvi.errors.UnsupportedFeatureError` when the
bot answers ``error-response``, with :class:`~rtvi.errors.RequestTimeoutError` after its
timeout, or with :class:`~rtvi.errors.RequestCancelledError` when the session ends. Which
message types settle a request is :func:`rtvi.routing.settles`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from .errors import (
    ErrorResponse,
    RequestCancelledError,
    RequestTimeoutError,
    RTVIError,
    UnsupportedFeatureError,
    error_text,
)
from .messages import MessageType, RTVIMessage

DEFAULT_REQUEST_TIMEOUT = 10.0


def is_unsupported_type(text: str) -> bool:
    """Pipecat answers message types it does not handle with ``Unsupported type <type>``."""
    return text.lower().startswith("unsupported type")


def error_for_response(message: RTVIMessage, request_type: str | None) -> RTVIError:
    """The typed error for an ``error-response`` to a request of ``request_type``."""
    text = error_text(message.data)
    if is_unsupported_type(text):
        exc: RTVIError = UnsupportedFeatureError(
            f"message type {request_type or '?'!r}", "the bot", text
        )
        exc.rtvi_message = message  # type: ignore[attr-defined]
        return exc
    return ErrorResponse(message)


#: A timer may fire this much before its deadline by the loop's clock (asyncio runs a timer
#: within its clock resolution; a browser's setTimeout and ``performance.now()`` differ a little).
_EARLY = 0.001


@dataclass
class _Pending:
    request_type: str
    future: asyncio.Future[RTVIMessage]
    #: Loop time it times out at (``None``: never), the seconds that makes, and which entry of
    #: the deadline heap is this request's.
    deadline: float | None
    seconds: float
    token: int


class Dispatcher:
    """Pending requests keyed by message id.

    The timeouts share one loop timer, armed for the earliest deadline (a request answered
    in time leaves its heap entry to be skipped): in Pyodide every timer is a JS
    ``setTimeout`` with a proxy, made when the request is sent and run when it expires
    (cancelled or not), which a round trip need not pay for.
    """

    def __init__(self, default_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> None:
        self.default_timeout = default_timeout
        self._pending: dict[str, _Pending] = {}
        self._deadlines: list[tuple[float, int, str]] = []  # a heap: (deadline, token, id)
        self._tokens = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._pending

    def register(
        self, message: RTVIMessage, timeout: float | None = None
    ) -> asyncio.Future[RTVIMessage]:
        """Start waiting for the reply to ``message`` (before sending it)."""
        future = self._add(message, timeout)
        future.add_done_callback(lambda _f: self._forget(message.id, future))
        return future

    async def request(
        self,
        message: RTVIMessage,
        send: Callable[[RTVIMessage], None],
        timeout: float | None = None,
    ) -> RTVIMessage:
        """Register, send and await the reply; a failed send fails the request at once.

        Unlike :meth:`register`, no done callback: in Pyodide each one is a task of its own
        that the awaiting coroutine would wake up behind; a cancelled wait is forgotten here.
        """
        future = self._add(message, timeout)
        try:
            send(message)
        except BaseException as exc:
            self._settle_exception(message.id, exc)
            raise
        try:
            return await future
        finally:
            if future.cancelled():
                self._forget(message.id, future)

    def resolve(self, message: RTVIMessage) -> bool:
        """Settle the request ``message`` answers. Returns whether one was pending."""
        pending = self._pending.pop(message.id, None) if message.id else None
        if pending is None:
            return False
        if message.type == MessageType.ERROR_RESPONSE:
            if not pending.future.done():
                pending.future.set_exception(error_for_response(message, pending.request_type))
        elif not pending.future.done():
            pending.future.set_result(message)
        return True

    def request_type(self, message_id: str) -> str | None:
        pending = self._pending.get(message_id)
        return pending.request_type if pending else None

    def fail(self, message_id: str, exc: BaseException) -> bool:
        return self._settle_exception(message_id, exc)

    def cancel_all(self, exc: BaseException | None = None) -> None:
        """Fail every pending request (the session is over)."""
        for message_id in list(self._pending):
            self._settle_exception(message_id, exc or RequestCancelledError())

    # --- internals ----------------------------------------------------------------------------

    def _add(self, message: RTVIMessage, timeout: float | None) -> asyncio.Future[RTVIMessage]:
        loop = asyncio.get_running_loop()
        if message.id in self._pending:
            raise RTVIError(f"a request with id {message.id} is already pending")
        future: asyncio.Future[RTVIMessage] = loop.create_future()
        seconds = self.default_timeout if timeout is None else timeout
        token = next(self._tokens)
        deadline = None
        if seconds is not None and seconds > 0:
            deadline = loop.time() + seconds
            if not self._pending:
                self._deadlines.clear()  # only answered requests' entries are left
            heapq.heappush(self._deadlines, (deadline, token, message.id))
            self._arm(loop, deadline)
        self._pending[message.id] = _Pending(str(message.type), future, deadline, seconds, token)
        return future

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        """Have the timer fire by ``when``."""
        if self._timer is not None and self._timer_loop is loop and self._timer_at <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._on_timer, loop)
        self._timer_at = when
        self._timer_loop = loop

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        """Expire what is due; arm the timer for the next deadline of a pending request."""
        self._timer = None
        now = loop.time() + _EARLY
        heap = self._deadlines
        while heap:
            when, token, message_id = heap[0]
            pending = self._pending.get(message_id)
            if pending is not None and pending.token == token and when > now:
                self._arm(loop, when)
                return
            heapq.heappop(heap)
            if pending is not None and pending.token == token:
                self._settle_exception(
                    message_id,
                    RequestTimeoutError(pending.request_type, message_id, pending.seconds),
                )

    def _settle_exception(self, message_id: str, exc: BaseException) -> bool:
        pending = self._pending.pop(message_id, None)
        if pending is None:
            return False
        if not pending.future.done():
            pending.future.set_exception(exc)
        return True

    def _forget(self, message_id: str, future: asyncio.Future[RTVIMessage]) -> None:
        # The awaiting task was cancelled: drop the entry (its deadline is skipped).
        pending = self._pending.get(message_id)
        if pending is not None and pending.future is future:
            del self._pending[message_id]
