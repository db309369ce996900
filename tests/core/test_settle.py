"""Settling ticks: crossing, chunking, idempotence and order-insensitivity, book scaling."""

import asyncio
import statistics
import time
from decimal import Decimal
from pathlib import Path

import msgspec

from app.engine.audit import audit
from app.engine.exchange import Exchange
from app.engine.settlement import BOOK_GROUP
from app.engine.ticks import Tick, parse_tick
from app.settings import Settings
from app.store.embedded import EmbeddedValkey

D = Decimal


async def tick(ex: Exchange, price: str, **fields: str) -> tuple[str, Tick]:
    """Publish a tick on the stream WITHOUT applying it (as an external publisher would)."""
    data = {"symbol": "BTC/USDT", "price": price, **fields}
    entry_id = await ex.redis.xadd(ex.settings.price_stream, data)
    return entry_id, parse_tick(data, entry_id)


async def state(ex: Exchange) -> dict[str, object]:
    k = ex.keys
    return {
        "balances": await ex.redis.hgetall(k.balances),
        "orders": await ex.redis.hgetall(k.orders),
        "trades": await ex.redis.hgetall(k.trades),
        "ticker": await ex.redis.hgetall(k.ticker("BTC/USDT")),
        "ohlc": await ex.redis.hgetall(k.ohlc("BTC/USDT")),
        "stats": await ex.redis.hgetall(k.stats),
        "events": await ex.redis.xlen(k.events),
    }


async def test_a_tick_fills_buys_at_or_above_and_sells_at_or_below_only(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "10000")
    await exchange.deposit("BTC", "10")
    await exchange.push_price("BTC/USDT", "100")
    b_hi = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "95")
    b_lo = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "90")
    s_lo = await exchange.create_order("BTC/USDT", "sell", "limit", "1", "105")
    result = await exchange.push_price("BTC/USDT", "95")
    assert result.filled == 1
    assert [(await exchange.fetch_order(o.id)).status for o in (b_hi, b_lo, s_lo)] == [
        "closed",
        "open",
        "open",
    ]
    assert await exchange.redis.zrange(exchange.keys.book("BTC/USDT", "buy"), 0, -1) == [b_lo.id]
    assert await audit(exchange.redis, exchange.keys) == []


async def test_many_crossed_orders_settle_in_bounded_chunks(settings: Settings) -> None:
    ex = await Exchange.open(msgspec.structs.replace(settings, settle_chunk=50))
    try:
        await ex.deposit("USDT", "1000000")
        await ex.push_price("BTC/USDT", "100")
        for i in range(230):
            await ex.create_order("BTC/USDT", "buy", "limit", "0.01", str(90 + i % 7))
        result = await ex.push_price("BTC/USDT", "50")
        assert (result.filled, result.calls) == (230, 5)
        assert await ex.redis.zcard(ex.keys.open) == 0
        assert await ex.redis.zcard(ex.keys.book("BTC/USDT", "buy")) == 0
        assert len(await ex.fetch_my_trades()) == 230
        assert await audit(ex.redis, ex.keys) == []
    finally:
        await ex.close()


async def test_redelivered_tick_changes_nothing(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    await exchange.create_order("BTC/USDT", "buy", "limit", "1", "90")
    entry, t = await tick(exchange, "89", volume="12.5")
    first = await exchange.apply_tick(entry, t)
    assert first.filled == 1
    before = await state(exchange)
    again = await exchange.apply_tick(entry, t)
    assert (again.filled, again.newest) == (0, False)
    assert await state(exchange) == before


async def test_a_stale_tick_never_fills_an_order_placed_after_it(exchange: Exchange) -> None:
    """Two workers: a newer tick is applied first, a user places an order, then the older tick lands."""
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    old_entry, old = await tick(exchange, "80")
    new_entry, new = await tick(exchange, "100")
    await exchange.apply_tick(new_entry, new)
    await asyncio.sleep(0.002)  # the order is placed strictly after both ticks were published
    order = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "90")
    late = await exchange.apply_tick(old_entry, old)
    assert (late.filled, late.newest) == (0, False)
    assert (await exchange.fetch_order(order.id)).status == "open"
    ticker = await exchange.fetch_ticker("BTC/USDT")
    assert (ticker.last, ticker.low) == (100, 80)  # the newest tick shows; the old one still counts in 24 h


async def test_ticks_in_any_order_end_like_stream_order(settings: Settings, namespace: str) -> None:
    """Apply the same ticks forwards and backwards in two namespaces: same fills, same ticker."""
    outcomes = []
    for suffix, reverse in (("a", False), ("b", True)):
        s = msgspec.structs.replace(settings, namespace=namespace + suffix)
        ex = await Exchange.open(s)
        try:
            await ex.deposit("USDT", "100000")
            await ex.deposit("BTC", "100")
            await ex.push_price("BTC/USDT", "100")
            for p in ("95", "90", "85"):
                await ex.create_order("BTC/USDT", "buy", "limit", "1", p)
            for p in ("105", "110"):
                await ex.create_order("BTC/USDT", "sell", "limit", "1", p)
            await asyncio.sleep(0.002)
            ticks = [await tick(ex, p) for p in ("93", "107", "88", "101")]
            for entry, t in reversed(ticks) if reverse else ticks:
                await ex.apply_tick(entry, t)
            orders = {o.price: o.status for o in await ex.fetch_orders()}
            bal = await ex.fetch_balance()
            ticker = await ex.fetch_ticker("BTC/USDT")
            outcomes.append((orders, bal.rows, ticker.last, ticker.high, ticker.low))
            assert await audit(ex.redis, ex.keys) == []
        finally:
            await ex.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == {
        D(95): "closed",
        D(90): "closed",
        D(85): "open",
        D(105): "closed",
        D(110): "open",
    }
    assert outcomes[0][2] == 101


