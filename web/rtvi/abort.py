"""A tiny AbortController/AbortSignal pair, the Python twin of the browser's.

``RTVIClient.connect()`` creates one per attempt and hands the signal to the custom connect
handler and to ``Transport.connect``; ``disconnect()`` (or the connect timeout) aborts it.
Long-running work can poll ``signal.aborted``, register a callback, or ``await signal.wait()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .errors import AbortError

logger = logging.getLogger("rtvi")


class AbortSignal:
    def __init__(self) -> None:
        self._aborted = False
        self.reason: Any = None
        self._callbacks: list[Callable[[Any], object]] = []
        self._event: asyncio.Event | None = None

    @property
    def aborted(self) -> bool:
        return self._aborted

    def add_callback(self, callback: Callable[[Any], object]) -> Callable[[], None]:
        """Call ``callback(reason)`` on abort (at once if already aborted); returns a remover."""
        if self._aborted:
            callback(self.reason)
            return lambda: None
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    async def wait(self) -> Any:
        """Wait until aborted; returns the reason."""
        if not self._aborted:
            if self._event is None:
                self._event = asyncio.Event()
            await self._event.wait()
        return self.reason

    def throw_if_aborted(self) -> None:
        if self._aborted:
            if isinstance(self.reason, BaseException):
                raise self.reason
            raise AbortError()

    def _abort(self, reason: Any) -> None:
        if self._aborted:
            return
        self._aborted = True
        self.reason = reason if reason is not None else AbortError()
        if self._event is not None:
            self._event.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(self.reason)
            except Exception:
                logger.exception("abort callback failed")


class AbortController:
    def __init__(self) -> None:
        self.signal = AbortSignal()

    def abort(self, reason: Any = None) -> None:
        self.signal._abort(reason)
