"""The health check and the price stream's backlog straight from the engine (no HTTP)."""

from __future__ import annotations

import json

import msgspec
from redis.asyncio import Redis

from app.engine.exchange import Exchange
from app.engine.health import StreamBacklog, check_health, degraded_reasons, read_backlog
from app.settings import Settings
from app.store.embedded import redis_client
from app.store.transport import Transport


async def test_ok_with_workers_and_versions(exchange: Exchange, redis: Redis) -> None:
    keys = exchange.keys
    await redis.set(keys.heartbeat("worker-b"), "not json", px=10_000)
    await redis.set(keys.heartbeat("worker-a"), json.dumps({"pid": 1, "healthy": True}), px=10_000)
    report = await check_health(exchange)
    assert report.status == "ok"
    assert report.problems == []
    assert report.valkey.reachable
    assert report.valkey.server in ("valkey", "redis")
    assert report.valkey.version
    assert report.valkey.latency_ms is not None
    assert report.valkey.latency_ms >= 0
    assert report.versions[report.valkey.server] == report.valkey.version
    assert {"mockx", "python", "redis-py"} <= set(report.versions)
    assert report.workers_alive == 2
    a, b = report.workers
    assert (a.name, a.healthy, a.heartbeat) == ("worker-a", True, {"pid": 1, "healthy": True})
    assert a.ttl_ms is not None
    assert 0 < a.ttl_ms <= 10_000
    assert (b.name, b.healthy, b.heartbeat) == ("worker-b", None, {"raw": "not json"})
    assert report.prices == StreamBacklog(
        stream=exchange.settings.price_stream,
        group=exchange.settings.consumer_group,
        length=0,
        group_exists=False,
        pending=None,
        lag=None,
        undelivered=None,
    )
    assert (await check_health(exchange, min_workers=2)).status == "ok"
    fewer = await check_health(exchange, min_workers=3)
    assert fewer.status == "degraded"
    assert fewer.problems == ["2 settlement workers alive, fewer than the 3 required"]


async def test_a_worker_that_says_it_is_unhealthy_degrades(exchange: Exchange, redis: Redis) -> None:
    beat = {"healthy": False, "last_error": "settle_tick failed"}
    await redis.set(exchange.keys.heartbeat("w1"), json.dumps(beat), px=10_000)
    await redis.set(exchange.keys.heartbeat("w2"), json.dumps({"healthy": False}), px=10_000)
    report = await check_health(exchange)
    assert report.status == "degraded"
    assert report.problems == [
        "settlement worker w1 reports itself unhealthy: settle_tick failed",
        "settlement worker w2 reports itself unhealthy: no detail",
    ]


async def test_ticks_waiting_without_a_worker_degrade(exchange: Exchange, redis: Redis) -> None:
    s = exchange.settings
    await redis.xgroup_create(s.price_stream, s.consumer_group, id="$", mkstream=True)
    await redis.xadd(s.price_stream, {"symbol": "BTC/USDT", "price": "1"})
    report = await check_health(exchange)
    assert report.status == "degraded"
    assert report.prices is not None
    assert (report.prices.group_exists, report.prices.lag, report.prices.pending, report.prices.backlog) == (
        True,
        1,
        0,
        1,
    )
    assert report.problems == [f"1 price ticks wait in {s.price_stream} and no settlement worker is alive"]
    await redis.set(exchange.keys.heartbeat("w"), "{}", px=5000)
    alive = await check_health(exchange)
    assert alive.status == "ok"
    assert alive.workers[0].healthy is None  # an empty heartbeat says nothing of itself


async def test_backlog_counts_undelivered_and_pending(redis: Redis, namespace: str) -> None:
    stream, group = f"{namespace}:s", "g"
    missing = await read_backlog(redis, stream, group)
    assert (missing.length, missing.group_exists, missing.backlog) == (0, False, None)
    ids = [await redis.xadd(stream, {"n": str(i)}) for i in range(3)]
    assert (await read_backlog(redis, stream, group)).backlog is None  # a stream, but no group yet
    await redis.xgroup_create(stream, group, id="0")
    await redis.xreadgroup(group, "c", {stream: ">"}, count=1)
    b = await read_backlog(redis, stream, group)
    assert (b.length, b.lag, b.undelivered, b.pending, b.backlog) == (3, 2, 2, 1, 3)
    await redis.xack(stream, group, ids[0])
    assert (await read_backlog(redis, stream, group)).backlog == 2


async def test_backlog_is_counted_when_valkey_cannot_tell_the_lag(redis: Redis, namespace: str) -> None:
    """After a deletion Valkey reports no lag; the entries after the last delivered id are counted instead."""
    stream, group = f"{namespace}:s", "g"
    await redis.xgroup_create(stream, group, id="$", mkstream=True)
    ids = [await redis.xadd(stream, {"n": str(i)}) for i in range(4)]
    await redis.xdel(stream, ids[1])
    await redis.xreadgroup(group, "c", {stream: ">"}, count=1)
    b = await read_backlog(redis, stream, group)
    assert b.lag is None
    assert (b.undelivered, b.pending, b.backlog) == (2, 1, 3)
    assert degraded_reasons([], b) == [f"3 price ticks wait in {stream} and no settlement worker is alive"]


async def test_unreachable_valkey_is_a_report_not_an_exception(settings: Settings) -> None:
    gone = msgspec.structs.replace(settings, redis_url="redis://127.0.0.1:9")
    exchange = Exchange(Transport(redis_client(gone.redis_url or "", timeout=0.5)), gone)
    try:
        report = await check_health(exchange)
    finally:
        await exchange.redis.aclose()
    assert report.status == "unavailable"
    assert report.valkey.reachable is False
    assert report.valkey.error
    assert (report.workers, report.prices, report.problems) == ([], None, ["Valkey is not reachable"])
    assert set(report.versions) == {"mockx", "python", "redis-py"}
