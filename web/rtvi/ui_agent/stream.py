"""When a snapshot stream takes and sends a snapshot (pure: the page and the clock are given).

client-js's ``A11ySnapshotStreamer`` takes a snapshot ``debounceMs`` (300) after the last change
it saw (a DOM mutation, focus, scroll end, resize, the tab shown again, the selection, a form
edit) and sends it, or keeps the latest until the session is ``ready``. pyrtvi does the same,
and two things more:

- **a cap on the wait**: changes that never pause (a ticking clock, a progress bar) would
  postpone client-js's snapshot forever; here one is taken at the latest ``max_wait`` after the
  first change of a burst (default: four debounces, at least a second);
- **no repeats**: a snapshot showing exactly what the last one sent showed (``captured_at``
  aside) is not sent again (the bot keeps the latest anyway), so a scroll that moves nothing
  in or out of view costs no message.

:class:`SnapshotStream` holds that policy; :class:`~rtvi.ui_agent.dom.A11ySnapshotStreamer`
feeds it the page's changes and :mod:`rtvi.ui_agent.client` its session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .tree import count_nodes, same_tree

logger = logging.getLogger("rtvi.ui_agent")

Snapshot = dict[str, Any]


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the stream needs of an event loop (``asyncio``'s has it)."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer: ...


@dataclass(frozen=True)
class StreamOptions:
    """client-js's ``A11ySnapshotStreamerOptions`` (in seconds), plus ``max_wait``."""

    #: Quiet time after the last change before a snapshot is taken (client-js ``debounceMs``).
    debounce: float = 0.3
    #: Mark nodes wholly outside the viewport ``offscreen`` (client-js ``trackViewport``).
    track_viewport: bool = True
    #: Log each snapshot taken (client-js ``logSnapshots``).
    log_snapshots: bool = False
    #: The longest a change waits for its snapshot; ``None``: ``max(4 * debounce, 1.0)``.
    max_wait: float | None = None

    def __post_init__(self) -> None:
        if self.debounce < 0:
            raise ValueError("debounce must be >= 0 seconds")
        if self.max_wait is not None and self.max_wait < self.debounce:
            raise ValueError("max_wait must be >= debounce")

    @property
    def wait_cap(self) -> float:
        return self.max_wait if self.max_wait is not None else max(4 * self.debounce, 1.0)


class SnapshotStream:
    """Debounces changes into snapshots and sends each one that shows something new.

    ``capture()`` takes a snapshot; ``send(snapshot)`` sends it and returns ``False`` when the
    session cannot take it now (not ``ready``): the latest such snapshot is kept and sent by
    :meth:`flush` (called when the session becomes ready). ``loop`` times the debounce
    (``call_later``: the browser's ``setTimeout`` under Pyodide).
    """

    def __init__(
        self,
        capture: Callable[[], Snapshot],
        send: Callable[[Snapshot], bool],
        options: StreamOptions | None = None,
        loop: Clock | None = None,
    ) -> None:
        self.options = options or StreamOptions()
        self._capture = capture
        self._send = send
        self._loop = loop
        self._timer: Timer | None = None
        self._burst_started: float | None = None
        self._last_sent: Snapshot | None = None
        self.pending: Snapshot | None = None
        self.running = False
        #: Snapshots taken and sent (the bench and the tests read them).
        self.taken = 0
        self.sent = 0

    def _clock(self) -> Clock:
        if self._loop is None:
            self._loop = asyncio.get_event_loop()
        return self._loop

    def start(self) -> None:
        """Begin: a first snapshot after one debounce. Starting twice is harmless."""
        if self.running:
            return
        self.running = True
        self.changed()

    def stop(self) -> None:
        """Stop: the pending timer and the snapshot kept for ``ready`` are dropped."""
        self.running = False
        self.pending = None
        self._burst_started = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def changed(self) -> None:
        """The page changed: take a snapshot after the debounce (or at the wait cap)."""
        if not self.running:
            return
        loop = self._clock()
        now = loop.time()
        if self._burst_started is None:
            self._burst_started = now
        due = min(now + self.options.debounce, self._burst_started + self.options.wait_cap)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(due, self._emit)

    def _emit(self) -> None:
        self._timer = None
        self._burst_started = None
        if not self.running:
            return
        try:
            snapshot = self._capture()
        except Exception:  # a page's odd DOM must not break the session
            logger.exception("UI snapshot failed")
            return
        self.taken += 1
        if self.options.log_snapshots:
            logger.info("UI snapshot: %d nodes", count_nodes(snapshot["root"]))
        self.offer(snapshot)

    def offer(self, snapshot: Snapshot) -> None:
        """Send ``snapshot`` unless it repeats the last one sent; keep it if not ready."""
        if same_tree(snapshot, self._last_sent):
            self.pending = None
            return
        if self._send(snapshot):
            self._last_sent = snapshot
            self.pending = None
            self.sent += 1
        else:
            self.pending = snapshot

    def flush(self) -> None:
        """The session became ready: send the snapshot kept for it, if any."""
        if self.running and self.pending is not None:
            self.offer(self.pending)
