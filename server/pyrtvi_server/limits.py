"""Admission control for `/connect`: per-client limits (429) and a global cap (503).

A session counts as *pending* for its client from its `/connect` until `window` seconds later (the
half-open timeout, after which the bot has either connected it or freed it). The server never sees
the WebRTC connection itself, so a session that did connect still counts until then: the per-client
cap is on sessions started per window, which bounds the half-open ones. Connect attempts are also
rate-limited per client with a token bucket.

The global cap counts the sessions started in the window in two parts: those whose offer (or
socket) arrived, and the *half-open* ones, started and never offered, which cost the bot nothing
yet. When the cap is reached, half-open starts older than `grace` seconds stop counting (a real
page offers within a second or two of its start), so a burst of bare starts from a few addresses
holds the server full for `grace` seconds, not for the whole window. `pyrtvi_server.state` runs
the same rules in Redis for several replicas.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pyrtvi_server.config import Settings
from pyrtvi_server.upstream import ProxyError

#: Clients remembered at most (least recently seen forgotten first).
MAX_CLIENTS = 10_000


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. `now` (a `clock()` reading) may be given
    to every call, so that one admission reads the clock once."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        now: float | None = None,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.tokens = float(burst)
        self.last = clock() if now is None else now

    def refill(self, now: float | None = None) -> float:
        """The tokens saved up by `now`."""
        now = self.clock() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return self.tokens

    def wait(self) -> float:
        """Seconds until the next token (infinite at rate 0)."""
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else math.inf

    def take(self, now: float | None = None) -> bool:
        """Spend a token if there is one."""
        if self.refill(now) < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass
class _Client:
    bucket: TokenBucket
    started: deque[float] = field(default_factory=deque)


#: Seconds after its start a never-offered session stops counting once the global cap is reached.
HALF_OPEN_GRACE = 5.0


class ConnectLimits:
    def __init__(
        self,
        *,
        max_pending: int,
        per_minute: float,
        burst: int,
        window: float,
        max_total: int,
        grace: float = HALF_OPEN_GRACE,
    ) -> None:
        self.max_pending = max_pending
        self.rate = per_minute / 60.0
        self.burst = burst
        self.window = window
        self.max_total = max_total
        self.grace = min(grace, window)
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        #: Started, not yet offered: token → start time (oldest first).
        self._pending: OrderedDict[str, float] = OrderedDict()
        #: Start times of the sessions whose offer arrived (in the order the offers came).
        self._offered: deque[float] = deque()
        #: Session id → its start's token, until its offer (the last MAX_CLIENTS).
        self._sessions: OrderedDict[str, str] = OrderedDict()
        self.refused_client = 0
        self.refused_global = 0
        self.reaped_early = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectLimits:
        return cls(
            max_pending=settings.client_max_pending,
            per_minute=settings.client_connects_per_minute,
            burst=settings.client_connect_burst,
            window=settings.half_open_timeout,
            max_total=settings.max_sessions,
            grace=settings.half_open_grace,
        )

    def _client(self, key: str, now: float) -> _Client:
        client = self._clients.get(key)
        if client is None:
            bucket = TokenBucket(self.rate, self.burst, now=now)
            client = self._clients[key] = _Client(bucket)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
        self._clients.move_to_end(key)
        while client.started and client.started[0] <= now - self.window:
            client.started.popleft()
        client.bucket.refill(now)
        return client

    def recent(self, now: float | None = None) -> int:
        """Sessions started in the last `window` seconds (all clients)."""
        now = time.monotonic() if now is None else now
        while self._offered and self._offered[0] <= now - self.window:
            self._offered.popleft()
        self._drop_pending(now - self.window)
        return len(self._pending) + len(self._offered)

    def half_open(self, now: float | None = None) -> int:
        """Sessions started in the window whose offer has not arrived."""
        self.recent(now)
        return len(self._pending)

    def _drop_pending(self, before: float) -> int:
        dropped = 0
        while self._pending and next(iter(self._pending.values())) <= before:
            self._pending.popitem(last=False)
            dropped += 1
        return dropped

    def pending_error(self, count: int, wait: float) -> ProxyError:
        return ProxyError(
            429,
            "too many pending sessions",
            f"this client has started {count} sessions in the last "
            f"{self.window:g} s (the limit is {self.max_pending}); try again later",
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )

    def rate_error(self, wait: float) -> ProxyError:
        return ProxyError(
            429,
            "too many connects",
            f"this client connects too often (the limit is {self.rate * 60:g} a minute); "
            "try again later",
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )

    def capacity_error(self, total: int) -> ProxyError:
        return ProxyError(
            503,
            "server at capacity",
            f"{total} sessions are active (the limit is {self.max_total}); try again shortly",
            {"Retry-After": "5"},
        )

    def admit(self, key: str, active: int, now: float | None = None) -> None:
        """Raise 429 (this client) or 503 (everyone) with `Retry-After`, or take a token."""
        now = time.monotonic() if now is None else now
        client = self._client(key, now)
        if len(client.started) >= self.max_pending:
            self.refused_client += 1
            raise self.pending_error(len(client.started), client.started[0] + self.window - now)
        if client.bucket.tokens < 1.0:
            self.refused_client += 1
            raise self.rate_error(client.bucket.wait() if self.rate > 0 else self.window)
        total = max(active, self.recent(now))
        if total >= self.max_total:
            # Under pressure, bare starts past their grace stop counting (they cost the bot
            # nothing until an offer comes, and the bot reaps them itself).
            self.reaped_early += self._drop_pending(now - self.grace)
            total = max(active, self.recent(now))
        if total >= self.max_total:
            self.refused_global += 1
            raise self.capacity_error(total)
        client.bucket.take(now)

    def started(self, key: str, now: float | None = None) -> str:
        """Count a session start for `key`; its token (for `cancel` and `bind`)."""
        now = time.monotonic() if now is None else now
        self._client(key, now).started.append(now)
        token = secrets.token_hex(8)
        self._pending[token] = now
        return token

    def reserve(self, key: str, active: int, now: float | None = None) -> str:
        """`admit` and `started` at once (nothing can come between them): the start's token."""
        now = time.monotonic() if now is None else now
        self.admit(key, active, now)
        return self.started(key, now)

    def cancel(self, key: str, token: str, at: float) -> None:
        """A reserved start that failed upstream: it does not count."""
        self._pending.pop(token, None)
        client = self._clients.get(key)
        if client is not None and at in client.started:
            client.started.remove(at)

    def bind(self, token: str, session_id: str) -> None:
        """The start `token` became session `session_id`."""
        self._sessions[session_id] = token
        while len(self._sessions) > MAX_CLIENTS:
            self._sessions.popitem(last=False)

    def offered(self, session_id: str, now: float | None = None) -> None:
        """The session's first offer arrived: from half-open to offered."""
        token = self._sessions.pop(session_id, None)
        if token is None:
            return
        now = time.monotonic() if now is None else now
        self._pending.pop(token, None)
        self._offered.append(now)
