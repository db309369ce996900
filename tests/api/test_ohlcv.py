"""GET /markets/{symbol}/ohlcv: ccxt OHLCV arrays with exact numbers, and its refusals."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from app.engine.exchange import Exchange
from app.engine.ticks import parse_tick
from tests.support.http import error, set_price

MINUTE = 60_000


async def test_candles_as_ccxt_arrays_oldest_first(client: Any, exchange: Exchange) -> None:
    base = time.time_ns() // 1_000_000 // (5 * MINUTE) * (5 * MINUTE) - 10 * MINUTE
    for i, (price, qty) in enumerate([("64000.5", "0.00000003"), ("64001", "0.1"), ("63999.25", "0.2")]):
        entry = f"{base + i * 2 * MINUTE}-0"
        fields = {"symbol": "BTC/USDT", "price": price, "qty": qty, "ts": str(base + i * 2 * MINUTE)}
        await exchange.apply_tick(entry, parse_tick(fields, entry))
    r = await client.get("/markets/BTCUSDT/ohlcv", params={"since": base})
    assert r.status_code == 200, r.text
    assert b"E-" not in r.content
    assert r.json(parse_float=Decimal) == [
        [base, Decimal("64000.5"), Decimal("64000.5"), Decimal("64000.5"), Decimal("64000.5"), Decimal("0.00000003")],
        [base + 2 * MINUTE, 64001, 64001, 64001, 64001, Decimal("0.1")],
        [base + 4 * MINUTE, Decimal("63999.25"), Decimal("63999.25"), Decimal("63999.25"), Decimal("63999.25"),
         Decimal("0.2")],
    ]  # fmt: skip
    five = (await client.get("/markets/BTC/USDT/ohlcv", params={"timeframe": "5m", "since": base})).json(
        parse_float=Decimal
    )
    assert sum(c[5] for c in five) == Decimal("0.30000003")
    assert (await client.get("/markets/BTC-USDT/ohlcv", params={"limit": 1})).json(parse_float=Decimal)[0][0] == (
        base + 4 * MINUTE
    )
    until = (await client.get("/markets/BTCUSDT/ohlcv", params={"since": base, "until": base + 2 * MINUTE})).json()
    assert [c[0] for c in until] == [base, base + 2 * MINUTE]


async def test_a_price_set_by_hand_is_a_candle_without_volume(client: Any) -> None:
    await set_price(client, "ETH/USDT", 2500)
    await set_price(client, "ETH/USDT", "2501.5")
    ((_, o, h, low, c, v),) = (await client.get("/markets/ETHUSDT/ohlcv", params={"limit": 2})).json()
    assert (o, h, low, c, v) in {(2500, 2501.5, 2500, 2501.5, 0), (2501.5, 2501.5, 2501.5, 2501.5, 0)}


@pytest.mark.parametrize(
    ("params", "says"),
    [({"timeframe": "2m"}, "1m, 3m, 5m, 15m"), ({"limit": 0}, "limit"), ({"limit": 1001}, "limit")],
)
async def test_bad_timeframe_or_limit_is_400(client: Any, params: dict[str, Any], says: str) -> None:
    await set_price(client, "BTC/USDT", 50000)
    assert says in error(await client.get("/markets/BTCUSDT/ohlcv", params=params), 400, "BadRequest")


async def test_unknown_symbol_is_bad_symbol(client: Any) -> None:
    error(await client.get("/markets/DOGEUSDT/ohlcv"), 400, "BadSymbol")


async def test_aggregated_volumes_are_written_in_their_shortest_form(client: Any, exchange: Exchange) -> None:
    """0.12 + 0.48 is 0.6, not 0.60: an aggregate reads like every other number of the API."""
    base = time.time_ns() // 1_000_000 // (5 * MINUTE) * (5 * MINUTE) - 10 * MINUTE
    for i, qty in enumerate(["0.12", "0.48"]):
        entry = f"{base + i * MINUTE}-0"
        fields = {"symbol": "BTC/USDT", "price": "100", "qty": qty, "ts": str(base + i * MINUTE)}
        await exchange.apply_tick(entry, parse_tick(fields, entry))
    r = await client.get("/markets/BTCUSDT/ohlcv", params={"timeframe": "5m", "since": base, "limit": 1})
    assert r.content == f"[[{base},100,100,100,100,0.6]]".encode(), r.text
