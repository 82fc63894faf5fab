"""``TaskSet``: the asyncio tasks a transport (or one of its sessions) started, ended together.

A task that fails is logged, never lost; ``cancel()`` spares the task that calls it, so a task may
close the session it belongs to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")

logger = logging.getLogger("rtvi.transports")


class TaskSet:
    """Tasks started by one owner; each leaves the set when done."""

    def __init__(self, logger: logging.Logger = logger) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._logger = logger

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, coro: Awaitable[T]) -> asyncio.Task[T]:
        task: asyncio.Task[T] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._log_failure)
        return task

    def cancel(self) -> None:
        """Cancel every task but the current one."""
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    async def wait(self) -> None:
        """Wait until every task but the current one has ended (their errors are logged)."""
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        self.cancel()
        await self.wait()

    def _log_failure(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._logger.error("transport task failed", exc_info=task.exception())
