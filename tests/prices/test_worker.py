"""The settlement worker in-process: fills, dead letters, redelivery, claims, batching, heartbeat, sweep."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from decimal import Decimal

import msgspec
import pytest
import rich_click as click
from redis.asyncio import Redis

from app.engine.exchange import Exchange
from app.engine.ticks import parse_tick
from app.settings import Settings
from app.workers.options import MAX_BATCH, heartbeat_decoder
from app.workers.settlement import Worker, WorkerOptions
from cli.commands.worker import worker as worker_command
from tests.support.money import money_problems, snapshot
from tests.support.waiting import wait_until

GROUP = "settlement"


def burst(ex: Exchange, **options: int) -> Worker:
    return Worker(ex, WorkerOptions(name="w1", burst=True, **options))  # type: ignore[arg-type]


async def pending(redis: Redis, stream: str) -> int:
    return int((await redis.xpending(stream, GROUP))["pending"])


async def test_external_xadd_fills_a_resting_limit_order(exchange: Exchange, settings: Settings) -> None:
    await exchange.deposit("USDT", "10000")
    await exchange.push_price("BTC/USDT", "100")
    order = await exchange.create_order("BTC/USDT", "buy", "limit", "2", "90")
    await exchange.redis.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": "89.5"})

    counters = await burst(exchange).run()

    filled = await exchange.fetch_order(order.id)
    assert (filled.status, filled.price, filled.filled) == ("closed", Decimal(90), Decimal(2))
    assert counters.filled == 1
    assert (await exchange.fetch_ticker("BTC/USDT")).last == Decimal("89.5")
    assert await money_problems(exchange) == []
    assert await exchange.redis.hget(exchange.keys.worker_stats, "filled") == "1"
    assert await pending(exchange.redis, settings.price_stream) == 0


async def test_entries_already_applied_by_push_price_change_nothing(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "10000")
    await exchange.push_price("BTC/USDT", "100")
    await exchange.create_order("BTC/USDT", "buy", "limit", "1", "95")
    await exchange.push_price("BTC/USDT", "94")
    before = await snapshot(exchange)
    events = await exchange.redis.xlen(exchange.keys.events)

    counters = await burst(exchange).run()

    assert (counters.processed, counters.filled) == (2, 0)
    assert await snapshot(exchange) == before
    assert await exchange.redis.xlen(exchange.keys.events) == events


async def test_malformed_entries_are_dead_lettered_and_the_worker_keeps_going(
    exchange: Exchange, settings: Settings
) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("ETH/USDT", "10")
    order = await exchange.create_order("ETH/USDT", "buy", "limit", "1", "9")
    stream = settings.price_stream
    bad = [
        {"price": "10"},
        {"symbol": "ETH/USDT", "price": "abc"},
        {"symbol": "ETH/USDT", "price": "-1"},
        {"symbol": "ETH/USDT", "price": "10", "bid": "11", "ask": "10.5"},
        {"symbol": "not a symbol", "price": "10"},
    ]
    bad_ids = [await exchange.redis.xadd(stream, fields) for fields in bad]
    await exchange.redis.xadd(stream, {"symbol": "ETH/USDT", "price": "8.5"})

    counters = await burst(exchange).run()

    assert counters.dead == len(bad)
    assert (await exchange.fetch_order(order.id)).status == "closed"
    letters = await exchange.redis.xrange(exchange.keys.dead_letters)
    assert [fields["entry"] for _, fields in letters] == bad_ids
    reasons = [fields["reason"] for _, fields in letters]
    assert reasons[0] == "missing field 'symbol'"
    assert "must be a number" in reasons[1]
    assert "must be positive" in reasons[2]
    assert "above ask" in reasons[3]
    assert msgspec.json.decode(letters[1][1]["fields"]) == bad[1]
    stats = await exchange.redis.hgetall(exchange.keys.worker_stats)
    assert (stats["dead"], stats["dead:malformed"]) == ("5", "5")
    assert await pending(exchange.redis, stream) == 0
    assert (await exchange.fetch_ticker("ETH/USDT")).last == Decimal("8.5")


async def _two_orders_and_a_group(ex: Exchange, stream: str) -> list[str]:
    """Buy at 95 and sell at 105 resting; the group starts after them; three ticks published."""
    await ex.deposit("USDT", "1000")
    await ex.deposit("BTC", "1")
    await ex.push_price("BTC/USDT", "100")
    buy = await ex.create_order("BTC/USDT", "buy", "limit", "1", "95")
    sell = await ex.create_order("BTC/USDT", "sell", "limit", "0.5", "105")
    await ex.redis.xgroup_create(stream, GROUP, id="$", mkstream=True)
    for price in ("94", "106", "100"):
        await ex.redis.xadd(stream, {"symbol": "BTC/USDT", "price": price})
    return [buy.id, sell.id]


async def test_redelivery_of_applied_entries_changes_nothing(exchange: Exchange, settings: Settings) -> None:
    stream = settings.price_stream
    await _two_orders_and_a_group(exchange, stream)
    # a worker that applied the entries and died before XACK
    reply = await exchange.redis.xreadgroup(GROUP, "ghost", {stream: ">"}, count=10)
    for entry_id, fields in reply[0][1]:
        await exchange.apply_tick(entry_id, parse_tick(fields, entry_id))
    before = await snapshot(exchange)
    ticker = await exchange.redis.hgetall(exchange.keys.ticker("BTC/USDT"))
    events = await exchange.redis.xlen(exchange.keys.events)
    assert len(before["trades"]) == 2

    counters = await burst(exchange, claim_idle_ms=1).run()

    assert (counters.claimed, counters.processed, counters.filled) == (3, 3, 0)
    assert await snapshot(exchange) == before
    assert await exchange.redis.hgetall(exchange.keys.ticker("BTC/USDT")) == ticker
    assert await exchange.redis.xlen(exchange.keys.events) == events
    assert await pending(exchange.redis, stream) == 0


async def test_entries_of_a_dead_consumer_are_claimed_and_applied(exchange: Exchange, settings: Settings) -> None:
    stream = settings.price_stream
    buy, sell = await _two_orders_and_a_group(exchange, stream)
    await exchange.redis.xreadgroup(GROUP, "ghost", {stream: ">"}, count=10)

    idle = await burst(exchange, claim_idle_ms=60_000).run()
    assert idle.claimed == 0
    assert (await exchange.fetch_order(buy)).status == "open"

    counters = await burst(exchange, claim_idle_ms=1).run()

    assert (counters.claimed, counters.filled) == (3, 2)
    assert [(await exchange.fetch_order(i)).status for i in (buy, sell)] == ["closed", "closed"]
    assert await money_problems(exchange) == []
    assert await exchange.redis.hget(exchange.keys.worker_stats, "claimed") == "3"


async def test_a_restarted_consumer_first_finishes_its_own_pending_entries(
    exchange: Exchange, settings: Settings
) -> None:
    stream = settings.price_stream
    buy, _ = await _two_orders_and_a_group(exchange, stream)
    reply = await exchange.redis.xreadgroup(GROUP, "w1", {stream: ">"}, count=10)
    trimmed = reply[0][1][2][0]
    await exchange.redis.xdel(stream, trimmed)  # one held entry vanished meanwhile

    counters = await burst(exchange, claim_idle_ms=10**9).run()

    assert (counters.claimed, counters.processed, counters.filled) == (0, 2, 2)
    assert (await exchange.fetch_order(buy)).status == "closed"
    assert await pending(exchange.redis, stream) == 0


async def test_an_entry_delivered_too_often_is_dead_lettered_not_applied(
    exchange: Exchange, settings: Settings
) -> None:
    stream = settings.price_stream
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    order = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "95")
    await exchange.redis.xgroup_create(stream, GROUP, id="$")
    poison = await exchange.redis.xadd(stream, {"symbol": "BTC/USDT", "price": "90"})
    await exchange.redis.xreadgroup(GROUP, "ghost", {stream: ">"})
    await exchange.redis.xclaim(stream, GROUP, "ghost", 0, [poison], idle=60_000, retrycount=3)

    counters = await burst(exchange, claim_idle_ms=30_000, max_deliveries=3).run()

    assert (counters.dead, counters.processed) == (1, 0)
    [(_, letter)] = await exchange.redis.xrange(exchange.keys.dead_letters)
    assert letter["entry"] == poison
    assert letter["reason"] == "delivered 4 times without being acknowledged (limit 3)"
    assert await exchange.redis.hget(exchange.keys.worker_stats, "dead:deliveries") == "1"
    assert (await exchange.fetch_order(order.id)).status == "open"
    assert (await exchange.fetch_ticker("BTC/USDT")).last == Decimal(100)
    assert await pending(exchange.redis, stream) == 0


async def test_batched_settlement_equals_applying_every_tick_in_order(settings: Settings) -> None:
    """Small chunks make ticks span several calls, so pipelined first calls interleave with the rest."""
    rng = random.Random(11)
    ns = settings.namespace
    batched = await Exchange.open(msgspec.structs.replace(settings, settle_chunk=3))
    ordered = await Exchange.open(
        msgspec.structs.replace(settings, settle_chunk=3, namespace=ns + "b", price_stream=ns + "b:prices")
    )
    try:
        for ex in (batched, ordered):
            await ex.deposit("USDT", "1000000")
            await ex.deposit("BTC", "1000")
            await ex.push_price("BTC/USDT", "100")
        plan = []
        for _ in range(60):
            side = rng.choice(["buy", "sell"])
            offset = Decimal(rng.randint(1, 1500)) / 100
            price = Decimal(100) - offset if side == "buy" else Decimal(100) + offset
            plan.append((side, Decimal(rng.randint(1, 10**6)) / 10**5, price))
        for ex in (batched, ordered):
            for side, amount, price in plan:
                await ex.create_order("BTC/USDT", side, "limit", amount, price)
        prices, price = [], Decimal(100)
        for _ in range(80):
            price += Decimal(rng.choice([-1, 1]) * rng.randint(1, 600)) / 100
            price = min(max(price, Decimal(80)), Decimal(120))
            prices.append(price)
        for p in prices:
            await batched.redis.xadd(batched.settings.price_stream, {"symbol": "BTC/USDT", "price": str(p)})
        for p in prices:
            await ordered.push_price("BTC/USDT", p)

        counters = await Worker(batched, WorkerOptions(name="w1", burst=True, batch=16)).run()

        assert counters.processed == 81
        assert await snapshot(batched, trade_times=False) == await snapshot(ordered, trade_times=False)
        assert await money_problems(batched) == []
        assert (await batched.fetch_ticker("BTC/USDT")).last == prices[-1]
    finally:
        await batched.close()
        await ordered.close()


async def test_heartbeat_while_running_and_gone_after_a_stop(exchange: Exchange) -> None:
    stop = asyncio.Event()
    worker = Worker(exchange, WorkerOptions(name="hb", block_ms=50, heartbeat_every=0.05, heartbeat_ttl=5), stop)
    task = asyncio.create_task(worker.run())
    key = exchange.keys.heartbeat("hb")
    await exchange.redis.xadd(exchange.settings.price_stream, {"symbol": "BTC/USDT", "price": "5"})

    async def beat_counts_the_tick() -> bool:
        raw = await exchange.redis.get(key)
        return raw is not None and heartbeat_decoder.decode(raw).processed == 1

    await wait_until(beat_counts_the_tick, "a heartbeat counting the tick")
    beat = heartbeat_decoder.decode(await exchange.redis.get(key))
    assert (beat.name, beat.group, beat.healthy) == ("hb", GROUP, True)
    assert 0 < await exchange.redis.pttl(key) <= 5000
    assert beat.started <= beat.last_beat <= time.time() * 1000 + 1

    stop.set()
    counters = await asyncio.wait_for(task, 5)
    assert counters.processed == 1
    assert await exchange.redis.exists(key) == 0


async def test_older_price_keys_are_published_once_and_settle(exchange: Exchange, redis: Redis) -> None:
    base = "L" + uuid.uuid4().hex[:8].upper()
    other = "M" + uuid.uuid4().hex[:8].upper()
    tickers_key, sym_key, bad_key = f"tickers:{base}/USDT", f"sym_{other}USDT", f"tickers:{base}"
    stream = exchange.settings.price_stream
    try:
        old_style = {"price": "50.5", "bid": "50.4", "ask": "50.6", "timestamp": "1700000000"}
        await redis.hset(tickers_key, mapping=old_style)
        await redis.hset(sym_key, mapping={"price": "20.123456789123"})
        await redis.hset(bad_key, mapping={"price": "abc"})
        await burst(exchange).run()

        ticker = await exchange.fetch_ticker(f"{base}/USDT")
        assert (ticker.last, ticker.bid, ticker.ask, ticker.timestamp) == (
            Decimal("50.5"), Decimal("50.4"), Decimal("50.6"), 1_700_000_000_000,
        )  # fmt: skip
        assert (await exchange.fetch_ticker(f"{other}/USDT")).last == Decimal("20.12345679")
        assert await exchange.redis.xlen(stream) == 2

        await burst(exchange).run()
        assert await exchange.redis.xlen(stream) == 2  # unchanged keys are not published again

        await exchange.deposit("USDT", "100")
        order = await exchange.create_order(f"{base}/USDT", "buy", "limit", "1", "50")
        await redis.hset(tickers_key, mapping={"price": "49.9", "bid": "49.8", "ask": "50"})
        await burst(exchange).run()
        assert (await exchange.fetch_order(order.id)).status == "closed"
        assert await exchange.redis.xlen(stream) == 3
    finally:
        await redis.delete(tickers_key, sym_key, bad_key)


def test_options_are_checked_against_the_settings(settings: Settings) -> None:
    with pytest.raises(ValueError, match="below the socket timeout"):
        WorkerOptions(name="w", block_ms=5000).check(settings)
    with pytest.raises(ValueError, match="without spaces"):
        WorkerOptions(name="a b").check(settings)
    WorkerOptions(name="w", block_ms=4999).check(settings)
    with pytest.raises(ValueError, match=f"between 1 and {MAX_BATCH}"):
        WorkerOptions(name="w", batch=MAX_BATCH + 1).check(settings)
    WorkerOptions(name="w", batch=MAX_BATCH).check(settings)
    batch = next(p for p in worker_command.params if p.name == "batch")
    assert isinstance(batch.type, click.IntRange)
    assert batch.type.max == MAX_BATCH  # `mockx worker --batch` offers exactly what the worker takes


async def test_scripts_lost_in_a_valkey_restart_are_loaded_again(exchange: Exchange, settings: Settings) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    order = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "95")
    await exchange.redis.script_flush()
    await exchange.redis.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": "94"})

    counters = await burst(exchange).run()

    assert (counters.errors, counters.filled) == (0, 1)
    assert (await exchange.fetch_order(order.id)).status == "closed"
