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


@dataclass
class _Pending:
    request_type: str
    future: asyncio.Future[RTVIMessage]
    timer: asyncio.TimerHandle | None


class Dispatcher:
    """Pending requests keyed by message id."""

    def __init__(self, default_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> None:
        self.default_timeout = default_timeout
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._pending

    def register(
        self, message: RTVIMessage, timeout: float | None = None
    ) -> asyncio.Future[RTVIMessage]:
        """Start waiting for the reply to ``message`` (before sending it)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RTVIMessage] = loop.create_future()
        seconds = self.default_timeout if timeout is None else timeout
        timer = None
        if seconds is not None and seconds > 0:
            timer = loop.call_later(seconds, self._expire, message.id, seconds)
        if message.id in self._pending:
            raise RTVIError(f"a request with id {message.id} is already pending")
        self._pending[message.id] = _Pending(str(message.type), future, timer)
        future.add_done_callback(lambda _f: self._forget(message.id, future))
        return future

    async def request(
        self,
        message: RTVIMessage,
        send: Callable[[RTVIMessage], None],
        timeout: float | None = None,
    ) -> RTVIMessage:
        """Register, send and await the reply; a failed send fails the request at once."""
        future = self.register(message, timeout)
        try:
            send(message)
        except BaseException as exc:
            self._settle_exception(message.id, exc)
            raise
        return await future

    def resolve(self, message: RTVIMessage) -> bool:
        """Settle the request ``message`` answers. Returns whether one was pending."""
        pending = self._pending.pop(message.id, None) if message.id else None
        if pending is None:
            return False
        self._cancel_timer(pending)
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

    def _expire(self, message_id: str, seconds: float) -> None:
        pending = self._pending.get(message_id)
        if pending is not None:
            self._settle_exception(
                message_id, RequestTimeoutError(pending.request_type, message_id, seconds)
            )

    def _settle_exception(self, message_id: str, exc: BaseException) -> bool:
        pending = self._pending.pop(message_id, None)
        if pending is None:
            return False
        self._cancel_timer(pending)
        if not pending.future.done():
            pending.future.set_exception(exc)
        return True

    def _forget(self, message_id: str, future: asyncio.Future[RTVIMessage]) -> None:
        # The awaiting task was cancelled: drop the entry and its timer.
        pending = self._pending.get(message_id)
        if pending is not None and pending.future is future:
            del self._pending[message_id]
            self._cancel_timer(pending)

    @staticmethod
    def _cancel_timer(pending: _Pending) -> None:
        if pending.timer is not None:
            pending.timer.cancel()
            pending.timer = None
