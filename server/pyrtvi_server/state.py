"""What the replicas of `pyrtvi serve` share: admission and the WebSocket relay's sessions.

One small interface, `SharedState`, two implementations:

- `MemoryState` (the default): one process, nothing to install; the admission windows live in a
  `ConnectLimits` and the relay's sessions in a `wsrelay.Sessions`, as they always did.
- `RedisState` (`--redis-url` / `PYRTVI_REDIS_URL`, `pip install "pyrtvi[redis]"`): several
  replicas behind a load balancer, no session affinity. Each admission (the client's window, its
  connect rate, the global cap) is one Lua script, so no two replicas admit past a limit between
  a read and a write; the relay's session ids live there with their lifetime, and the claim of
  a session's one socket is an atomic `SET NX` with a lease that its replica renews while the
  socket is open (a killed replica's claims lapse within `LEASE` seconds, so the page reconnects
  through another). Times are Redis's own (`TIME`), never a replica's clock.

Redis holds no secret: a relayed session keeps the page's request data only (what the browser
sent anyway). The bot's socket URL and its token stay in the memory of the replica that asked the
bot's `/start`; a socket that lands on another replica makes that one ask the bot's `/start`
afresh, as a reconnect always did. `PYRTVI_BOT_EXTRA` is merged in by the replica that opens the
socket, from its own configuration.

Redis unreachable: every operation is bounded (`STATE_TIMEOUT`); the endpoints that need the
state answer 503 "shared state unavailable" (sockets close with 1013, try again later), `/health`
says so, and the next operation after Redis is back succeeds: there is no fall-back to limits
counted per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import secrets
import socket
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from pyrtvi_server.config import Settings
from pyrtvi_server.limits import ConnectLimits
from pyrtvi_server.models import SESSION_ID_RE
from pyrtvi_server.upstream import ProxyError

log = logging.getLogger("pyrtvi.state")

#: Seconds one Redis operation may take, connecting included (then 503).
STATE_TIMEOUT = 2.0
#: Seconds between a replica's heartbeats (its counts for /health, its sockets' leases).
HEARTBEAT = 0.5
#: Seconds a relayed socket's claim outlives its replica's last heartbeat.
LEASE = 2.0
#: The prefix of every Redis key pyrtvi writes.
PREFIX = "pyrtvi:"


class Refusal(Exception):
    """Close the browser's socket with `code` and `reason` (the relay's refusals)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


UNKNOWN_SESSION = "unknown or expired session: start a new one"
BUSY_SESSION = "this session already has a connected socket"


def unavailable(detail: str) -> ProxyError:
    return ProxyError(
        503,
        "shared state unavailable",
        f"this server's shared state (Redis) is unreachable: {detail}; try again shortly",
        {"Retry-After": "5"},
    )


@dataclass
class Target:
    """Where one session's socket goes: the bot's `wsUrl` (with its token), and the `/start`
    that gave it (asked again for each later socket: a runner's token is good for one).

    A target claimed on a replica other than the one that issued it has no `url` (`used` is
    set, so the bot's `/start` is asked afresh) and carries the page's request data as `body`
    (the relay builds its `/start` from it with the server's extras)."""

    url: str
    start: dict[str, Any]
    issued: float
    connected: bool = False
    used: bool = False
    body: dict[str, Any] | None = None
    session_id: str = ""


@dataclass(frozen=True)
class RelayLimits:
    """Bounds of one relayed session (the JS transport's own limit is 1 MiB per message)."""

    max_message_bytes: int = 1024 * 1024
    #: Browser → bot messages: 16 kHz mic audio in 512-sample chunks is ~31 a second.
    messages_per_second: float = 200.0
    burst: int = 400
    #: Seconds an issued session URL stays valid (reconnects to it included).
    session_ttl: float = 300.0
    max_sessions: int = 1024


