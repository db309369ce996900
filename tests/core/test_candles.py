"""Candles: kept by the settle calls from the ticks, exact, idempotent and order-insensitive; volume never
counted twice; every interval aggregated from the one-minute candles; the ticker's 24 h figures agree."""

import asyncio
import os
import random
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.candles import TIMEFRAMES, Candle, next_open, open_time
from app.engine.errors import BadRequest
from app.engine.exchange import Exchange
from app.engine.ticks import Tick, parse_tick
from app.settings import Settings
from tests.support.candles import expected, expected_1m, stored
from tests.support.tickers import HOUR, check_window

SYMBOL = "BTC/USDT"
MINUTE = 60_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def make_ticks(base: int, rows: list[tuple[int, int, int | None]]) -> dict[str, Tick]:
    """Distinct ticks from (ms after ``base``, price in cents, qty in thousandths or None). Entry ids follow
    the list, not the times: publisher time and stream order disagree, as with several publishers."""
    out: dict[str, Tick] = {}
    for i, (offset, cents, qty) in enumerate(rows):
        fields = {"symbol": SYMBOL, "price": str(Decimal(cents) / 100), "ts": str(base + offset)}
        if qty is not None:
            fields["qty"] = str(Decimal(qty) / 1000)
        entry = f"{base}-{i}"
        out[entry] = parse_tick(fields, entry)
    return out


async def apply(ex: Exchange, deliveries: list[tuple[str, Tick]], rng: random.Random) -> None:
    """Apply deliveries as a worker would: runs of random length with settle_batch, some with settle_tick."""
    i = 0
    while i < len(deliveries):
        n = rng.randint(1, 6)
        run = deliveries[i : i + n]
        i += n
        if n == 1:
            await ex.apply_tick(*run[0])
            continue
        keys, args = ex.settle_batch_call_args(SYMBOL, [(e, t.settle_values()) for e, t in run])
        step = await ex.scripts.settle_batch(keys, args)
        assert step.done
        assert step.applied == len(run)


async def acknowledge(ex: Exchange, ids: list[str]) -> None:
    """What a worker does after its XACK: the counted ids are marked acknowledged."""
    if ids:
        await ex.redis.execute_command("ZADD", ex.keys.candles_counted, "XX", *(x for i in ids for x in (-now_ms(), i)))


async def check_all(ex: Exchange, ticks: dict[str, Tick], now: int) -> list[Candle]:
    """Stored 1m candles = OHLCV of the distinct ticks; every interval = the aggregate of its 1m candles."""
    start, end = min(t.ts for t in ticks.values()), max(t.ts for t in ticks.values())
    minutes = expected_1m(ticks)
    assert await stored(ex, SYMBOL, "1m", start - MINUTE, end, now) == minutes
    for timeframe in TIMEFRAMES:
        since = open_time(timeframe, start)
        assert await stored(ex, SYMBOL, timeframe, since, end, now) == expected(timeframe, minutes), timeframe
    return minutes


