"""Book and tape upkeep costs the settlement worker no Valkey call of its own: the same settle calls carry it."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from redis.asyncio import Redis

from app.engine.exchange import Exchange
from app.engine.ticks import levels_json
from app.settings import Settings
from app.workers.settlement import Worker, WorkerOptions

TICKS = 300
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")


def _fields(symbol: str, i: int, book: bool) -> dict[str, str]:
    price = Decimal(1000 + i % 7)
    fields = {"symbol": symbol, "price": str(price)}
    if book:
        bids = tuple((price - j, Decimal(j + i % 3)) for j in range(1, 6))
        asks = tuple((price + j, Decimal(j + i % 2)) for j in range(1, 6))
        fields.update(bids=levels_json(bids), asks=levels_json(asks), qty="0.5")
    return fields


async def _drain(ex: Exchange, redis: Redis, prefix: str, book: bool) -> dict[str, int]:
    """Publish TICKS ticks (with or without books and prints), let a burst worker drain them; its command counts."""
    await redis.xadd(ex.settings.price_stream, {"symbol": "XRP/USDT", "price": "1"})  # the group exists already
    await Worker(ex, WorkerOptions(name="w", burst=True, sweep=False, batch=50)).run()
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(TICKS):
            pipe.xadd(ex.settings.price_stream, _fields(f"{prefix}{SYMBOLS[i % 3]}", i, book))
        await pipe.execute()
    await redis.config_resetstat()
    await Worker(ex, WorkerOptions(name="w", burst=True, sweep=False, batch=50)).run()
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def test_book_upkeep_adds_no_call_per_tick(own_valkey: str, settings: Settings) -> None:
    settings = msgspec.structs.replace(settings, redis_url=own_valkey)
    async with Exchange.connect(settings) as ex:
        redis = ex.redis
        quotes = await _drain(ex, redis, "", book=False)
        books = await _drain(ex, redis, "B", book=True)
        # the worker's own commands: the same number of reads, settle calls and acknowledgements
        for command in ("evalsha", "xreadgroup", "xack"):
            assert books.get(command, 0) == quotes.get(command, 0), command
        calls = books["evalsha"]
        assert calls < TICKS / 10  # runs of ticks, not a call per tick
        # inside those calls: one depth read and one write per call, one diff per call, one tape push per call
        assert books["xadd"] - quotes.get("xadd", 0) == calls
        assert books["rpush"] == books["ltrim"] == calls
        assert books["hmget"] - quotes["hmget"] == calls
        symbols = [f"B{s}" for s in SYMBOLS]
        assert [(await ex.order_book(s)).nonce for s in symbols] == [TICKS // 3] * 3
        assert [len(await ex.public_trades(s)) for s in symbols] == [TICKS // 3] * 3