class Sessions:
    """Issued session URLs: id → the bot's endpoint, bounded in number and lifetime."""

    def __init__(self, limits: RelayLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._targets: OrderedDict[str, Target] = OrderedDict()

    def issue(self, url: str, start: dict[str, Any]) -> str:
        self._expire()
        session_id = secrets.token_urlsafe(18)
        self._targets[session_id] = Target(url, start, self.clock(), session_id=session_id)
        while len(self._targets) > self.limits.max_sessions:
            self._targets.popitem(last=False)
        return session_id

    def claim(self, session_id: str) -> Target:
        """The session's target, marked connected; a `Refusal` when there is none to have."""
        self._expire()
        target = self._targets.get(session_id) if SESSION_ID_RE.match(session_id) else None
        if target is None:
            raise Refusal(4404, UNKNOWN_SESSION)
        if target.connected:
            raise Refusal(4409, BUSY_SESSION)
        target.connected = True
        return target

    def release(self, target: Target) -> None:
        target.connected = False

    def _expire(self) -> None:
        now = self.clock()
        for session_id, target in list(self._targets.items()):
            if now - target.issued > self.limits.session_ttl and not target.connected:
                del self._targets[session_id]


@dataclass
class Reservation:
    """A session start admitted for `client`, counted until cancelled or its window ends."""

    client: str
    token: str
    at: float = 0.0


@dataclass
class ReplicaCounts:
    """What one replica reports about itself for `/health`."""

    relayed_sockets: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class SharedState(ABC):
    """Admission and relay sessions, for one process or for every replica."""

    kind: str

    async def startup(self) -> None:  # noqa: B027 - nothing to do in memory
        """Connect (Redis); never fails: an unreachable backend is retried on each use."""

    async def shutdown(self) -> None:  # noqa: B027
        """Stop the heartbeat, disconnect."""

    # -- admission ----------------------------------------------------------------------------

    @abstractmethod
    async def admit(self, client: str, active: int) -> Reservation:
        """Count a session start for `client`, or raise a `ProxyError` (429, 503 with
        `Retry-After`; 503 "shared state unavailable")."""

    @abstractmethod
    async def cancel(self, reservation: Reservation) -> None:
        """The admitted start failed (the bot service refused it): it does not count."""

    @abstractmethod
    async def started(self, reservation: Reservation, session_id: str) -> None:
        """The admitted start became session `session_id` (its offer or socket may follow)."""

    @abstractmethod
    async def offered(self, session_id: str) -> None:
        """The session's offer (or first socket) arrived: it is no longer half-open."""

    @abstractmethod
    async def sessions(self, active: int) -> dict[str, object]:
        """The `sessions` part of `/health` (beyond `max` and `half_open_timeout`)."""

    # -- the WebSocket relay ------------------------------------------------------------------

    @abstractmethod
    async def issue(self, url: str, start: dict[str, Any], body: dict[str, Any]) -> str:
        """A new relay session id for the bot's socket `url` (kept in this process only)."""

    @abstractmethod
    async def claim(self, session_id: str) -> Target:
        """The session's target, claimed for one socket; a `Refusal` when there is none to have."""

    @abstractmethod
    async def release(self, target: Target) -> None:
        """The socket closed: the session may be claimed again (a reconnect)."""

    async def status(self) -> dict[str, object]:
        """The `state` part of `/health`."""
        return {"backend": self.kind, "state": "ok"}


class MemoryState(SharedState):
    """One process: today's `ConnectLimits` and `wsrelay.Sessions`."""

    kind = "memory"

    def __init__(self, limits: ConnectLimits, sessions: Sessions) -> None:
        self.limits = limits
        self.relay_sessions = sessions

    async def admit(self, client: str, active: int) -> Reservation:
        now = time.monotonic()
        token = self.limits.reserve(client, active, now)
        return Reservation(client, token, now)

    async def cancel(self, reservation: Reservation) -> None:
        self.limits.cancel(reservation.client, reservation.token, reservation.at)

    async def started(self, reservation: Reservation, session_id: str) -> None:
        self.limits.bind(reservation.token, session_id)

    async def offered(self, session_id: str) -> None:
        self.limits.offered(session_id)

    async def sessions(self, active: int) -> dict[str, object]:
        limits = self.limits
        recent = limits.recent()
        return {
            "active": max(active, recent),
            "started_recently": recent,
            "half_open": limits.half_open(),
            "refused_per_client": limits.refused_client,
            "refused_at_capacity": limits.refused_global,
            "half_open_reaped_early": limits.reaped_early,
        }

    async def issue(self, url: str, start: dict[str, Any], body: dict[str, Any]) -> str:
        session_id: str = self.relay_sessions.issue(url, start)
        return session_id

    async def claim(self, session_id: str) -> Target:
        target: Target = self.relay_sessions.claim(session_id)
        return target

    async def release(self, target: Target) -> None:
        self.relay_sessions.release(target)


# -- Redis ------------------------------------------------------------------------------------

#: One admission, atomically: the client's window (429), its token bucket (429), the global cap
#: (503, half-open starts older than the grace dropped first), then the start counted.
#: KEYS: client window, client bucket, pending, offered, stats. Times: Redis's `TIME`.
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local token = ARGV[1]
local max_pending, rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local window, max_total = tonumber(ARGV[5]), tonumber(ARGV[6])
local active, grace = tonumber(ARGV[7]), tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local mine = redis.call('ZCARD', KEYS[1])
if mine >= max_pending then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  redis.call('HINCRBY', KEYS[5], 'refused_per_client', 1)
  return {429, 'pending', mine, tostring(tonumber(oldest[2]) + window - now)}
end
local bucket = redis.call('HMGET', KEYS[2], 'tokens', 'last')
local tokens = tonumber(bucket[1]) or burst
local last = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
if tokens < 1 then
  redis.call('HINCRBY', KEYS[5], 'refused_per_client', 1)
  local wait = window
  if rate > 0 then wait = (1 - tokens) / rate end
  return {429, 'rate', 0, tostring(wait)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
local total = redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4])
if math.max(total, active) >= max_total then
  local reaped = redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - grace)
  if reaped > 0 then redis.call('HINCRBY', KEYS[5], 'half_open_reaped_early', reaped) end
  total = total - reaped
  if math.max(total, active) >= max_total then
    redis.call('HINCRBY', KEYS[5], 'refused_at_capacity', 1)
    return {503, 'capacity', math.max(total, active), '5'}
  end