async def test_sweep_fills_what_the_latest_price_crosses(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100", bid="99", ask="110")
    order = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "105")  # below the ask: rests
    assert order.status == "open"
    assert await exchange.sweep() == 1  # last 100 <= 105
    assert (await exchange.fetch_order(order.id)).status == "closed"


async def test_ticker_24h_statistics(exchange: Exchange) -> None:
    hour = 3_600_000
    base = 1_700_000_000_000 // hour * hour
    for offset, price in ((0, "100"), (hour, "120"), (2 * hour, "90"), (2 * hour + 5, "110")):
        await exchange.push_price("BTC/USDT", price, ts=base + offset, volume="1000")
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low, t.last, t.change, t.percentage) == (100, 120, 90, 110, 10, 10)
    assert (t.base_volume, t.timestamp) == (1000, base + 2 * hour + 5)
    await exchange.push_price("BTC/USDT", "130", ts=base + 30 * hour)  # a day later the old hours drop out
    t = await exchange.fetch_ticker("BTC/USDT")
    assert (t.open, t.high, t.low) == (130, 130, 130)
    fields = await exchange.redis.hkeys(exchange.keys.ohlc("BTC/USDT"))
    assert all(int(f.split(":")[0]) >= (base + 30 * hour) // hour - 24 for f in fields)


async def _median_tick_ms(ex: Exchange, n: int = 200) -> float:
    samples = []
    for i in range(n):
        entry, t = await tick(ex, str(1000 + i % 3))
        keys, args = ex.settle_call_args(entry, t, "first", (0, 0))
        start = time.perf_counter()
        step = await ex.scripts.settle_tick(keys, args)
        samples.append(time.perf_counter() - start)
        assert step is not None
        assert (step.examined, step.done) == (0, True)
    return statistics.median(samples) * 1000


async def test_a_tick_crossing_nothing_costs_the_same_for_100_or_100_000_resting(exchange: Exchange) -> None:
    """Scaling is by range, not scan: `examined` stays 0 and the time stays flat as the book grows."""
    await exchange.deposit("USDT", "100000000")
    await exchange.push_price("BTC/USDT", "1000")

    plan = await exchange.plan_order("BTC/USDT", "buy", "limit", "0.001", "500", None, None)
    assert plan.mode == "rest"

    await exchange.place_copies(plan, 100)
    small = await _median_tick_ms(exchange)
    await exchange.place_copies(plan, 99_900)
    assert await exchange.redis.zcard(exchange.keys.book("BTC/USDT", "buy")) == 100_000
    large = await _median_tick_ms(exchange)
    assert large < small * 3 + 0.5, f"median tick {small:.3f} ms with 100 resting, {large:.3f} ms with 100 000"
    assert await audit(exchange.redis, exchange.keys) == []


async def test_the_sweep_looks_only_at_books_that_hold_orders(settings: Settings, tmp_path: Path) -> None:
    """200 quiet symbols cost the sweep no settle call and no command of their own (one EXISTS per group of
    books); a book with an order the last tick missed gets one settle call.

    On a Valkey of its own, so that its command counters count this test's calls only."""
    own = EmbeddedValkey(tmp_path / "own", port=0, persist=False)
    try:
        async with Exchange.connect(msgspec.structs.replace(settings, redis_url=own.start())) as exchange:
            await _sweep_case(exchange)
    finally:
        own.stop()


async def _sweep_case(exchange: Exchange) -> None:
    for i in range(200):
        await exchange.push_price(f"C{i}/USDT", "10")
    await exchange.deposit("USDT", "1000")
    resting = await exchange.create_order("C7/USDT", "buy", "limit", "1", "9")
    await exchange.redis.hset(exchange.keys.ticker("C7/USDT"), mapping={"last": "8.5", "bid": "8.5", "ask": "8.5"})

    async def evalsha_calls() -> int:
        stats = await exchange.redis.info("commandstats")
        return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))

    async def command_calls() -> int:
        stats = await exchange.redis.info("commandstats")
        return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")

    before = await evalsha_calls()
    assert await exchange.sweep() == 1
    assert await evalsha_calls() - before == 1, "one settle call: the only book with an order"
    assert (await exchange.fetch_order(resting.id)).status == "closed"
    before, commands = await evalsha_calls(), await command_calls()
    assert await exchange.sweep() == 0
    assert await evalsha_calls() == before, "every book empty: no settle call at all"
    groups = -(-800 // BOOK_GROUP)  # 200 symbols, two book sides and two trigger indexes each
    assert await command_calls() - commands == 1 + groups, "one HLEN, one EXISTS per group of books"
