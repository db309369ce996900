"""The health of an exchange: Valkey reachable, settlement workers alive, the price stream's backlog.

:func:`check_health` is what ``GET /admin/health`` and ``mockx health`` report; :func:`read_backlog` is the
one definition of the price stream's backlog (entries the consumer group has not finished: not yet
delivered plus delivered but unacknowledged), shared by the health check and the publishers' back-pressure.

Status: ``ok``; ``degraded`` when ticks wait and no worker is alive, a worker reports itself unhealthy, or
fewer than ``min_workers`` workers are alive; ``unavailable`` when Valkey cannot be reached.

Every Valkey call of this module sits in the section "Valkey access" at the end, so it can move into the
store as one piece.
"""

from __future__ import annotations

import platform
import time
from typing import Any, Literal

import msgspec
import redis as redis_py
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app import __version__
from app.engine.exchange import Exchange
from app.store.retry import UNAVAILABLE

HealthStatus = Literal["ok", "degraded", "unavailable"]

#: Workers listed at most (one SCAN of the heartbeat keys stops there).
MAX_WORKERS_LISTED = 1000
#: Undelivered entries counted at most when Valkey cannot tell a group's lag (after deletions).
MAX_COUNTED = 100_000


class ValkeyStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Reachable, with the round trip of one ``INFO server`` in ms and the server's name and version."""

    reachable: bool
    latency_ms: float | None = None
    server: str | None = None  # "valkey" or "redis"
    version: str | None = None
    error: str | None = None
    memory_used: int | None = None  # bytes (INFO memory used_memory)
    memory_max: int | None = None  # bytes; 0: no limit

    @property
    def memory_pct(self) -> float | None:
        """How full Valkey's memory is, in % of maxmemory (None without a limit)."""
        if not self.memory_max or self.memory_used is None:
            return None
        return round(100 * self.memory_used / self.memory_max, 1)


class WorkerStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A settlement worker with a live heartbeat; ``healthy`` is what the worker says of itself (None: unsaid).

    ``heartbeat`` is the decoded JSON object, or ``{"raw": <text>}`` when it is not one.
    """

    name: str
    ttl_ms: int | None
    healthy: bool | None
    heartbeat: dict[str, Any] | None


class StreamBacklog(msgspec.Struct, frozen=True, kw_only=True):
    """A stream and what one consumer group has not finished of it.

    ``pending`` and ``lag`` are what ``XINFO GROUPS`` reports (None without the group; ``lag`` also None when
    Valkey cannot compute it after deletions). ``undelivered`` is ``lag``, or, when Valkey cannot tell, the
    entries after the group's last delivered id, counted (at most :data:`MAX_COUNTED`).
    """

    stream: str
    group: str
    length: int
    group_exists: bool
    pending: int | None
    lag: int | None
    undelivered: int | None

    @property
    def backlog(self) -> int | None:
        """Entries the group has not finished (undelivered + pending); None when the group does not exist."""
        if not self.group_exists:
            return None
        return (self.undelivered or 0) + (self.pending or 0)


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    """The health check. ``workers`` is sorted by name; ``prices`` is None when Valkey is unreachable.

    ``versions``: ``mockx``, ``python``, ``redis-py`` and, when reachable, ``valkey`` or ``redis``.
    """

    status: HealthStatus
    valkey: ValkeyStatus
    workers: list[WorkerStatus]
    prices: StreamBacklog | None
    versions: dict[str, str]
    problems: list[str]

    @property
    def workers_alive(self) -> int:
        return len(self.workers)


async def check_health(exchange: Exchange, min_workers: int = 0) -> HealthReport:
    """Probe Valkey, the settlement workers' heartbeats and the price stream; never raises for an outage."""
    versions = {"mockx": __version__, "python": platform.python_version(), "redis-py": redis_py.__version__}
    settings = exchange.settings
    try:
        probe = await _probe(exchange.redis, exchange.keys.heartbeat_pattern)
        prices = await read_backlog(exchange.redis, settings.price_stream, settings.consumer_group)
    except UNREACHABLE as exc:
        return HealthReport(
            status="unavailable",
            valkey=ValkeyStatus(reachable=False, error=unavailable_reason(exc)),
            workers=[],
            prices=None,
            versions=versions,
            problems=["Valkey is not reachable"],
        )
    versions[probe.server] = probe.version
    prefix = exchange.keys.heartbeat("")
    workers = sorted(
        (_worker(key[len(prefix) :], raw, ttl) for key, raw, ttl in probe.beats if raw is not None),
        key=lambda w: w.name,
    )
    valkey = ValkeyStatus(
        reachable=True, latency_ms=probe.latency_ms, server=probe.server, version=probe.version,
        memory_used=probe.memory_used, memory_max=probe.memory_max,
    )  # fmt: skip
    problems = memory_problems(valkey) + degraded_reasons(workers, prices, min_workers)
    return HealthReport(
        status="degraded" if problems else "ok",
        valkey=valkey,
        workers=workers,
        prices=prices,
        versions=versions,
        problems=problems,
    )


def unavailable_reason(exc: Exception) -> str:
    """Why the store is unavailable, in words of our own: never its address or the client library's text."""
    for kind, why in _UNREACHABLE_WHY:
        if isinstance(exc, kind):
            return f"store unavailable: {why}"
    return "store unavailable"


