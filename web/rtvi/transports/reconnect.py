"""The reconnect policy of a transport: how many attempts, how far apart, which failure ends them.

Transport-agnostic and free of ``js``: a transport hands :func:`reconnect` a coroutine function
that rebuilds its pipe (a new peer connection, a new WebSocket...) and a ``sleep``; the rules
live here and are unit-tested in CPython:

- at most ``attempts`` failed attempts in a row, ``delay`` seconds apart; a connection that
  becomes healthy again (:meth:`ReconnectAttempts.reset`) starts the count afresh;
- a 4xx answer (other than 408 Request Timeout and 429 Too Many Requests) ends the attempts at
  once: the server knows the session is gone (404 after a bot restart, 410 once its bot exited),
  so asking again cannot help;
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


@dataclass(frozen=True)
class ReconnectPolicy:
    """``attempts`` failed rebuilds in a row at most, ``delay`` seconds apart."""

    attempts: int = 3
    delay: float = 1.0

    def refusal(self, exc: BaseException) -> str | None:
        """Why ``exc`` ends the attempts at once (an HTTP 4xx refusal), or ``None``."""
        status = getattr(exc, "status", None)
        if isinstance(status, int) and 400 <= status < 500 and status not in RETRYABLE_4XX:
            return f"the bot refused to reconnect (HTTP {status})"
        return None

    @property
    def exhausted_reason(self) -> str:
        return f"gave up after {self.attempts} reconnect attempts"


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
) -> ReconnectResult:
    """Run ``rebuild()`` until it succeeds, the policy gives up, or ``closed()`` turns true.

    ``attempts.running`` is cleared when this returns (or is cancelled); ``describe`` turns a
    failure into log text (e.g. a JS exception's name and message).
    """
    policy = attempts.policy
    attempts.running = True
    try:
        while not attempts.exhausted and not closed():
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
            if not attempts.exhausted:
                await sleep(policy.delay)
        return ReconnectResult(reason=policy.exhausted_reason)
    finally:
        attempts.running = False