end
local keep = window
if rate > 0 then keep = keep + burst / rate end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[2], math.ceil(keep * 1000))
redis.call('ZADD', KEYS[1], now, token)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
redis.call('ZADD', KEYS[3], now, token)
return {0, 'ok', 0, tostring(now)}
"""

#: A session's first offer: its start moves from half-open to offered. KEYS: the session's
#: token key, pending, offered.
OFFERED = """
local token = redis.call('GET', KEYS[1])
if not token then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], token)
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(t[1]) + tonumber(t[2]) / 1000000, token)
return 1
"""

#: `/health`'s counts. KEYS: pending, offered, stats. ARGV: window.
COUNTS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[1]))
local stats = redis.call('HGETALL', KEYS[3])
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]), stats}
"""

#: A relay session's one socket. KEYS: the session, its claim. ARGV: replica id, lease ms.
CLAIM = """
local body = redis.call('GET', KEYS[1])
if not body then return {404, ''} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, body} end
return {409, ''}
"""

#: Give a claim back if it is still this replica's. KEYS: the claim. ARGV: replica id.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisState(SharedState):
    """Every replica's admission and relay sessions in one Redis (`redis` package, asyncio)."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        limits: ConnectLimits,
        *,
        session_ttl: float,
        counts: Callable[[], ReplicaCounts] = ReplicaCounts,
        timeout: float = STATE_TIMEOUT,
    ) -> None:
        try:
            import redis.asyncio as aioredis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:  # pragma: no cover - the extra is installed in the checkout
            raise ValueError(
                "--redis-url needs the redis package: pip install 'pyrtvi[redis]'"
            ) from None
        self.url = url
        self.limits = limits
        self.session_ttl = session_ttl
        self.counts = counts
        self.timeout = timeout
        #: This replica in `/health` (public: no host name; the log ties it to the host).
        self.replica = secrets.token_hex(4)
        self.redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._admit = self.redis.register_script(ADMIT)
        self._offered = self.redis.register_script(OFFERED)
        self._counts = self.redis.register_script(COUNTS)
        self._claim = self.redis.register_script(CLAIM)
        self._release = self.redis.register_script(RELEASE)
        #: Targets issued by this replica (the bot's URL and token never leave it).
        self._issued: dict[str, Target] = {}
        #: Sessions whose socket is open on this replica (their claims are renewed).
        self._claimed: set[str] = set()
        self._error: str | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    # -- plumbing -----------------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return PREFIX + ":".join(parts)

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """Bound the operations in it; turn any Redis failure into a 503."""
        from redis.exceptions import RedisError

        try:
            async with asyncio.timeout(self.timeout):
                yield
        except (RedisError, OSError, TimeoutError) as exc:
            # The answer and /health say what kind of failure; its text (addresses) is logged.
            kind = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            if self._error is None:
                log.error("Redis at %s is unreachable: %s: %s", self.safe_url, kind, exc)
            self._error = kind
            raise unavailable(kind) from None
        if self._error is not None:
            log.warning("Redis at %s is reachable again", self.safe_url)
            self._error = None

    @property
    def safe_url(self) -> str:
        """The URL without its password, for the log."""
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"

    async def startup(self) -> None:
        log.info(
            "replica %s (%s, pid %d) shares state in Redis at %s",
            self.replica,
            socket.gethostname(),
            os.getpid(),
            self.safe_url,
        )
        with contextlib.suppress(ProxyError):
            async with self._guard():
                await self.redis.ping()
        self._heartbeat = asyncio.create_task(self._beat(), name="pyrtvi-state-heartbeat")

    async def shutdown(self) -> None:
        if self._heartbeat:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        with contextlib.suppress(ProxyError):
            async with self._guard():
                await self.redis.delete(self.key("replica", self.replica))
        await self.redis.aclose()

    async def _beat(self) -> None:
        """This replica's counts for `/health`, and its open sockets' claims renewed."""
        while True:
            with contextlib.suppress(ProxyError):
                await self.beat()
            await asyncio.sleep(HEARTBEAT)

    async def beat(self) -> None:
        counts = self.counts()
        record = {"relayed_sockets": counts.relayed_sockets, **counts.extra}
        lease = int(LEASE * 1000)
        async with self._guard():
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(self.key("replica", self.replica), json.dumps(record), px=lease)
            for session_id in self._claimed:
                pipe.pexpire(self.key("ws", session_id, "claim"), lease)
            await pipe.execute()

    # -- admission ----------------------------------------------------------------------------

    async def admit(self, client: str, active: int) -> Reservation:
        limits = self.limits
        token = secrets.token_hex(8)
        keys = [
            self.key("client", client, "window"),
            self.key("client", client, "bucket"),
            self.key("pending"),
            self.key("offered"),
            self.key("stats"),
        ]
        args: list[str | int | float] = [
            token,
            limits.max_pending,
            limits.rate,
            limits.burst,
            limits.window,
            limits.max_total,
            active,
            limits.grace,
        ]
        async with self._guard():
            status, kind, count, number = await self._admit(keys=keys, args=args)
        status, kind = int(status), _text(kind)
        if status == 0:
            return Reservation(client, token)
        wait = max(1, math.ceil(float(_text(number))))
        if status == 503:
            raise limits.capacity_error(int(count))
        if kind == "pending":
            raise limits.pending_error(int(count), wait)
        raise limits.rate_error(wait)

    async def cancel(self, reservation: Reservation) -> None:
        async with self._guard():
            pipe = self.redis.pipeline(transaction=True)
            pipe.zrem(self.key("client", reservation.client, "window"), reservation.token)
            pipe.zrem(self.key("pending"), reservation.token)
            await pipe.execute()

    async def started(self, reservation: Reservation, session_id: str) -> None:
        window = int(self.limits.window * 1000)
        async with self._guard():
            await self.redis.set(self.key("started", session_id), reservation.token, px=window)

    async def offered(self, session_id: str) -> None:
        keys = [self.key("started", session_id), self.key("pending"), self.key("offered")]
        async with self._guard():
            await self._offered(keys=keys)

    async def sessions(self, active: int) -> dict[str, object]:
        keys = [self.key("pending"), self.key("offered"), self.key("stats")]
        async with self._guard():
            pending, offered, raw = await self._counts(keys=keys, args=[self.limits.window])
        stats = {_text(k): int(v) for k, v in zip(raw[::2], raw[1::2], strict=True)}
        recent = int(pending) + int(offered)
        return {
            "active": max(active, recent),
            "started_recently": recent,
            "half_open": int(pending),
            "refused_per_client": stats.get("refused_per_client", 0),
            "refused_at_capacity": stats.get("refused_at_capacity", 0),
            "half_open_reaped_early": stats.get("half_open_reaped_early", 0),
            "replicas": await self.replicas(),
        }

    async def replicas(self) -> dict[str, object]:
        """Every live replica's own counts (its record lapses `LEASE` s after it stops)."""
        async with self._guard():
            names = [
                _text(name) async for name in self.redis.scan_iter(self.key("replica", "*"), 100)
            ]
            values = await self.redis.mget(names) if names else []
        found: dict[str, object] = {}
        for name, value in zip(names, values, strict=True):
            if value is not None:
                found[name.removeprefix(self.key("replica", ""))] = json.loads(value)
        return found

    # -- the relay ----------------------------------------------------------------------------

    async def issue(self, url: str, start: dict[str, Any], body: dict[str, Any]) -> str:
        session_id = secrets.token_urlsafe(18)
        record = json.dumps({"body": body})
        async with self._guard():
            await self.redis.set(
                self.key("ws", session_id), record, px=int(self.session_ttl * 1000)
            )
        self._issued[session_id] = Target(url, start, time.monotonic(), session_id=session_id)
        self._forget_old()
        return session_id

    def _forget_old(self) -> None:
        now = time.monotonic()
        for session_id, target in list(self._issued.items()):
            if now - target.issued > self.session_ttl:
                del self._issued[session_id]

    async def claim(self, session_id: str) -> Target:
        if not SESSION_ID_RE.match(session_id):
            raise Refusal(4404, UNKNOWN_SESSION)
        keys = [self.key("ws", session_id), self.key("ws", session_id, "claim")]
        try:
            async with self._guard():
                status, record = await self._claim(
                    keys=keys, args=[self.replica, int(LEASE * 1000)]
                )
        except ProxyError as exc:
            raise Refusal(1013, f"{exc.error}: try again shortly") from None
        if int(status) == 404:
            self._issued.pop(session_id, None)
            raise Refusal(4404, UNKNOWN_SESSION)
        if int(status) == 409:
            raise Refusal(4409, BUSY_SESSION)
        self._claimed.add(session_id)
        local = self._issued.get(session_id)
        if local is not None:  # issued here: its URL and token are known
            local.connected = True
            return local
        body = json.loads(_text(record)).get("body")
        return Target(
            "",
            {},
            time.monotonic(),
            connected=True,
            used=True,
            body=body if isinstance(body, dict) else {},
            session_id=session_id,
        )

    async def release(self, target: Target) -> None:
        target.connected = False
        if target.session_id not in self._claimed:
            return
        self._claimed.discard(target.session_id)
        key = self.key("ws", target.session_id, "claim")
        with contextlib.suppress(ProxyError):  # else the claim lapses with its lease
            async with self._guard():
                await self._release(keys=[key], args=[self.replica])

    async def status(self) -> dict[str, object]:
        """Reachability (a `PING`, bounded); the URL is not shown (it may hold a password)."""
        with contextlib.suppress(ProxyError):
            async with self._guard():
                await self.redis.ping()
        if self._error is not None:
            return {"backend": self.kind, "state": "unreachable", "detail": self._error}
        return {"backend": self.kind, "state": "ok", "replica": self.replica}


def create_state(
    settings: Settings,
    limits: ConnectLimits,
    sessions: Sessions,
    counts: Callable[[], ReplicaCounts] = ReplicaCounts,
) -> SharedState:
    """Redis when `settings.redis_url` names one, else this process's memory."""
    if settings.redis_url:
        return RedisState(
            settings.redis_url, limits, session_ttl=sessions.limits.session_ttl, counts=counts
        )
    return MemoryState(limits, sessions)
