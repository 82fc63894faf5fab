"""One ``RTVIClient.connect()`` in flight: its phase (and when it entered each,
:class:`~rtvi.timings.ConnectTimings`), its task, its abort signal, and the future that
``bot-ready`` (or a failure) settles."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from .abort import AbortController
from .errors import RTVIError, TransportStartError
from .state import CLOSING_STATES, ConnectPhase, TransportState
from .timings import BOT_READY, ConnectTimings


def being_cancelled() -> bool:
    """Whether the current task has been asked to stop (``Task.cancel()``)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def transport_step(step: Awaitable[None]) -> None:
    """Await one transport call of the connect flow; a foreign exception becomes a
    :class:`TransportStartError` (RTVI errors and cancellation pass as they are)."""
    try:
        await step
    except (RTVIError, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise TransportStartError(f"Unable to connect to transport: {exc}") from exc


def swallow(future: asyncio.Future[Any]) -> None:
    """A done callback: the future's exception counts as retrieved (no "never retrieved" log)."""
    if not future.cancelled():
        future.exception()


class ConnectAttempt:
    """Runs ``run(attempt)`` as a task; ``bot_ready`` is what that task waits for last."""

    def __init__(self, run: Callable[[ConnectAttempt], Coroutine[Any, Any, Any]]) -> None:
        self.abort = AbortController()
        self._loop = asyncio.get_running_loop()
        self.bot_ready: asyncio.Future[Any] = self._loop.create_future()
        self.bot_ready.add_done_callback(swallow)
        #: When this attempt entered each phase, and when ``bot-ready`` arrived.
        self.timings = ConnectTimings()
        self.phase = ConnectPhase.INIT
        self.interrupted = False  # stopped by disconnect(), the timeout or a cancelled caller
        self.task: asyncio.Task[Any] = asyncio.ensure_future(run(self))
        self.task.add_done_callback(swallow)

    @property
    def phase(self) -> ConnectPhase:
        return self._phase

    @phase.setter
    def phase(self, phase: ConnectPhase) -> None:
        self._phase = phase
        self.timings = self.timings.mark(str(phase), self._loop.time())

    @property
    def running(self) -> bool:
        return not self.task.done()

    def complete(self, data: Any) -> None:
        """``bot-ready`` arrived."""
        if not self.bot_ready.done():
            self.timings = self.timings.mark(BOT_READY, self._loop.time())
            self.bot_ready.set_result(data)

    def fail(self, exc: BaseException) -> bool:
        """Fail the wait for ``bot-ready``; False when it is not waiting any more."""
        if self.bot_ready.done():
            return False
        self.bot_ready.set_exception(exc)
        return True

    def on_transport_state(self, state: TransportState) -> None:
        """The transport closing (or failing) once asked to connect fails the attempt."""
        if self.phase.uses_transport and (state in CLOSING_STATES or state == TransportState.ERROR):
            self.fail(TransportStartError(f"The transport went {state} before the bot was ready"))

    async def stop(self, reason: RTVIError) -> None:
        """Abort and cancel the attempt, and wait until its task has finished."""
        self.interrupted = True
        self.abort.abort(reason)
        if not self.task.done() and self.task is not asyncio.current_task():
            self.task.cancel()
            await asyncio.wait([self.task])
