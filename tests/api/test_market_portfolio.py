"""Market data and the portfolio through the real app."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.settings import Settings
from tests.support.http import error, fund, set_price
from tests.support.money import audit_problems


async def test_tickers_and_every_symbol_spelling(client: Any) -> None:
    assert (await client.get("/tickers")).json() == {}
    await set_price(client, "BTC/USDT", "64000.5", bid="64000", ask="64001")
    await set_price(client, "eth-usdt", 2500)
    tickers = (await client.get("/tickers")).json()
    assert sorted(tickers) == ["BTC/USDT", "ETH/USDT"]
    for path in ("BTC/USDT", "BTC%2FUSDT", "BTCUSDT", "BTC-USDT", "btc-usdt", "BTC_USDT"):
        r = await client.get(f"/tickers/{path}")
        assert r.status_code == 200, (path, r.text)
        t = r.json()
        assert t["symbol"] == "BTC/USDT"
        assert t["last"] == 64000.5
        assert t["close"] == 64000.5
        assert t["bid"] == 64000
        assert t["ask"] == 64001
    assert tickers["BTC/USDT"] == (await client.get("/tickers/BTCUSDT")).json()


async def test_tickers_follow_every_price_exactly(client: Any) -> None:
    """Each ticker is encoded once per change: a new price shows at once, in plain exact numbers."""
    await set_price(client, "BTC/USDT", "0.00000003")
    await set_price(client, "ETH/USDT", 2500)
    r = await client.get("/tickers")
    assert r.headers["content-type"].startswith("application/json")
    assert b'"last":0.00000003' in r.content
    assert b"E-" not in r.content
    await set_price(client, "BTC/USDT", "0.00000004")
    tickers = (await client.get("/tickers")).json(parse_float=Decimal)
    assert (tickers["BTC/USDT"]["last"], tickers["BTC/USDT"]["open"]) == (Decimal("4E-8"), Decimal("3E-8"))
    assert tickers["BTC/USDT"]["percentage"] == Decimal("33.3333")
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert tickers[symbol] == (await client.get(f"/tickers/{symbol}")).json(parse_float=Decimal)


@pytest.mark.parametrize("path", ["DOGE/USDT", "DOGEUSDT", "not-a-pair-at-all", "BTC/BTC", "%20"])
async def test_unknown_or_bad_symbol_is_bad_symbol(client: Any, path: str) -> None:
    error(await client.get(f"/tickers/{path}"), 400, "BadSymbol")


async def test_markets_in_ccxt_shape(client: Any) -> None:
    await set_price(client, "BTC/USDT", 50000)
    (market,) = (await client.get("/markets")).json()
    assert market["symbol"] == "BTC/USDT"
    assert market["id"] == "BTCUSDT"
    assert market["spot"] is True
    assert market["precision"] == {"amount": 0.00000001, "price": 0.00000001, "base": 0.00000001, "quote": 0.00000001}
    assert market["limits"]["amount"]["min"] == 0.00000001
    assert market["taker"] == 0.00075


async def test_balance_shapes_deposit_and_withdrawal(client: Any, settings: Settings) -> None:
    assert (await client.get("/balance/list")).json() == {"assets": []}
    r = await client.post("/balance/usdt/deposit", json={"amount": "1000.5"})
    assert r.status_code == 200
    assert r.json() == {"asset": "USDT", "free": 1000.5, "used": 0, "total": 1000.5}
    r = await client.post("/balance/BTC/deposit", json={"amount": 0.1})
    assert r.json()["total"] == 0.1
    r = await client.post("/balance/BTC/withdrawal", json={"amount": 0.1})
    assert r.status_code == 200
    assert r.json() == {"asset": "BTC", "free": 0, "used": 0, "total": 0}
    assert (await client.get("/balance/list")).json() == {"assets": ["USDT"]}
    assert (await client.get("/balance/ETH")).json() == {"asset": "ETH", "free": 0, "used": 0, "total": 0}
    balance = (await client.get("/balance")).json()
    assert balance["free"]["USDT"] == 1000.5
    assert balance["total"]["USDT"] == 1000.5
    assert balance["USDT"] == {"free": 1000.5, "used": 0, "total": 1000.5}
    assert isinstance(balance["timestamp"], int)
    assert balance["datetime"].endswith("Z")
    assert await audit_problems(settings) == []


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/balance/USDT/withdrawal", {"amount": 1}, "InsufficientFunds"),
        ("/balance/USDT/deposit", {"amount": -1}, "BadRequest"),
        ("/balance/USDT/deposit", {"amount": 0}, "BadRequest"),
        ("/balance/USDT/deposit", {"amount": "ten"}, "BadRequest"),
        ("/balance/USDT/deposit", {"amount": 0.000000001}, "BadRequest"),
        ("/balance/USDT/deposit", {"amount": "1e30"}, "BadRequest"),
        ("/balance/USDT/deposit", {"amount": 1, "note": "x"}, "BadRequest"),
        ("/balance/USDT/deposit", {}, "BadRequest"),
        ("/balance/US-DT/deposit", {"amount": 1}, "BadRequest"),
        ("/balance/" + "A" * 30 + "/deposit", {"amount": 1}, "BadRequest"),
    ],
)
async def test_bad_deposits_and_withdrawals_change_nothing(
    client: Any, settings: Settings, path: str, body: dict[str, Any], code: str
) -> None:
    error(await client.post(path, json=body), 400, code)
    assert (await client.get("/balance/list")).json() == {"assets": []}
    assert await audit_problems(settings) == []


async def test_bad_asset_in_path_is_400(client: Any) -> None:
    error(await client.get("/balance/!!"), 400, "BadRequest")


async def test_overview_assets_values_in_cash_asset(client: Any) -> None:
    await fund(client, "USDT", 1000)
    await fund(client, "BTC", "0.5")
    await fund(client, "XYZ", 3)
    await set_price(client, "BTC/USDT", "50000.1")
    body = (await client.get("/overview/assets")).json()
    assert body["cashAsset"] == "USDT"
    rows = {a["asset"]: a for a in body["assets"]}
    assert rows["BTC"] == {"asset": "BTC", "free": 0.5, "used": 0, "total": 0.5, "price": 50000.1, "value": 25000.05}
    assert rows["USDT"]["value"] == 1000
    assert rows["XYZ"]["price"] is None
    assert rows["XYZ"]["value"] is None
    assert body["totalValue"] == 26000.05
    assert body["unpriced"] == ["XYZ"]


async def test_overview_trades_and_capital(client: Any) -> None:
    await fund(client, "USDT", 10000)
    await set_price(client, "BTC/USDT", 100)
    await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 2})
    await client.post("/orders", json={"symbol": "BTC/USDT", "side": "sell", "amount": 1})
    await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 1, "price": 90})
    await set_price(client, "BTC/USDT", 80)  # the limit fills as maker at 90
    trades = (await client.get("/overview/trades")).json()
    assert (trades["trades"], trades["buys"], trades["sells"], trades["makers"], trades["takers"]) == (3, 2, 1, 1, 2)
    (sym,) = trades["bySymbol"]
    assert sym["symbol"] == "BTC/USDT"
    assert sym["buy"]["base"] == 3
    assert sym["buy"]["quote"] == 290
    assert sym["sell"] == {"count": 1, "maker": 0, "taker": 1, "base": 1, "quote": 100, "fee": 0.075}
    assert trades["byQuote"] == [{"quote": "USDT", "volume": 390, "fees": 0.2925}]
    capital = (await client.get("/overview/capital")).json()
    # 10000 - 200.15 (buy 2) + 99.925 (sell 1) - 90.0675 (maker buy 1 at 90) = 9809.7075 USDT + 2 BTC @ 80
    assert capital["equity"] == 9809.7075 + 160
    assert capital["deposits"] == 10000
    assert capital["withdrawals"] == 0
    assert capital["netDeposits"] == 10000
    assert capital["profit"] == -30.2925
    assert capital["profitPct"] == -0.3029
    assert capital["fees"] == 0.2925
    assert capital["ledger"] == [{"asset": "USDT", "deposited": 10000, "withdrawn": 0, "price": 1}]
