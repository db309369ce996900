"""``mockx feed --source ccxt --backfill N`` against MockX's own Binance dialect (never the internet): the
last N closed candles of another exchange, stored as they were served, once."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import msgspec
from click.testing import CliRunner

from app.engine.candles import Candle
from app.engine.exchange import Exchange
from app.settings import Settings
from cli.main import cli
from tests.support.binance import Native

MINUTE = 60_000


def _candles(settings: Settings, since: int) -> list[Candle]:
    async def read() -> list[Candle]:
        async with await Exchange.open(settings) as ex:
            return await ex.fetch_ohlcv("BTC/USDT", "1m", since, None, 1000)

    return asyncio.run(read())


def test_backfill_from_a_ccxt_exchange(
    binance: tuple[str, Native], settings: Settings, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    base, _ = binance
    now = time.time_ns() // 1_000_000 // MINUTE * MINUTE
    start = now - 150 * MINUTE
    history = [[start + m * MINUTE, 100 + m, 101.25 + m, 99 + m, 100.5 + m, 0.1 * (m + 1)] for m in range(150)]
    source = tmp_path / "btc.json"
    source.write_text(json.dumps(history))
    served = CliRunner().invoke(cli, ["feed", str(source), "--backfill", "--symbol", "BTC/USDT"], env=subprocess_env)
    assert served.exit_code == 0, served.output  # the exchange the candles are taken from has 150 of them

    copy = msgspec.structs.replace(settings, namespace=settings.namespace + "-copy")
    env = {**subprocess_env, "NAMESPACE": copy.namespace}
    args = ["feed", "--source", "ccxt", "--exchange-url", base, "-s", "BTC/USDT", "--backfill", "100"]
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"symbols": 1, "candles": 100, "stored": 100}
    again = CliRunner().invoke(cli, args, env=env)
    assert json.loads(again.output) == {"symbols": 1, "candles": 100, "stored": 0}  # importing twice: nothing

    copied = _candles(copy, start)
    original = [c for c in _candles(settings, start) if c.ts in {k.ts for k in copied}]
    assert [c.ts for c in copied] == [now - (100 - m) * MINUTE for m in range(100)]  # the last 100 closed ones
    assert [c.ohlcv() for c in copied] == [c.ohlcv() for c in original]  # the same numbers, exactly
