"""When one ``connect()`` reached each of its phases: :class:`ConnectTimings`. Pure.

The client stamps a mark as its connect enters each :class:`~rtvi.state.ConnectPhase` and when
``bot-ready`` arrives (on the event loop's clock, seconds); ``RTVIClient.connect_timings`` hands
out the record of the last connect, read-only. A page shows the split from it: how long the
devices, the start (auth) request, the transport (WebRTC: offer, ICE and data channel; WebSocket:
the socket) and the wait for ``bot-ready`` each took.
"""

from __future__ import annotations

from dataclasses import dataclass

from .state import ConnectPhase

#: The mark set when ``bot-ready`` arrives (after the phases' own marks).
BOT_READY = "bot_ready"

#: Every mark, in the order a connect sets them: the phases, then ``bot-ready``.
MARKS: tuple[str, ...] = (*(str(phase) for phase in ConnectPhase), BOT_READY)


@dataclass(frozen=True)
class ConnectTimings:
    """The marks one connect set so far, in order: ``(name, seconds)`` (names from :data:`MARKS`).

    Immutable: each mark makes a new record, so what a caller holds never changes under it.
    """

    marks: tuple[tuple[str, float], ...] = ()

    def mark(self, name: str, at: float) -> ConnectTimings:
        """This record with ``name`` marked at ``at`` (a name marked already keeps its time)."""
        if self.at(name) is not None:
            return self
        return ConnectTimings((*self.marks, (name, at)))

    def at(self, name: str) -> float | None:
        """When ``name`` was marked (seconds on the loop's clock), or ``None``."""
        for mark, at in self.marks:
            if mark == name:
                return at
        return None

    @property
    def complete(self) -> bool:
        """``bot-ready`` arrived."""
        return self.at(BOT_READY) is not None

    def split_ms(self) -> dict[str, float]:
        """Each finished phase's duration in milliseconds, by phase name (``init``, ``auth``,
        ``transport``, ``ready``): from its mark to the next one; a phase still running (or
        skipped) is absent."""
        split: dict[str, float] = {}
        for (name, start), (_next, end) in zip(self.marks, self.marks[1:], strict=False):
            if name != BOT_READY:
                split[name] = round((end - start) * 1000, 1)
        return split

    @property
    def total_ms(self) -> float | None:
        """From the connect's start to ``bot-ready`` in milliseconds; ``None`` until then."""
        end = self.at(BOT_READY)
        if end is None or not self.marks:
            return None
        return round((end - self.marks[0][1]) * 1000, 1)
