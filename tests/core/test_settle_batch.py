"""settle_batch: a run of ticks crossing nothing applied in one call, exactly as settle_tick would one by one."""

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

from app.exchange import Exchange
from app.settings import Settings
from app.ticks import parse_tick

HOUR = 3_600_000
BASE = 1_700_000_000_000 // HOUR * HOUR


def run_of(*ticks: tuple[str, dict[str, str]]) -> list[tuple[str, list[str]]]:
    """(entry id, settle values) of ticks given as (entry id, stream fields) of BTC/USDT."""
    return [(entry_id, parse_tick({"symbol": "BTC/USDT", **f}, entry_id).settle_values()) for entry_id, f in ticks]


async def settle_batch(ex: Exchange, run: list[tuple[str, list[str]]]) -> int:
    keys, args = ex.settle_batch_call_args("BTC/USDT", run)
    return await ex.scripts.settle_batch(keys, args)


async def settle_one_by_one(ex: Exchange, run: list[tuple[str, list[str]]]) -> None:
    for entry_id, values in run:
        tick = parse_tick({"symbol": "BTC/USDT", "price": values[0]}, entry_id)
        keys, args = ex.settle_call_args(entry_id, tick, "first", (0, 0), values)
        await ex.scripts.settle_tick(keys, args)


async def events(ex: Exchange) -> list[tuple[str, dict[str, Any]]]:
    return [(f["type"], msgspec.json.decode(f["data"])) for _, f in await ex.redis.xrange(ex.keys.events)]


async def test_the_run_stops_at_the_first_tick_that_may_cross(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.deposit("BTC", "1")
    await exchange.push_price("BTC/USDT", "100")
    buy = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "90")
    sell = await exchange.create_order("BTC/USDT", "sell", "limit", "1", "110")
    ms = time.time_ns() // 1_000_000 + 60_000  # newer than the first price
    ticks = [(f"{ms + i}-0", {"price": p, "ts": str(ms + i)}) for i, p in enumerate(("100", "95", "90", "100"))]

    assert await settle_batch(exchange, run_of(*ticks)) == 2  # 90 touches the resting buy
    ticker = await exchange.redis.hgetall(exchange.keys.ticker("BTC/USDT"))
    assert (ticker["id"], ticker["last"]) == (ticks[1][0], "95")
    assert await settle_batch(exchange, run_of(*ticks[2:])) == 0
    assert await settle_batch(exchange, run_of((f"{ms + 9}-0", {"price": "110"}))) == 0  # touches the sell
    assert [(await exchange.fetch_order(o.id)).status for o in (buy, sell)] == ["open", "open"]


async def test_one_ticker_event_per_call_and_a_repeat_changes_nothing(exchange: Exchange) -> None:
    ms = BASE + 3 * HOUR
    run = run_of(*((f"{ms + i}-0", {"price": p, "bid": p, "ask": p}) for i, p in enumerate(("10", "12", "9", "11"))))
    assert await settle_batch(exchange, run) == 4
    kinds = [kind for kind, _ in await events(exchange)]
    assert kinds == ["market.created", "ticker.updated"]
    _, updated = (await events(exchange))[-1]
    assert (updated["id"], updated["last"]) == (run[-1][0], "11")  # the ticker after the run
    ticker = await exchange.fetch_ticker("BTC/USDT")
    assert (ticker.open, ticker.high, ticker.low, ticker.last) == (10, 12, 9, 11)

    before = (
        await exchange.redis.hgetall(exchange.keys.ticker("BTC/USDT")),
        await exchange.redis.hgetall(exchange.keys.ohlc("BTC/USDT")),
    )
    assert await settle_batch(exchange, run) == 4  # redelivered: applied again, to no effect
    after = (
        await exchange.redis.hgetall(exchange.keys.ticker("BTC/USDT")),
        await exchange.redis.hgetall(exchange.keys.ohlc("BTC/USDT")),
    )
    assert after == before
    assert len(await events(exchange)) == 2


# A pool of distinct ticks (an entry id always carries the same fields): price in cents and the hour of
# its ts; runs pick from the pool in any order, with repeats, so ids go back and ticks are redelivered.
pools = st.lists(st.tuples(st.integers(1, 10**6), st.sampled_from((0, 0, 1, 2, 23, 26, 50))), min_size=1, max_size=12)


def test_a_run_ends_like_its_ticks_one_by_one(valkey_url: str, tmp_path: Any) -> None:
    """Random runs, also out of id order, repeated and spanning days: same ticker, buckets and 24 h view."""
    loop = asyncio.new_event_loop()
    ns = f"b{uuid.uuid4().hex[:10]}"
    pair = [
        loop.run_until_complete(Exchange.open(Settings(redis_url=valkey_url, namespace=ns + s, data_dir=tmp_path)))
        for s in "ab"
    ]
    symbols = (f"S{n}/USDT" for n in itertools.count())

    @given(
        pools.flatmap(
            lambda pool: st.tuples(
                st.just(pool),
                st.lists(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=10), min_size=1, max_size=4),
            )
        )
    )
    @settings(
        max_examples=int(os.environ.get("MOCKX_HYPOTHESIS_EXAMPLES", "25")) * 4,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def check(case: tuple[list[tuple[int, int]], list[list[int]]]) -> None:
        pool, runs = case
        loop.run_until_complete(compare(pair, next(symbols), pool, runs))

    try:
        check()
    finally:
        for ex in pair:
            loop.run_until_complete(ex.close())
        loop.close()


async def compare(pair: list[Exchange], symbol: str, pool: list[tuple[int, int]], runs: list[list[int]]) -> None:
    ticks = [
        (
            f"{BASE + i}-0",
            parse_tick(
                {"symbol": symbol, "price": str(Decimal(cents) / 100), "ts": str(BASE + hours * HOUR + i)}, "0-0"
            ),
        )
        for i, (cents, hours) in enumerate(pool)
    ]
    batched, single = pair
    for run in runs:
        picked = [(ticks[i][0], ticks[i][1].settle_values()) for i in run]
        keys, args = batched.settle_batch_call_args(symbol, picked)
        assert await batched.scripts.settle_batch(keys, args) == len(run)
        for i in run:
            entry_id, tick = ticks[i]
            keys, args = single.settle_call_args(entry_id, tick, "first", (0, 0))
            await single.scripts.settle_tick(keys, args)
    outcomes = []
    for ex in pair:
        ohlc = await ex.redis.hgetall(ex.keys.ohlc(symbol))
        outcomes.append((await ex.redis.hgetall(ex.keys.ticker(symbol)), ohlc, await ex.fetch_ticker(symbol)))
    assert outcomes[0] == outcomes[1]
