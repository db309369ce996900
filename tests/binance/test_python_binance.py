"""Unmodified python-binance 1.0.37 ``Client`` trading against the Binance dialect.

python-binance has no host option: its URL class attributes are overwritten before the client is made (the
documented practice; the README's snippet). It sorts its signed params alphabetically, sends POST and
DELETE params as a form body labelled ``application/json``, and writes small floats as ``1e-05``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import binance
import pytest
from binance.client import BaseClient, Client
from binance.exceptions import BinanceAPIException

from app.settings import Settings
from tests.support.binance import KEY, SECRET, Native
from tests.support.money import audit_problems


@pytest.fixture
def client(binance: tuple[str, Native], monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    base, _ = binance
    monkeypatch.setattr(BaseClient, "API_URL", base + "/api")
    monkeypatch.setattr(BaseClient, "MARGIN_API_URL", base + "/sapi")
    c = Client(KEY, SECRET)  # pings /api/v3/ping in its constructor
    yield c
    c.close_connection()


def test_python_binance_version_is_pinned() -> None:
    assert binance.__version__ == "1.0.37"


def test_python_binance_session(client: Client, binance: tuple[str, Native], settings: Settings) -> None:
    _, native = binance
    assert client.get_server_time()["serverTime"] > 0
    assert client.get_system_status() == {"status": 0, "msg": "normal"}
    info = client.get_symbol_info("BTCUSDT")
    assert info is not None
    lot = next(f for f in info["filters"] if f["filterType"] == "LOT_SIZE")
    assert lot["stepSize"] == "0.00001000"
    assert client.get_symbol_ticker(symbol="BTCUSDT") == {"symbol": "BTCUSDT", "price": "60000.00000000"}
    assert client.get_orderbook_ticker(symbol="ETHUSDT")["askPrice"] == "3001.00000000"
    assert client.get_ticker(symbol="BTCUSDT")["lastPrice"] == "60000.00000000"
    assert len(client.get_order_book(symbol="BTCUSDT", limit=5)["bids"]) == 5
    assert client.get_klines(symbol="BTCUSDT", interval="1m", limit=3)[-1][4] == "60000.00000000"
    assert client.get_historical_klines("BTCUSDT", "1h", "1 day ago UTC")
    assert Decimal(client.get_avg_price(symbol="BTCUSDT")["price"]) == 60000
    assert client.get_recent_trades(symbol="BTCUSDT") == []
    assert client.get_asset_balance("USDT")["free"] == "100000.00000000"
    assert client.create_test_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001") == {}

    resting = client.create_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                                  quantity="0.001", price="50000")  # fmt: skip
    assert resting["status"] == "NEW"
    assert resting["clientOrderId"].startswith("x-HNA2TXFJ")
    assert client.get_order(symbol="BTCUSDT", orderId=resting["orderId"])["status"] == "NEW"
    assert [o["orderId"] for o in client.get_open_orders(symbol="BTCUSDT")] == [resting["orderId"]]
    gone = client.cancel_order(symbol="BTCUSDT", orderId=resting["orderId"])  # params in the form body
    assert gone["status"] == "CANCELED"
    assert gone["origClientOrderId"] == resting["clientOrderId"]
    bought = client.order_market_buy(symbol="BTCUSDT", quantity="0.002")
    assert bought["status"] == "FILLED"
    assert bought["fills"][0]["price"] == "60001.00000000"
    assert [o["status"] for o in client.get_all_orders(symbol="BTCUSDT")] == ["CANCELED", "FILLED"]
    (trade,) = client.get_my_trades(symbol="BTCUSDT")
    assert trade["orderId"] == bought["orderId"]
    assert trade["isBuyer"] is True
    assert client.get_trade_fee(symbol="BTCUSDT")[0]["takerCommission"] == "0.00075"

    native_order = native.get(f"/orders/{bought['orderId']}")
    assert native_order["clientOrderId"] == bought["clientOrderId"]
    assert native_order["status"] == "closed"
    assert Decimal(str(native.get("/balance")["BTC"]["free"])) == Decimal("2.002")
    assert asyncio.run(audit_problems(settings)) == []


def test_python_binance_errors(client: Client) -> None:
    with pytest.raises(BinanceAPIException) as caught:
        client.order_market_buy(symbol="BTCUSDT", quantity="100")
    assert (caught.value.code, caught.value.message) == (
        -2010,
        "Account has insufficient balance for requested action.",
    )
    with pytest.raises(BinanceAPIException) as caught:
        client.get_order(symbol="BTCUSDT", orderId=424242)
    assert caught.value.code == -2013
    with pytest.raises(BinanceAPIException) as caught:  # str(float) of 0.00001: exponent notation, refused
        client.order_market_buy(symbol="BTCUSDT", quantity=0.00001)
    assert caught.value.code == -1100
    assert "quantity" in caught.value.message
    with pytest.raises(BinanceAPIException) as caught:
        client.get_symbol_ticker(symbol="NOPEUSDT")
    assert caught.value.code == -1121
