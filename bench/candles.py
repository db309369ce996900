"""Valkey memory of the candles: bytes per symbol per day of one-minute candles, and per symbol at the
default retention (``CANDLES_1M`` / ``CANDLES_1H`` / ``CANDLES_1D``), measured with MEMORY USAGE.

    .venv/bin/python bench/candles.py [--prints 5]

A fresh embedded Valkey; one symbol gets a day of live ticks (``--prints`` trade prints a minute, realistic
prices and quantities, applied by settle_batch calls as a worker applies them), then 400 days of hourly
candles are imported (``store_candles.lua``, which also writes the daily ones).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000


async def main(args: argparse.Namespace) -> None:
    from app.engine.exchange import Exchange
    from app.engine.ticks import parse_tick
    from app.settings import Settings
    from app.store.embedded import EmbeddedValkey

    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp), port=0, persist=False) as server:
        settings = Settings(redis_url=server.url, namespace="mem", test_env=True)
        async with await Exchange.open(settings) as ex:
            symbol, rng = "BTC/USDT", random.Random(1)
            day = (time.time_ns() // 1_000_000 - DAY) // DAY * DAY
            price, run = Decimal("64000.00"), []
            for m in range(1440):
                for p in range(args.prints):
                    price += Decimal(rng.randint(-500, 500)) / 100
                    ts = day + m * MINUTE + p * (MINUTE // args.prints)
                    fields = {
                        "symbol": symbol,
                        "price": str(price),
                        "ts": str(ts),
                        "qty": str(Decimal(rng.randint(1, 99999)) / 10**5),
                    }
                    entry = f"{ts}-0"
                    run.append((entry, parse_tick(fields, entry).settle_values()))
            for i in range(0, len(run), 500):
                keys, call = ex.settle_batch_call_args(symbol, run[i : i + 500])
                await ex.scripts.settle_batch(keys, call)
            key = ex.keys.candles(symbol)
            one_day = int(await ex.redis.memory_usage(key, samples=0))
            minutes = await ex.redis.hlen(key) - 3 - 25 - 2  # less the first markers, the hours and days
            hours = []
            start = day - 400 * DAY
            for h in range(400 * 24):
                o = Decimal(30000 + rng.randint(0, 40000)) + Decimal(rng.randint(0, 99)) / 100
                hours.append((start + h * HOUR, o, o + 100, o - 100, o + 12, Decimal(rng.randint(1, 10**7)) / 1000))
            await ex.backfill_candles(symbol, "1h", [r for r in hours if r[0] < day])
            full = int(await ex.redis.memory_usage(key, samples=0))
            coarse = full - one_day
            per_coarse = coarse / (400 * 25)  # 400 days of 24 hours and one day each
            d1m, d1h, d1d = (x / 86400 for x in (settings.candles_1m, settings.candles_1h, settings.candles_1d))
            per_symbol = d1m * one_day + (d1h * 24 + d1d) * per_coarse
            print(
                f"1m candles of one symbol for one day ({minutes} candles, {args.prints} prints a minute): "
                f"{one_day:,} bytes ({one_day / max(1, minutes):.0f} bytes a candle)"
            )
            print(f"400 days of 1h and 1d candles of one symbol: {coarse:,} bytes ({per_coarse:.0f} bytes a candle)")
            print(
                f"one symbol at the default retention ({d1m:g} days of 1m, {d1h:g} days of 1h, {d1d:g} days of "
                f"1d): {per_symbol:,.0f} bytes; 1 000 symbols: {per_symbol * 1000 / 2**20:,.0f} MiB"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prints", type=int, default=5, help="trade prints a minute")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    asyncio.run(main(parser.parse_args()))
