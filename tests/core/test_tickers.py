"""The tickers: the 24 h statistics kept in the ticker hash by the settle call, and how they are read."""

from decimal import Decimal

import msgspec

from app.engine.exchange import Exchange
from app.engine.ticks import parse_tick
from app.settings import Settings
from tests.support.tickers import HOUR, check_window

D = Decimal
BASE = 1_700_000_000_000 // HOUR * HOUR  # the start of an hour


async def publish(ex: Exchange, price: str, ts: int, symbol: str = "BTC/USDT") -> tuple[str, dict[str, str]]:
    """A tick put on the stream and not applied yet (a worker will apply it late)."""
    fields = {"symbol": symbol, "price": price, "ts": str(ts)}
    return await ex.redis.xadd(ex.settings.price_stream, fields), fields


async def apply(ex: Exchange, published: tuple[str, dict[str, str]]) -> None:
    entry_id, fields = published
    await ex.apply_tick(entry_id, parse_tick(fields, entry_id))


async def test_the_window_rolls_with_the_hour(exchange: Exchange) -> None:
    for h in range(24):  # hour 0: 100 with a low of 50 and a high of 200; hour h: 100 + h
        await exchange.push_price("BTC/USDT", str(100 + h), ts=BASE + h * HOUR)
        if h == 0:
            await exchange.push_price("BTC/USDT", "50", ts=BASE + 1)
            await exchange.push_price("BTC/USDT", "200", ts=BASE + 2)
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low, t.last) == (100, 200, 50, 123)
    assert await check_window(exchange, "BTC/USDT") == (100, 200, 50, BASE // HOUR)

    await exchange.push_price("BTC/USDT", "110", ts=BASE + 24 * HOUR)  # hour 0 leaves the window
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low, t.last, t.change, t.percentage) == (101, 123, 101, 110, 9, D("8.9109"))
    assert t.average == D("105.5")
    await check_window(exchange, "BTC/USDT")

    late = await publish(exchange, "99", BASE + 5 * HOUR)  # published now, applied after newer ticks
    await exchange.push_price("BTC/USDT", "130", ts=BASE + 24 * HOUR + 1)  # the same hour: high widens
    await exchange.push_price("BTC/USDT", "100.5", ts=BASE + 24 * HOUR + 2)  # and low
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low, t.last) == (101, 130, D("100.5"), D("100.5"))
    await apply(exchange, late)  # a late tick in an hour of the window counts
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low, t.last) == (101, 130, 99, D("100.5"))
    await check_window(exchange, "BTC/USDT")

    first = await publish(exchange, "97", BASE + 1 * HOUR + 1)
    await exchange.push_price("BTC/USDT", "101", ts=BASE + 24 * HOUR + 3)
    await apply(exchange, first)  # late, in the oldest hour, but after its first tick by id: not the open
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.low) == (101, 97)
    await check_window(exchange, "BTC/USDT")


