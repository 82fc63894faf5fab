"""Admission control for `/connect`: per-client limits (429) and a global cap (503).

A session counts as *pending* for its client from its `/connect` until `window` seconds later (the
half-open timeout, after which the bot has either connected it or freed it). The server never sees
the WebRTC connection itself, so a session that did connect still counts until then: the per-client
cap is on sessions started per window, which bounds the half-open ones. Connect attempts are also
rate-limited per client with a token bucket.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

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


class ConnectLimits:
    def __init__(
        self, *, max_pending: int, per_minute: float, burst: int, window: float, max_total: int
    ) -> None:
        self.max_pending = max_pending
        self.rate = per_minute / 60.0
        self.burst = burst
        self.window = window
        self.max_total = max_total
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._recent: deque[float] = deque()
        self.refused_client = 0
        self.refused_global = 0

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
        while self._recent and self._recent[0] <= now - self.window:
            self._recent.popleft()
        return len(self._recent)

    def admit(self, key: str, active: int, now: float | None = None) -> None:
        """Raise 429 (this client) or 503 (everyone) with `Retry-After`, or take a token."""
        now = time.monotonic() if now is None else now
        client = self._client(key, now)
        if len(client.started) >= self.max_pending:
            self.refused_client += 1
            wait = client.started[0] + self.window - now
            raise ProxyError(
                429,
                "too many pending sessions",
                f"this client has started {len(client.started)} sessions in the last "
                f"{self.window:g} s (the limit is {self.max_pending}); try again later",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if client.bucket.tokens < 1.0:
            self.refused_client += 1
            wait = client.bucket.wait() if self.rate > 0 else self.window
            raise ProxyError(
                429,
                "too many connects",
                f"this client connects too often (the limit is {self.rate * 60:g} a minute); "
                "try again later",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        total = max(active, self.recent(now))
        if total >= self.max_total:
            self.refused_global += 1
            raise ProxyError(
                503,
                "server at capacity",
                f"{total} sessions are active (the limit is {self.max_total}); try again shortly",
                {"Retry-After": "5"},
            )
        client.bucket.take(now)

    def started(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._client(key, now).started.append(now)
        self._recent.append(now)