#: Above this share of maxmemory the exchange is degraded: writes will soon be refused.
MEMORY_DEGRADED_PCT = 90.0


def memory_problems(valkey: ValkeyStatus) -> list[str]:
    """The store is nearly full (noeviction: at 100 % every write is refused)."""
    pct = valkey.memory_pct
    if pct is None or pct <= MEMORY_DEGRADED_PCT:
        return []
    return [
        f"Valkey memory is {pct:g} % full ({_mb(valkey.memory_used)} of {_mb(valkey.memory_max)}): writes are refused "
        "at 100 %; reset accounts (DELETE /admin/data), raise maxmemory (MAXMEMORY for the embedded Valkey) "
        "or trim history"
    ]


def _mb(value: int | None) -> str:
    return f"{(value or 0) / 2**20:.1f} MiB"


def degraded_reasons(workers: list[WorkerStatus], prices: StreamBacklog, min_workers: int = 0) -> list[str]:
    """Why the exchange is degraded, one sentence each; empty when it is not."""
    problems = [
        f"settlement worker {w.name} reports itself unhealthy: {(w.heartbeat or {}).get('last_error') or 'no detail'}"
        for w in workers
        if w.healthy is False
    ]
    waiting = prices.backlog
    if waiting and not workers:
        problems.append(f"{waiting} price ticks wait in {prices.stream} and no settlement worker is alive")
    if len(workers) < min_workers:
        problems.append(f"{len(workers)} settlement workers alive, fewer than the {min_workers} required")
    return problems


_heartbeat = msgspec.json.Decoder(dict[str, Any])


def _worker(name: str, raw: str, ttl: int) -> WorkerStatus:
    try:
        beat: dict[str, Any] | None = _heartbeat.decode(raw)
    except msgspec.DecodeError:
        beat = {"raw": raw}
    healthy = beat.get("healthy") if beat else None
    return WorkerStatus(
        name=name,
        ttl_ms=ttl if ttl >= 0 else None,
        healthy=healthy if isinstance(healthy, bool) else None,
        heartbeat=beat,
    )


# Valkey access -------------------------------------------------------------------------------------------
#: Store errors that mean "Valkey is not available right now": the store's one list.
UNREACHABLE = UNAVAILABLE
_UNREACHABLE_WHY: tuple[tuple[type[Exception], str], ...] = (
    (RedisTimeoutError, "it did not answer in time"),
    (ReadOnlyError, "it is read-only"),
    (OutOfMemoryError, "it is out of memory"),
    (RedisConnectionError, "it cannot be reached"),
)


class _Probe(msgspec.Struct, frozen=True):
    latency_ms: float
    server: str
    version: str
    beats: list[tuple[str, str | None, int]]  # heartbeat key, value (None: expired since SCAN), PTTL
    memory_used: int | None = None
    memory_max: int | None = None


async def _probe(redis: Redis, heartbeat_pattern: str) -> _Probe:
    """``INFO server`` (timed), then every heartbeat key (at most :data:`MAX_WORKERS_LISTED`) with its TTL."""
    started = time.perf_counter()
    info = await redis.info("server")
    latency = round((time.perf_counter() - started) * 1000, 3)
    server = "valkey" if "valkey_version" in info else "redis"
    version = str(info.get("valkey_version") or info.get("redis_version") or "")
    memory = await redis.info("memory")
    used, limit = _int(memory.get("used_memory")), _int(memory.get("maxmemory"))
    names: list[str] = []
    async for key in redis.scan_iter(match=heartbeat_pattern, count=500):
        names.append(key)
        if len(names) >= MAX_WORKERS_LISTED:
            break
    if not names:
        return _Probe(latency, server, version, [], used, limit)
    async with redis.pipeline(transaction=False) as pipe:
        for key in names:
            pipe.get(key)
            pipe.pttl(key)
        replies = await pipe.execute()
    beats = [(key, replies[2 * i], replies[2 * i + 1]) for i, key in enumerate(names)]
    return _Probe(latency, server, version, beats, used, limit)


def _int(value: object) -> int | None:
    """A number of INFO (a cluster client answers per node: the largest counts)."""
    if isinstance(value, dict):
        numbers = [n for n in (_int(v) for v in value.values()) if n is not None]
        return max(numbers) if numbers else None
    try:
        return int(str(value))
    except ValueError:
        return None


async def read_backlog(redis: Redis, stream: str, group: str) -> StreamBacklog:
    """The stream's length and what ``group`` has not finished of it (see :class:`StreamBacklog`)."""
    length = int(await redis.xlen(stream))
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream yet
        groups = []
    info = next((g for g in groups if g.get("name") == group), None)
    if info is None:
        return StreamBacklog(
            stream=stream, group=group, length=length, group_exists=False, pending=None, lag=None, undelivered=None
        )
    pending = int(info["pending"]) if info.get("pending") is not None else None
    lag = int(info["lag"]) if info.get("lag") is not None else None
    undelivered = lag
    if undelivered is None:  # not computable after deletions: count what is after the last delivered id
        after = f"({info['last-delivered-id']}"
        undelivered = len(await redis.xrange(stream, after, "+", count=MAX_COUNTED))
    return StreamBacklog(
        stream=stream,
        group=group,
        length=length,
        group_exists=True,
        pending=pending,
        lag=lag,
        undelivered=undelivered,
    )
