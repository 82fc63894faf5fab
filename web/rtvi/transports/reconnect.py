"""The reconnect policy of a transport: how many attempts, how far apart, which failure ends them.

Transport-agnostic and free of ``js``: a transport hands :func:`reconnect` a coroutine function
that rebuilds its pipe (a new peer connection, a new WebSocket...) and a ``sleep``; the rules
live here and are unit-tested in CPython:

- at most ``attempts`` failed attempts in a row, ``delay`` seconds apart (with ``max_delay``
  set, the delay doubles after each failure up to it); a connection that becomes healthy again
  (:meth:`ReconnectAttempts.reset`) starts the count afresh;
- a 4xx answer (other than 408 Request Timeout and 429 Too Many Requests) ends the attempts at
  once: the server knows the session is gone (404 after a bot restart, 410 once its bot exited),
  so asking again cannot help; likewise a WebSocket close code the bot meant
  (:data:`FINAL_CLOSE_CODES`, :meth:`ReconnectPolicy.is_final`);
- an :class:`~rtvi.errors.AbortError` from the rebuild (the transport is closing) ends them quietly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..errors import AbortError

logger = logging.getLogger("rtvi.transports")

#: 4xx statuses that say "try again later", not "never": they do not end the attempts.
RETRYABLE_4XX = frozenset({408, 429})

#: WebSocket close codes after which reconnecting cannot help: policy (origin), unknown session,
#: too many connections, message too big, and the normal closes.
FINAL_CLOSE_CODES = frozenset({1000, 1008, 1009, 4404, 4429})


@dataclass(frozen=True)
class ReconnectPolicy:
    """``attempts`` failed rebuilds in a row at most, ``delay`` seconds apart.

    With ``max_delay``, the delay doubles after each failed attempt, up to ``max_delay``.
    """

    attempts: int = 3
    delay: float = 1.0
    max_delay: float | None = None

    def __post_init__(self) -> None:
        if self.attempts < 0 or self.delay < 0:
            raise ValueError("attempts and delay must be ≥ 0")
        if self.max_delay is not None and self.max_delay < self.delay:
            raise ValueError("max_delay must be ≥ delay")

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (1-based) after the previous."""
        if self.max_delay is None:
            return self.delay
        return min(self.delay * float(2 ** max(0, attempt - 1)), self.max_delay)

    @staticmethod
    def is_final(close_code: int) -> bool:
        """A WebSocket close the bot meant: no attempt can succeed."""
        return close_code in FINAL_CLOSE_CODES

    def refusal(self, exc: BaseException) -> str | None:
        """Why ``exc`` ends the attempts at once (an HTTP 4xx refusal), or ``None``."""
        status = getattr(exc, "status", None)
        if isinstance(status, int) and 400 <= status < 500 and status not in RETRYABLE_4XX:
            return f"the bot refused to reconnect (HTTP {status})"
        return None

    @property
    def exhausted_reason(self) -> str:
        return f"gave up after {self.attempts} reconnect attempt{'s' * (self.attempts != 1)}"


class ReconnectAttempts:
    """The failed attempts in a row of one session, and whether a reconnect is running."""

    def __init__(self, policy: ReconnectPolicy) -> None:
        self.policy = policy
        self.failed = 0
        self.running = False

    @property
    def exhausted(self) -> bool:
        return self.failed >= self.policy.attempts

    def begin(self) -> bool:
        """Mark a reconnect as running; False if one already is (then do not start another)."""
        if self.running:
            return False
        self.running = True
        return True

    def reset(self) -> None:
        """The connection is healthy again: the next trouble gets all its attempts."""
        self.failed = 0


@dataclass(frozen=True)
class ReconnectResult:
    """How a :func:`reconnect` run ended: ``reconnected``, ``aborted``, or gave up (``reason``)."""

    reconnected: bool = False
    aborted: bool = False
    reason: str = ""

    @property
    def gave_up(self) -> bool:
        return not self.reconnected and not self.aborted


async def reconnect(
    attempts: ReconnectAttempts,
    rebuild: Callable[[], Awaitable[None]],
    *,
    closed: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    log: logging.Logger = logger,
    describe: Callable[[BaseException], str] = str,
    wait_first: bool = False,
) -> ReconnectResult:
    """Run ``rebuild()`` until it succeeds, the policy gives up, or ``closed()`` turns true.

    ``attempts.running`` is cleared when this returns (or is cancelled); ``describe`` turns a
    failure into log text (e.g. a JS exception's name and message). ``wait_first``: wait the
    delay before the first attempt too (a WebSocket just closed: give the bot a moment).
    """
    policy = attempts.policy
    attempts.running = True
    try:
        while not attempts.exhausted and not closed():
            if wait_first:
                await sleep(policy.delay_before(attempts.failed + 1))
                if closed():
                    return ReconnectResult(aborted=True)
            attempts.failed += 1
            attempt = attempts.failed
            log.info("reconnecting, attempt %d of %d", attempt, policy.attempts)
            try:
                await rebuild()
            except AbortError:
                return ReconnectResult(aborted=True)
            except Exception as exc:
                log.warning("reconnect attempt %d failed: %s", attempt, describe(exc))
                refusal = policy.refusal(exc)
                if refusal is not None:
                    return ReconnectResult(reason=refusal)
            else:
                log.info("reconnected (attempt %d)", attempt)
                return ReconnectResult(reconnected=True)
            if not attempts.exhausted and not wait_first:
                await sleep(policy.delay_before(attempt + 1))
        return ReconnectResult(reason=policy.exhausted_reason)
    finally:
        attempts.running = False