async def test_a_late_tick_in_an_empty_older_hour_becomes_the_open(exchange: Exchange) -> None:
    late = await publish(exchange, "90", BASE + 2 * HOUR)
    await exchange.push_price("BTC/USDT", "100", ts=BASE + 10 * HOUR)
    await apply(exchange, late)
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low, t.last) == (90, 100, 90, 100)
    assert await check_window(exchange, "BTC/USDT") == (90, 100, 90, BASE // HOUR + 2)
    too_old = await publish(exchange, "1", BASE - 15 * HOUR)  # more than 24 h before the ticker: left out
    await exchange.push_price("BTC/USDT", "100", ts=BASE + 10 * HOUR + 1)
    await apply(exchange, too_old)
    assert (await exchange.fetch_ticker("BTC/USDT")).low == 90
    await check_window(exchange, "BTC/USDT")


async def test_a_symbol_quiet_for_more_than_a_day(exchange: Exchange) -> None:
    """No tick for a day changes nothing (the window ends with the ticker's last tick); the next tick starts
    a new window: every older bucket leaves it, and the hash."""
    for h, price in ((0, "100"), (1, "120"), (2, "90")):
        await exchange.push_price("BTC/USDT", price, ts=BASE + h * HOUR)
    await exchange.push_price("ETH/USDT", "10", ts=BASE)
    before = await exchange.fetch_tickers()
    assert (before["BTC/USDT"].open, before["BTC/USDT"].high, before["BTC/USDT"].low) == (100, 120, 90)
    await exchange.push_price("ETH/USDT", "11", ts=BASE + 40 * HOUR)  # another symbol moves on
    after = await exchange.fetch_tickers()
    assert after["BTC/USDT"] == before["BTC/USDT"]
    assert (after["ETH/USDT"].open, after["ETH/USDT"].high, after["ETH/USDT"].low) == (11, 11, 11)

    late = await publish(exchange, "95", BASE + 20 * HOUR)
    await exchange.push_price("BTC/USDT", "130", ts=BASE + 30 * HOUR)
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low, t.change) == (130, 130, 130, 0)
    assert sorted(await exchange.redis.hkeys(exchange.keys.ohlc("BTC/USDT")))[0].startswith(str(BASE // HOUR + 30))
    await apply(exchange, late)  # within 24 h of the new ticker: its hour joins the window and opens it
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low, t.last) == (95, 130, 95, 130)
    await check_window(exchange, "BTC/USDT")


async def test_a_window_emptied_by_a_tick_far_ahead(exchange: Exchange) -> None:
    """A late tick 30 h ahead of the ticker drops every bucket of its window: the statistics are empty."""
    far = await publish(exchange, "500", BASE + 40 * HOUR)
    await exchange.push_price("BTC/USDT", "100", ts=BASE + 10 * HOUR)
    await apply(exchange, far)
    t = await exchange.fetch_ticker("BTC/USDT")
    assert t.last == 100
    assert (t.open, t.high, t.low, t.change, t.percentage, t.average) == (None,) * 6
    assert await check_window(exchange, "BTC/USDT") == (None, None, None, None)


async def test_a_ticker_written_before_the_statistics_were_kept(exchange: Exchange) -> None:
    for h, price in ((0, "100"), (1, "120"), (2, "90"), (2, "110")):
        await exchange.push_price("BTC/USDT", price, ts=BASE + h * HOUR)
    expected = await exchange.fetch_ticker("BTC/USDT")
    await exchange.redis.hdel(exchange.keys.ticker("BTC/USDT"), "open", "high", "low", "openHour")
    assert await exchange.fetch_ticker("BTC/USDT") == expected  # read from the buckets meanwhile
    assert (await exchange.fetch_tickers())["BTC/USDT"] == expected
    await exchange.push_price("BTC/USDT", "111", ts=BASE + 2 * HOUR + 1)  # the next tick writes them
    await check_window(exchange, "BTC/USDT")
    assert (await exchange.fetch_ticker("BTC/USDT")).open == 100


async def test_tickers_see_new_markets_and_reuse_unchanged_tickers(settings: Settings) -> None:
    async with Exchange.connect(settings) as reader, Exchange.connect(settings) as writer:
        await writer.push_price("BTC/USDT", "100")
        first = await reader.fetch_tickers()
        assert list(first) == ["BTC/USDT"]
        await writer.push_price("ETH/USDT", "10")  # registered by another process
        second = await reader.fetch_tickers()
        assert list(second) == ["BTC/USDT", "ETH/USDT"]
        assert second["BTC/USDT"] is first["BTC/USDT"]  # unchanged: made once
        await writer.push_price("BTC/USDT", "101")
        third = await reader.fetch_tickers()
        assert third["BTC/USDT"].last == 101
        assert third["ETH/USDT"] is second["ETH/USDT"]


async def test_shards_keep_a_ticker_copy_without_statistics(settings: Settings) -> None:
    async with Exchange.connect(msgspec.structs.replace(settings, shards=2)) as ex:
        await ex.push_price("BTC/USDT", "100", ts=BASE)
        await ex.push_price("BTC/USDT", "90", ts=BASE + HOUR)
        copy = await ex.redis.hgetall(ex.core.shard_keys[1].ticker("BTC/USDT"))
        assert (copy["last"], copy["ts"]) == ("90", str(BASE + HOUR))
        assert not {"open", "high", "low", "openHour"} & set(copy)
        assert not await ex.redis.exists(f"{ex.core.shard_keys[1].tag}:ohlc:BTC/USDT")
        t = await ex.fetch_ticker("BTC/USDT")
        assert (t.open, t.high, t.low, t.last) == (100, 100, 90, 90)
        await check_window(ex, "BTC/USDT")


async def test_concurrent_reads_while_markets_appear(exchange: Exchange) -> None:
    """Readers that overlap while new markets appear each get a consistent view (never a mismatched row)."""
    import asyncio

    await exchange.push_price("BTC/USDT", "100")
    await exchange.fetch_tickers()
    for n in range(5):
        for i in range(3):
            await exchange.redis.hset(exchange.core.keys.markets, f"NEW{n}{i}/USDT", "{}")  # markets without a price
        views = await asyncio.gather(*(exchange.fetch_tickers() for _ in range(20)))
        assert all(set(view) == {"BTC/USDT"} for view in views)
