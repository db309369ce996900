"""Candles through the settlement worker: no command per tick, redelivery after the ack counts nothing twice,
the counted ids are forgotten when no delivery can come, retention trims, candle.updated has its own stream."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from pathlib import Path

import msgspec

from app.engine.candles import COUNTED_GRACE_MS
from app.engine.exchange import Exchange
from app.engine.ticks import parse_tick
from app.settings import Settings
from app.workers.settlement import Worker, WorkerOptions

MINUTE, DAY = 60_000, 86_400_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def publish(ex: Exchange, n: int, ts: int, symbol: str = "BTC/USDT") -> list[str]:
    """``n`` prints of 0.5 at 100 + i % 3, all in the minute of ``ts``."""
    pipe = ex.redis.pipeline(transaction=False)
    for i in range(n):
        fields = {"symbol": symbol, "price": str(100 + i % 3), "qty": "0.5", "ts": str(ts + i % 1000)}
        pipe.xadd(ex.settings.price_stream, fields)  # type: ignore[arg-type]
    return [str(i) for i in await pipe.execute()]


async def commandstats(ex: Exchange) -> dict[str, int]:
    info = await ex.redis.info("commandstats")
    return {name: int(v["calls"]) for name, v in info.items()}


async def run_counted(url: str, tmp_path: Path, n: int) -> dict[str, int]:
    """The commands (client's and scripts') one burst worker makes for ``n`` ticks of one symbol in one batch."""
    settings = Settings(redis_url=url, namespace=f"k{uuid.uuid4().hex[:10]}", data_dir=tmp_path)
    async with await Exchange.open(settings) as ex:
        await publish(ex, 1, now_ms() // MINUTE * MINUTE - 2 * MINUTE)
        await Worker(ex, WorkerOptions(name="w", burst=True, sweep=False, batch=1000)).run()  # the market exists
        await publish(ex, n, now_ms() // MINUTE * MINUTE - MINUTE)
        before = await commandstats(ex)
        await Worker(ex, WorkerOptions(name="w", burst=True, sweep=False, batch=1000)).run()
        after = await commandstats(ex)
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0) and k != "cmdstat_info"}


async def test_candle_upkeep_costs_no_command_per_tick(valkey_url: str, tmp_path: Path) -> None:
    """Ten ticks or five hundred in a batch: the same commands, each the same number of times."""
    few, many = await run_counted(valkey_url, tmp_path, 10), await run_counted(valkey_url, tmp_path, 500)
    assert few == many, (few, many)
    assert few["cmdstat_evalsha"] == 1  # the one settle_batch call of the batch
    assert few["cmdstat_zmscore"] == 1
    assert few["cmdstat_zadd"] == 2


async def test_a_redelivery_after_the_ack_counts_nothing_twice(exchange: Exchange) -> None:
    ts = now_ms() // MINUTE * MINUTE - MINUTE
    ids = await publish(exchange, 30, ts)
    await Worker(exchange, WorkerOptions(name="w", burst=True, sweep=False)).run()
    counted = exchange.keys.candles_counted
    assert all(score < 0 for _, score in await exchange.redis.zrange(counted, 0, -1, withscores=True))
    entries = await exchange.redis.xrange(exchange.settings.price_stream)
    for entry_id, fields in reversed(entries):  # a consumer that claimed them before the ack, in any order
        await exchange.apply_tick(entry_id, parse_tick(fields, entry_id))
    (candle,) = await exchange.fetch_ohlcv("BTC/USDT", "1m", ts, ts)
    assert (candle.volume, candle.count, candle.high, candle.low) == (Decimal(15), 30, Decimal(102), Decimal(100))
    assert candle.quote_volume == Decimal("0.5") * (10 * 100 + 10 * 101 + 10 * 102)

    await exchange.trim_candles(now_ms=now_ms() + COUNTED_GRACE_MS + 1_000)  # acknowledged long enough ago
    assert await exchange.redis.zcard(counted) == 0
    entry = await exchange.push_price("BTC/USDT", "101")  # no qty: a quote is never recorded
    assert await exchange.redis.zcard(counted) == 0
    assert entry.entry_id not in ids


async def test_ids_recorded_without_a_group_go_when_their_entries_leave_the_stream(exchange: Exchange) -> None:
    ts = now_ms() // MINUTE * MINUTE - MINUTE
    for i in range(5):  # one ms apart (a recorded id's score is its entry's ms)
        fields = {"symbol": "BTC/USDT", "price": "100", "qty": "1", "ts": str(ts)}
        await exchange.redis.xadd(exchange.settings.price_stream, fields, id=f"{ts + i}-0")  # type: ignore[arg-type]
    for entry_id, fields in await exchange.redis.xrange(exchange.settings.price_stream):
        await exchange.apply_tick(entry_id, parse_tick(fields, entry_id))  # in-process, no consumer group
    counted = exchange.keys.candles_counted
    await exchange.trim_candles()
    assert await exchange.redis.zcard(counted) == 5  # still deliverable to a group created later
    await exchange.redis.xtrim(exchange.settings.price_stream, maxlen=2, approximate=False)
    await exchange.trim_candles()
    assert await exchange.redis.zcard(counted) == 2
    await exchange.redis.delete(exchange.settings.price_stream)
    await exchange.trim_candles()
    assert await exchange.redis.zcard(counted) == 0


async def test_retention_trims_each_resolution(exchange: Exchange, settings: Settings) -> None:
    now = now_ms()
    old, recent = now - 5 * DAY, now - MINUTE
    for ts in (old, recent):
        entry = f"{ts}-0"
        await exchange.apply_tick(entry, parse_tick({"symbol": "BTC/USDT", "price": "100", "ts": str(ts)}, entry))
    key = exchange.keys.candles("BTC/USDT")
    removed, more = await exchange.trim_candles(now_ms=now)
    assert (removed, more) == (1, False)  # 1m past CANDLES_1M (2 days); the hour and day stay (90 and 400 days)
    held = await exchange.redis.hgetall(key)
    assert f"1m:{old // MINUTE}" not in held
    assert f"1m:{recent // MINUTE}" in held
    assert f"1h:{old // 3_600_000}" in held
    assert f"1d:{old // DAY}" in held
    assert int(held["1m:first"]) == (now - int(settings.candles_1m * 1000)) // MINUTE
    assert await exchange.trim_candles(now_ms=now) == (0, False)
    removed, _ = await exchange.trim_candles(now_ms=now + 500 * DAY)
    assert removed == 5
    assert await exchange.redis.hlen(key) == 3


async def test_candle_updates_have_their_own_stream(exchange: Exchange) -> None:
    ts = now_ms() // MINUTE * MINUTE - MINUTE
    await publish(exchange, 3, ts)
    await Worker(exchange, WorkerOptions(name="w", burst=True, sweep=False)).run()
    (entry,) = await exchange.redis.xrange(exchange.keys.candle_events)
    data = msgspec.json.decode(entry[1]["data"])
    assert entry[1]["type"] == "candle.updated"
    assert data == {
        "symbol": "BTC/USDT", "timeframe": "1m", "ts": str(ts), "open": "100", "high": "102", "low": "100",
        "close": "102", "volume": "1.5", "quoteVolume": "151.5", "count": "3",
    }  # fmt: skip
    types = {f["type"] for _, f in await exchange.redis.xrange(exchange.keys.events)}
    assert "candle.updated" not in types
