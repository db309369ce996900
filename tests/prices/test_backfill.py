"""History import (``mockx feed FILE --backfill``): candles stored without ticks, idempotent, and one series
with the live ticks after them."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from app.engine.exchange import Exchange
from app.engine.ticks import parse_tick
from app.workers.backfill import read_backfill
from cli.main import cli
from tests.support.candles import expected

MINUTE, HOUR = 60_000, 3_600_000


def history(start: int, minutes: int) -> list[list[object]]:
    """ccxt OHLCV arrays, one a minute from ``start``."""
    return [[start + m * MINUTE, 100 + m, 101.5 + m, 99 + m, 100.5 + m, 2] for m in range(minutes)]


async def test_a_backfill_and_the_live_ticks_after_it_are_one_series(exchange: Exchange, tmp_path: Path) -> None:
    live = time.time_ns() // 1_000_000 // MINUTE * MINUTE - 10 * MINUTE
    start = live - 90 * MINUTE
    path = tmp_path / "btc.json"
    path.write_text(json.dumps(history(start, 91)))  # up to and including the minute the live ticks start in
    rows = read_backfill(path, symbol="BTC/USDT")["BTC/USDT"]
    assert await exchange.backfill_candles("BTC/USDT", "1m", rows) == 91
    for m in range(10):  # live prints, one a minute from `live` on
        ts = live + m * MINUTE + 5
        entry = f"{ts}-0"
        await exchange.apply_tick(
            entry, parse_tick({"symbol": "BTC/USDT", "price": "150", "qty": "1", "ts": str(ts)}, entry)
        )
    minutes = await exchange.fetch_ohlcv("BTC/USDT", "1m", start, None, 1000)
    assert [c.ts for c in minutes] == [start + m * MINUTE for m in range(100)]  # none missing, none twice
    merged = minutes[90]  # the backfilled minute the first live tick fell in
    assert (merged.open, merged.high, merged.low, merged.close) == (190, Decimal("191.5"), 150, 150)
    assert (merged.volume, merged.count) == (Decimal(3), 1)
    for timeframe in ("5m", "1h", "1d"):  # every interval is the aggregate of its minutes
        since = minutes[0].ts // (HOUR if timeframe == "1h" else MINUTE) * (HOUR if timeframe == "1h" else MINUTE)
        served = await exchange.fetch_ohlcv("BTC/USDT", timeframe, None, None, 1000)
        assert [c for c in served if c.ts >= since] == [
            c for c in expected(timeframe, minutes) if c.ts >= since and c.ts >= served[0].ts
        ], timeframe

    assert await exchange.backfill_candles("BTC/USDT", "1m", rows) == 0  # importing twice changes nothing
    assert await exchange.fetch_ohlcv("BTC/USDT", "1m", start, None, 1000) == minutes


def test_the_backfill_command_imports_once(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    start = (time.time_ns() // 1_000_000 - 2 * HOUR) // MINUTE * MINUTE
    path = tmp_path / "eth.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in history(start, 5)) + "\n")
    args = ["feed", str(path), "--backfill", "--symbol", "ETH/USDT"]
    first = CliRunner().invoke(cli, args, env=subprocess_env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"symbols": 1, "candles": 5, "stored": 5}
    again = CliRunner().invoke(cli, args, env=subprocess_env)
    assert json.loads(again.output) == {"symbols": 1, "candles": 5, "stored": 0}


def test_bad_backfills_are_refused(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    for count in ("--backfill", "--backfill=0", "--backfill=ten"):
        ccxt = CliRunner().invoke(cli, ["feed", "--source", "ccxt", count], env=subprocess_env)
        assert ccxt.exit_code == 2
        assert "--source ccxt --backfill needs how many candles" in ccxt.output
    path = tmp_path / "odd.csv"
    path.write_text("1700000000001,BTC/USDT,1,2,1,2,3\n")
    odd = CliRunner().invoke(cli, ["feed", str(path), "--backfill"], env=subprocess_env)
    assert odd.exit_code == 2
    assert "odd.csv:1: candle time" in odd.output
    bad = CliRunner().invoke(cli, ["feed", str(path), "--backfill", "--candle-ms", "300000"], env=subprocess_env)
    assert bad.exit_code == 2
    assert "1m, 1h or 1d" in bad.output


async def test_hourly_csv_with_a_header_and_several_symbols(exchange: Exchange, tmp_path: Path) -> None:
    start = (time.time_ns() // 1_000_000 - 30 * 86_400_000) // 86_400_000 * 86_400_000
    path = tmp_path / "hours.csv"
    lines = ["timestamp,pair,open,high,low,close,volume"]
    for h in range(48):
        lines += [f"{start + h * HOUR},BTCUSDT,100,102,99,101,1.5", f"{start + h * HOUR},eth-usdt,10,11,9,10.5,3"]
    path.write_text("\n".join(lines) + "\n")
    candles = read_backfill(path, candle_ms=HOUR)
    assert sorted(candles) == ["BTC/USDT", "ETH/USDT"]
    for symbol, rows in candles.items():
        assert await exchange.backfill_candles(symbol, "1h", rows) == 48
    days = await exchange.fetch_ohlcv("ETH/USDT", "1d", start, None, 10)
    assert [c.ohlcv() for c in days] == [
        [start + d * 86_400_000, 10, 11, 9, Decimal("10.5"), Decimal(72)] for d in range(2)
    ]
    four = await exchange.fetch_ohlcv("BTC/USDT", "4h", start, None, 1000)
    assert len(four) == 12
    assert all(c.volume == 6 for c in four)
