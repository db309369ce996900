"""GET /markets/{symbol}/orderbook and /markets/{symbol}/trades: ccxt shapes, exact numbers, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.engine.exchange import Exchange
from tests.support.book import Ticks, book_fields, settle_batch
from tests.support.http import error, set_price


async def test_the_published_order_book_in_ccxt_shape(client: Any, exchange: Exchange) -> None:
    tick = Ticks("BTC/USDT")
    book = book_fields([("64000.5", "0.00000003"), ("64000", "2")], [("64001", "1.25")], qty="0.1")
    [(entry_id, t)] = tick(book)
    await settle_batch(exchange, [(entry_id, t)])
    for path in ("BTC/USDT", "BTC%2FUSDT", "BTCUSDT", "btc-usdt"):
        r = await client.get(f"/markets/{path}/orderbook")
        assert r.status_code == 200, (path, r.text)
        assert b"E-" not in r.content
        body = r.json(parse_float=Decimal)
        assert body == {
            "symbol": "BTC/USDT",
            "bids": [[Decimal("64000.5"), Decimal("0.00000003")], [64000, 2]],
            "asks": [[64001, Decimal("1.25")]],
            "timestamp": t.ts,
            "datetime": body["datetime"],
            "nonce": 1,
        }
        assert body["datetime"].endswith("Z")
    top = (await client.get("/markets/BTCUSDT/orderbook", params={"limit": 1})).json()
    assert (len(top["bids"]), len(top["asks"])) == (1, 1)

    (trade,) = (await client.get("/markets/BTC/USDT/trades")).json(parse_float=Decimal)
    assert trade == {
        "id": "1",
        "order": None,
        "timestamp": t.ts,
        "datetime": trade["datetime"],
        "symbol": "BTC/USDT",
        "type": None,
        "side": "sell",  # at the bid
        "takerOrMaker": "taker",
        "price": Decimal("64000.5"),
        "amount": Decimal("0.1"),
        "cost": Decimal("6400.05"),
        "fee": None,
        "fees": [],
    }


async def test_a_price_without_a_book_shows_the_synthetic_one(client: Any) -> None:
    await set_price(client, "ETH/USDT", "2500", bid="2499.99", ask="2500.01")
    body = (await client.get("/markets/ETHUSDT/orderbook")).json(parse_float=Decimal)
    assert len(body["bids"]) == len(body["asks"]) == 20
    assert body["bids"][0][0] == Decimal("2499.99")
    assert body["asks"][0][0] == Decimal("2500.01")
    assert all(amount > 0 for _, amount in body["bids"] + body["asks"])
    assert body["nonce"] > 0
    assert (await client.get("/markets/ETHUSDT/trades")).json() == []


@pytest.mark.parametrize("route", ["orderbook", "trades"])
async def test_bad_input_is_a_400(client: Any, route: str) -> None:
    await set_price(client, "BTC/USDT", "100")
    for path in ("DOGE/USDT", "not-a-pair-at-all", "BTC/BTC"):
        error(await client.get(f"/markets/{path}/{route}"), 400, "BadSymbol")
    for limit in ("0", "-1", "x", "1001", "1.5"):
        r = await client.get(f"/markets/BTCUSDT/{route}", params={"limit": limit})
        assert r.status_code == 400, (limit, r.text)
        assert r.json()["error"]["code"] == "BadRequest"
    if route == "orderbook":
        error(await client.get("/markets/BTCUSDT/orderbook", params={"limit": "21"}), 400, "BadRequest")
