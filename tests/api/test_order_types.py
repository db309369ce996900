"""The native API's fee read and its order types beyond market and limit: quote-amount market buys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from app.api import create_app
from app.settings import Settings
from tests.support.http import error, fund, set_price
from tests.support.money import audit_problems

D = Decimal


async def test_trading_fees_is_ccxts_structure_keyed_by_symbol(settings: Settings) -> None:
    s = msgspec.structs.replace(settings, maker_fee=D("0.0002"), taker_fee=D("0.0007"), fee_asset="received")
    async with AsyncTestClient(app=create_app(s)) as client:
        await set_price(client, "BTC/USDT", 50000)
        r = await client.get("/trading-fees")
        assert r.status_code == 200, r.text
        assert r.json(parse_float=D) == {
            "BTC/USDT": {"symbol": "BTC/USDT", "maker": D("0.0002"), "taker": D("0.0007"), "percentage": True,
                         "tierBased": False, "feeSide": "get"},
        }  # fmt: skip
        (market,) = (await client.get("/markets")).json(parse_float=D)
        assert (market["maker"], market["taker"], market["feeSide"]) == (D("0.0002"), D("0.0007"), "get")


async def test_a_fill_says_taker_or_maker_with_its_fee(client: Any, settings: Settings) -> None:
    await fund(client, "USDT", 10000)
    await set_price(client, "ETH/USDT", 2000)
    order = (await client.post("/orders", json={"symbol": "ETH/USDT", "side": "buy", "amount": 1})).json()
    (trade,) = order["trades"]
    assert (trade["takerOrMaker"], trade["fee"]["currency"], trade["fee"]["rate"]) == ("taker", "USDT", 0.00075)
    assert await audit_problems(settings) == []


async def test_a_market_buy_by_cost_over_http(client: Any, settings: Settings) -> None:
    await fund(client, "USDT", 10000)
    await set_price(client, "ETH/USDT", 2000)
    r = await client.post("/orders", json={"symbol": "ETH/USDT", "side": "buy", "cost": 1000})
    assert r.status_code == 201, r.text
    order = r.json(parse_float=D)
    assert (order["amount"], order["cost"], order["fee"]["cost"]) == (D("0.5"), 1000, D("0.75"))
    for body, kind in (
        ({"symbol": "ETH/USDT", "side": "buy", "cost": 1000, "amount": 1}, "BadRequest"),
        ({"symbol": "ETH/USDT", "side": "buy", "type": "limit", "price": 1000, "cost": 1000}, "BadRequest"),
        ({"symbol": "ETH/USDT", "side": "buy", "cost": "-1"}, "BadRequest"),
        ({"symbol": "ETH/USDT", "side": "buy", "cost": 100000}, "InsufficientFunds"),
    ):
        error(await client.post("/orders", json=body), 400, kind)
    assert len((await client.get("/orders")).json()) == 1
    assert await audit_problems(settings) == []


async def test_a_stop_loss_over_http_fills_every_ccxt_field(client: Any, settings: Settings) -> None:
    await fund(client, "BTC", 1)
    await set_price(client, "BTC/USDT", 50000)
    body = {"symbol": "BTC/USDT", "side": "sell", "type": "limit", "amount": 0.5, "price": 44900, "stopPrice": 45000}
    r = await client.post("/orders", json=body)
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["status"], order["triggerPrice"], order["stopPrice"], order["stopLossPrice"]) == (
        "open", 45000, 45000, 45000,
    )  # fmt: skip
    assert (order["takeProfitPrice"], order["postOnly"], order["timeInForce"]) == (None, False, "GTC")
    assert order["trades"] == []
    assert (await client.get("/balance/BTC")).json()["used"] == 0.5
    await set_price(client, "BTC/USDT", 44950)  # triggers it, and crosses its limit: it fills on this tick
    done = (await client.get(f"/orders/{order['id']}")).json()
    assert (done["status"], done["average"], done["filled"], len(done["trades"])) == ("closed", 44900, 0.5, 1)
    take = {"symbol": "BTC/USDT", "side": "sell", "amount": 0.5, "takeProfitPrice": 50000}
    tp = (await client.post("/orders", json=take)).json()
    assert (tp["type"], tp["takeProfitPrice"], tp["stopLossPrice"], tp["price"]) == ("market", 50000, None, None)
    assert (await client.post(f"/orders/{tp['id']}/cancel")).json()["status"] == "canceled"
    assert await audit_problems(settings) == []


async def test_bad_stop_orders_over_http_are_4xx_and_change_nothing(client: Any, settings: Settings) -> None:
    await fund(client, "BTC", 1)
    await set_price(client, "BTC/USDT", 50000)
    base = {"symbol": "BTC/USDT", "side": "sell", "amount": 0.5}
    for extra, status, kind in (
        ({"stopLossPrice": 50000}, 400, "OrderImmediatelyFillable"),
        ({"stopLossPrice": 45000, "takeProfitPrice": 55000}, 400, "BadRequest"),
        ({"triggerPrice": 45000, "stopPrice": 45000}, 400, "BadRequest"),
        ({"stopLossPrice": "abc"}, 400, "BadRequest"),
        ({"stopLossPrice": 45000, "postOnly": True}, 400, "InvalidOrder"),
        ({"stopLossPrice": 45000, "amount": 2}, 400, "InsufficientFunds"),
    ):
        message = error(await client.post("/orders", json={**base, **extra}), status, kind)
        if kind == "OrderImmediatelyFillable":
            assert message.startswith("Stop price would trigger immediately")
    assert (await client.get("/orders")).json() == []
    assert (await client.get("/balance/BTC")).json()["used"] == 0


async def test_an_oco_list_over_http(client: Any, settings: Settings) -> None:
    await fund(client, "BTC", 1)
    await set_price(client, "BTC/USDT", 50000)
    body = {"symbol": "BTC/USDT", "side": "sell", "amount": 1, "price": 55000, "stopPrice": 45000}
    r = await client.post("/orders/oco", json=body)
    assert r.status_code == 201, r.text
    listed = r.json()
    limit, stop = listed["orders"]
    assert (listed["id"], limit["price"], stop["stopLossPrice"], stop["type"]) == (limit["id"], 55000, 45000, "market")
    assert (await client.get("/balance/BTC")).json()["used"] == 1
    await set_price(client, "BTC/USDT", 44000)
    assert (await client.get(f"/orders/{limit['id']}")).json()["status"] == "canceled"
    assert (await client.get(f"/orders/{stop['id']}")).json()["status"] == "closed"
    await set_price(client, "BTC/USDT", 50000)
    for bad, kind in (({"price": 49000}, "InvalidOrder"), ({"stopPrice": 51000}, "OrderImmediatelyFillable"),
                      ({"amount": 5}, "InsufficientFunds"), ({"stopPrice": None}, "BadRequest")):  # fmt: skip
        error(await client.post("/orders/oco", json={**body, **bad}), 400, kind)
    assert len((await client.get("/orders")).json()) == 2
    assert await audit_problems(settings) == []
