"""Noticing that a connection is gone before the network stack does: the liveness watch.

Transport-agnostic and free of ``js``. Three timers, each run by the transport as a task of its
session, all on an injectable :class:`Clock` (unit tests use a fake one that needs no waiting):

- **keepalive**: call ``ping()`` every ``keepalive_interval`` seconds (a failing ping is logged);
- **media stall**: sample an inbound packet counter; once packets have flowed, a counter that
  stops growing for ``media_timeout`` seconds means the peer is gone (:class:`PacketStall`);
- **consent grace**: a connection that looks lost (ICE ``disconnected``) is given
  ``grace`` seconds to recover before it is declared lost.

Each timer reports a loss by calling ``on_lost(reason)``; what to do then (reconnect) is the
transport's business (:mod:`rtvi.transports.reconnect`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger("rtvi.transports")


class Clock(Protocol):
    """Monotonic seconds and a sleep: the loop's in production, a fake one in tests."""

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The running event loop's clock (``loop.time()``, ``asyncio.sleep``)."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class PacketStall:
    """An inbound packet counter that stopped growing for ``timeout`` seconds.

    Arms at the first packet (a peer that sends nothing is not mistaken for a dead one) and
    starts again whenever the counter's ``source`` changes (a rebuilt connection counts anew).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._source: object = None
        self._packets = 0
        self._changed = 0.0

    def forget(self) -> None:
        """Nothing to compare with any more (e.g. the connection is being rebuilt)."""
        self._source = None

    def observe(self, source: object, packets: int, now: float) -> float | None:
        """Seconds without a new packet when that reaches ``timeout`` (then forgets), else None."""
        if source is not self._source or packets != self._packets:
            self._source, self._packets, self._changed = source, packets, now
            return None
        stalled = now - self._changed
        if self._packets > 0 and stalled >= self.timeout:
            self.forget()
            return stalled
        return None


#: A packet counter sample: (the counter's source, packets so far), or None (nothing to sample).
PacketSample = tuple[object, int] | None


@dataclass(frozen=True)
class LivenessTimings:
    """Seconds; ``media_timeout=None`` (or 0) turns the media stall watch off."""

    keepalive_interval: float = 1.0
    media_timeout: float | None = 2.0
    grace: float = 2.0


class LivenessWatch:
    """The three liveness timers of one session; a loss is reported to ``on_lost(reason)``."""

    def __init__(
        self,
        timings: LivenessTimings,
        on_lost: Callable[[str], None],
        *,
        clock: Clock | None = None,
        log: logging.Logger = logger,
        describe: Callable[[BaseException], str] = str,
    ) -> None:
        self.timings = timings
        self.on_lost = on_lost
        self.clock: Clock = clock or LoopClock()
        self._log = log
        self._describe = describe

    async def keepalive(self, ping: Callable[[], None], running: Callable[[], bool]) -> None:
        """``ping()`` now and every ``keepalive_interval`` while ``running()``."""
        while running():
            try:
                ping()
            except Exception as exc:
                self._log.debug("keepalive send failed: %s", self._describe(exc))
            await self.clock.sleep(self.timings.keepalive_interval)

    async def watch_packets(
        self,
        sample: Callable[[], Awaitable[PacketSample]],
        running: Callable[[], bool],
        what: str = "media",
    ) -> None:
        """Sample ``sample()`` while ``running()``; a stall is ``on_lost("no <what> for N s")``.

        ``sample()`` returning None (nothing to measure now) resets the watch; one that raises
        is skipped (logged).
        """
        timeout = self.timings.media_timeout
        if not timeout:
            return
        stall = PacketStall(timeout)
        while running():
            await self.clock.sleep(min(0.5, timeout / 2))
            try:
                sampled = await sample()
            except Exception as exc:
                self._log.debug("packet count failed: %s", self._describe(exc))
                continue
            if sampled is None:
                stall.forget()
                continue
            source, packets = sampled
            stalled = stall.observe(source, packets, self.clock.time())
            if stalled is not None:
                self.on_lost(f"no {what} for {stalled:.1f} s")

    async def confirm_lost(self, still_lost: Callable[[], bool], what: str) -> None:
        """After ``grace`` seconds, ``on_lost(what)`` if ``still_lost()``: time to recover."""
        await self.clock.sleep(self.timings.grace)
        if still_lost():
            self.on_lost(f"{what} for {self.timings.grace:g} s")
