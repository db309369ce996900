"""settle_batch: a run of ticks of one symbol in one call, with the effect of settle_tick one tick at a time."""

import asyncio
import itertools
import os
import time
import uuid
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.audit import audit
from app.engine.exchange import Exchange
from app.engine.ticks import Tick, parse_tick
from app.settings import Settings
from app.store.scripts import BatchStep
from tests.support.tickers import check_window

HOUR = 3_600_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ticks_of(symbol: str, *fields: dict[str, str]) -> list[tuple[str, Tick]]:
    """Ticks with entry ids after now (so newer than any price pushed before), one ms apart."""
    ms = now_ms() + 60_000 - 1
    return [(f"{ms + i}-0", parse_tick({"symbol": symbol, **f}, f"{ms + i}-0")) for i, f in enumerate(fields, 1)]


async def settle_batch(ex: Exchange, run: list[tuple[str, Tick]]) -> BatchStep:
    keys, args = ex.settle_batch_call_args(run[0][1].symbol, [(e, t.settle_values()) for e, t in run])
    return await ex.scripts.settle_batch(keys, args)


async def settle_run(ex: Exchange, run: list[tuple[str, Tick]]) -> int:
    """Drive settle_batch to the end of ``run`` as a worker does; returns the calls it took."""
    calls = 0
    while run:
        step = await settle_batch(ex, run)
        calls += 1
        run = run[step.applied :]
        if not step.done:
            entry_id, tick = run[0]
            calls += (await ex.finish_tick(entry_id, tick, step.continuation())).calls
            run = run[1:]
    return calls


async def events(ex: Exchange) -> list[tuple[str, dict[str, Any]]]:
    return [(f["type"], msgspec.json.decode(f["data"])) for _, f in await ex.redis.xrange(ex.keys.events)]


async def test_each_tick_fills_what_it_crosses_when_its_turn_comes(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.deposit("BTC", "1")
    await exchange.push_price("BTC/USDT", "100")
    buy = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "90")
    sell = await exchange.create_order("BTC/USDT", "sell", "limit", "1", "110")
    before = len(await events(exchange))
    run = ticks_of("BTC/USDT", *({"price": p} for p in ("100", "95", "90", "100", "111", "100")))

    step = await settle_batch(exchange, run)

    assert (step.applied, step.filled, step.done) == (6, 2, True)
    trades = {t.order_id: t for t in await exchange.fetch_my_trades()}
    assert trades[buy.id].timestamp == run[2][1].ts  # filled by the third tick
    assert trades[sell.id].timestamp == run[4][1].ts  # and the sell by the fifth
    seen = (await events(exchange))[before:]
    assert [kind for kind, _ in seen] == [
        "ticker.updated", "order.filled", "ticker.updated", "order.filled", "balance.changed", "ticker.updated",
    ]  # fmt: skip
    assert [data["last"] for kind, data in seen if kind == "ticker.updated"] == ["90", "111", "100"]
    ticker = await exchange.fetch_ticker("BTC/USDT")
    assert (ticker.last, ticker.high, ticker.low) == (100, 111, 90)
    assert await audit(exchange.redis, exchange.keys) == []


async def test_a_call_stops_when_its_budget_of_orders_runs_out(settings: Settings) -> None:
    ex = await Exchange.open(msgspec.structs.replace(settings, settle_chunk=2))
    try:
        await ex.deposit("USDT", "1000")
        await ex.push_price("BTC/USDT", "100")
        for price in ("90", "89", "88"):
            await ex.create_order("BTC/USDT", "buy", "limit", "1", price)
        run = ticks_of("BTC/USDT", {"price": "95"}, {"price": "85"}, {"price": "99"})

        step = await settle_batch(ex, run)
        assert (step.applied, step.filled, step.done, step.mode) == (1, 2, False, "n")  # the 85 tick is under way
        assert (await ex.fetch_ticker("BTC/USDT")).last == 85  # its ticker part is done
        rest = await ex.finish_tick(*run[1], step.continuation())
        assert rest.filled == 1
        assert (await settle_batch(ex, run[2:])).applied == 1
        assert [o.status for o in await ex.fetch_orders()] == ["closed"] * 3
        assert (await ex.fetch_ticker("BTC/USDT")).last == 99
        assert await audit(ex.redis, ex.keys) == []
    finally:
        await ex.close()


