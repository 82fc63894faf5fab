"""When to try reconnecting a lost WebSocket, and when to give up: a pure policy object.

The transport asks :meth:`ReconnectPolicy.next_delay` after each loss or failed attempt and stops
when it answers ``None``; :meth:`ReconnectPolicy.succeeded` starts the count over. Some losses are
final whatever the count (the bot refused us: origin, unknown session). Kept behind this narrow
interface (``next_delay``, ``succeeded``, ``is_final``) so a shared policy can replace it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Close codes after which reconnecting cannot help: policy (origin), unknown session, too many
#: connections, message too big, and the normal closes.
FINAL_CLOSE_CODES = frozenset({1000, 1008, 1009, 4404, 4429})


@dataclass
class ReconnectPolicy:
    """``attempts`` tries in a row, ``delay`` s before the first, doubling up to ``max_delay``."""

    attempts: int = 3
    delay: float = 0.5
    max_delay: float = 4.0
    failures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.attempts < 0 or self.delay < 0 or self.max_delay < self.delay:
            raise ValueError("attempts and delays must be ≥ 0, with max_delay ≥ delay")

    def next_delay(self) -> float | None:
        """Seconds to wait before the next attempt, or ``None``: give up."""
        if self.failures >= self.attempts:
            return None
        delay = min(self.delay * float(2**self.failures), self.max_delay)
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        self.failures = 0

    @staticmethod
    def is_final(close_code: int) -> bool:
        """A close the bot meant: no attempt can succeed."""
        return close_code in FINAL_CLOSE_CODES

    def give_up_reason(self) -> str:
        return f"gave up after {self.failures} reconnect attempt{'s' * (self.failures != 1)}"