async def check_ticker(ex: Exchange, minutes: list[Candle]) -> None:
    """The ticker's 24 h open / high / low are those of the candles of its window."""
    ticker = await ex.redis.hgetall(ex.keys.ticker(SYMBOL))
    opened, high, low, hour = await check_window(ex, SYMBOL)
    top = int(ticker["ts"]) // HOUR
    window = [c for c in minutes if top - 23 <= c.ts // HOUR <= top]
    assert (opened, high, low) == (window[0].open, max(c.high for c in window), min(c.low for c in window))
    assert hour == window[0].ts // HOUR


rows = st.lists(
    st.tuples(st.integers(0, 3 * HOUR), st.integers(100, 110), st.one_of(st.none(), st.integers(1, 5_000))),
    min_size=1,
    max_size=40,
)


def test_candles_equal_the_ohlcv_of_the_distinct_ticks(valkey_url: str, tmp_path: Path) -> None:
    """Random ticks, delivered in random order with duplicates by two appliers (one of them acknowledging
    between passes): the candles are those of the distinct ticks, at every interval, and the ticker agrees."""
    loop = asyncio.new_event_loop()
    prefix = f"c{uuid.uuid4().hex[:8]}"
    count = iter(range(10**6))

    @given(rows, st.randoms(use_true_random=False))
    @settings(
        max_examples=int(os.environ.get("MOCKX_HYPOTHESIS_EXAMPLES", "25")) * 2,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def check(case: list[tuple[int, int, int | None]], rng: random.Random) -> None:
        loop.run_until_complete(compare(valkey_url, tmp_path, f"{prefix}{next(count)}", case, rng))

    try:
        check()
    finally:
        loop.close()


async def compare(
    url: str, tmp_path: Path, ns: str, case: list[tuple[int, int, int | None]], rng: random.Random
) -> None:
    now = now_ms()
    base = now // HOUR * HOUR - 2 * HOUR
    ticks = make_ticks(base, case)
    settings_ = Settings(redis_url=url, namespace=ns, data_dir=tmp_path)
    first, second = await Exchange.open(settings_), await Exchange.open(settings_)
    try:
        entries = list(ticks.items())
        deliveries = entries + rng.choices(entries, k=rng.randint(0, len(entries)))
        rng.shuffle(deliveries)
        half = rng.randint(0, len(deliveries))
        # each applier gets a Random of its own: concurrent draws from hypothesis' one would depend on timing
        one, two = random.Random(rng.getrandbits(64)), random.Random(rng.getrandbits(64))
        await asyncio.gather(apply(first, deliveries[:half], one), apply(second, deliveries[half:], two))
        await acknowledge(first, rng.sample(list(ticks), rng.randint(0, len(ticks))))
        again = entries[:]
        rng.shuffle(again)
        await asyncio.gather(apply(second, again[::2], one), apply(first, again[1::2], two))  # a redelivery
        minutes = await check_all(first, ticks, now)
        await check_ticker(first, minutes)
    finally:
        await first.close()
        await second.close()


async def test_a_late_tick_updates_its_own_older_candle(exchange: Exchange) -> None:
    base = now_ms() // HOUR * HOUR - HOUR
    ticks = make_ticks(base, [(30 * MINUTE, 10_000, 1000), (5 * MINUTE + 1, 10_100, 500), (5 * MINUTE, 9_900, 250)])
    for entry, tick in ticks.items():  # stream order: the 5-minute ticks arrive after the 30-minute one
        await exchange.apply_tick(entry, tick)
    one = await exchange.fetch_ohlcv(SYMBOL, "1m", base, base + HOUR, 10)
    assert [c.ohlcv() for c in one] == [
        [base + 5 * MINUTE, Decimal("99"), Decimal("101"), Decimal("99"), Decimal("101"), Decimal("0.75")],
        [base + 30 * MINUTE, Decimal("100"), Decimal("100"), Decimal("100"), Decimal("100"), Decimal("1")],
    ]
    assert one[0].quote_volume == Decimal("0.5") * 101 + Decimal("0.25") * 99
    assert one[0].count == 2
    hour = await exchange.fetch_ohlcv(SYMBOL, "1h", base, base, 10)
    assert [c.ohlcv() for c in hour] == [[base, Decimal(99), Decimal(101), Decimal(99), Decimal(100), Decimal("1.75")]]


async def test_volume_sums_are_exact_beyond_doubles(exchange: Exchange) -> None:
    base = now_ms() // MINUTE * MINUTE - MINUTE
    qty = "0.123456789012345"
    for i in range(3):
        entry = f"{base + i}-0"
        tick = parse_tick({"symbol": SYMBOL, "price": "64000.12345678", "ts": str(base + i), "qty": qty}, entry)
        await exchange.apply_tick(entry, tick)
    (candle,) = await exchange.fetch_ohlcv(SYMBOL, "1m", base, base)
    assert candle.volume == 3 * Decimal(qty)
    assert candle.quote_volume == 3 * Decimal(qty) * Decimal("64000.12345678")


def test_open_times_are_aligned_as_binance_aligns_them() -> None:
    ts = 1_733_284_800_123  # Wed 2024-12-04 04:00:00.123 UTC
    assert open_time("1w", ts) == 1_733_097_600_000  # Monday 2024-12-02
    assert open_time("1M", ts) == 1_733_011_200_000  # 2024-12-01
    assert next_open("1M", 1_733_011_200_000) == 1_735_689_600_000  # 2025-01-01
    assert open_time("3d", ts) % (3 * 86_400_000) == 0
    assert open_time("4h", ts) == 1_733_284_800_000


async def test_bad_queries_are_refused_with_the_valid_timeframes(exchange: Exchange) -> None:
    with pytest.raises(BadRequest, match="1m, 3m, 5m"):
        await exchange.fetch_ohlcv(SYMBOL, "2m")
    with pytest.raises(BadRequest, match="between 1 and 1000"):
        await exchange.fetch_ohlcv(SYMBOL, "1m", limit=1001)