async def test_one_ticker_event_per_call_and_a_repeat_changes_nothing(exchange: Exchange) -> None:
    run = ticks_of("BTC/USDT", *({"price": p, "bid": p, "ask": p} for p in ("10", "12", "9", "11")))
    assert (await settle_batch(exchange, run)).applied == 4
    assert [kind for kind, _ in await events(exchange)] == ["market.created", "ticker.updated"]
    _, updated = (await events(exchange))[-1]
    assert (updated["id"], updated["last"]) == (run[-1][0], "11")  # the ticker after the run
    ticker = await exchange.fetch_ticker("BTC/USDT")
    assert (ticker.open, ticker.high, ticker.low, ticker.last) == (10, 12, 9, 11)

    async def stored() -> tuple[dict[str, str], dict[str, str]]:
        k = exchange.keys
        return await exchange.redis.hgetall(k.ticker("BTC/USDT")), await exchange.redis.hgetall(k.ohlc("BTC/USDT"))

    before = await stored()
    assert (await settle_batch(exchange, run)).applied == 4  # redelivered: applied again, to no effect
    assert await stored() == before
    assert len(await events(exchange)) == 2


# A pool of distinct ticks (an entry id always carries the same fields): a price between 80 and 120 and
# the hour offset of its ts; runs pick from the pool in any order, with repeats, so ids go back, ticks are
# redelivered, and the ticker's time jumps across days. Orders rest between 85 and 115.
pools = st.lists(
    st.tuples(st.integers(8_000, 12_000), st.sampled_from((0, 0, 0, 1, 2, 23, 26, 50))), min_size=1, max_size=12
)
cases = pools.flatmap(
    lambda pool: st.tuples(
        st.just(pool),
        st.lists(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=10), min_size=1, max_size=4),
        st.lists(st.tuples(st.sampled_from(("buy", "sell")), st.integers(1, 15)), max_size=8),
        st.integers(1, 4),
    )
)


def test_a_run_ends_like_its_ticks_one_by_one(valkey_url: str, tmp_path: Any) -> None:
    """Random runs and resting orders, small budgets: same orders, trades, balances, ticker and buckets."""
    loop = asyncio.new_event_loop()
    ns = f"b{uuid.uuid4().hex[:10]}"
    symbols = (f"S{n}/USDT" for n in itertools.count())

    @given(cases)
    @settings(
        max_examples=int(os.environ.get("MOCKX_HYPOTHESIS_EXAMPLES", "25")) * 2,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def check(case: tuple[list[tuple[int, int]], list[list[int]], list[tuple[str, int]], int]) -> None:
        pool, runs, orders, chunk = case
        loop.run_until_complete(
            compare(valkey_url, tmp_path, f"{ns}{next(symbols).split('/')[0]}", pool, runs, orders, chunk)
        )

    try:
        check()
    finally:
        loop.close()


async def compare(
    url: str,
    tmp_path: Any,
    ns: str,
    pool: list[tuple[int, int]],
    runs: list[list[int]],
    orders: list[tuple[str, int]],
    chunk: int,
) -> None:
    symbol = "BTC/USDT"
    pair = [
        await Exchange.open(Settings(redis_url=url, namespace=ns + s, data_dir=tmp_path, settle_chunk=chunk))
        for s in "ab"
    ]
    try:
        # every other tick was published before the orders were placed: in late mode it must leave them
        past, future = now_ms() - 10_000, now_ms() + 60_000
        base = future // HOUR * HOUR
        ticks = [
            (
                f"{(future if i % 2 else past) + i}-0",
                parse_tick({"symbol": symbol, "price": str(Decimal(c) / 100), "ts": str(base + h * HOUR + i)}, "0-0"),
            )
            for i, (c, h) in enumerate(pool)
        ]
        for ex in pair:
            await ex.deposit("USDT", "100000")
            await ex.deposit("BTC", "100")
            first = f"{past - 1}-0"  # the same first price, with the same entry id, in both
            await ex.apply_tick(first, parse_tick({"symbol": symbol, "price": "100", "ts": str(base)}, first))
            for side, away in orders:  # resting: buys below the price, sells above it
                await ex.create_order(symbol, side, "limit", "1", 100 - away if side == "buy" else 100 + away)
        batched, single = pair
        for run in runs:
            await settle_run(batched, [ticks[i] for i in run])
            for i in run:
                await single.apply_tick(*ticks[i])
        outcomes = []
        for ex in pair:
            k = ex.keys
            records = (await ex.redis.hgetall(k.orders)).values()
            outcomes.append(
                {
                    "orders": sorted(
                        {f: v for f, v in msgspec.json.decode(r).items() if f not in ("ts", "tus", "uts")}.items()
                        for r in records
                    ),
                    "trades": await ex.redis.hgetall(k.trades),
                    "balances": await ex.redis.hgetall(k.balances),
                    "stats": await ex.redis.hgetall(k.stats),
                    "ticker": await ex.redis.hgetall(k.ticker(symbol)),
                    "ohlc": await ex.redis.hgetall(k.ohlc(symbol)),
                }
            )
            assert await audit(ex.redis, k) == []
            await check_window(ex, symbol)
        assert outcomes[0] == outcomes[1]
    finally:
        for ex in pair:
            await ex.close()
