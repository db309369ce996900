"""Binance's official ``binance-sdk-spot`` 13.3.0 REST client trading against the Binance dialect.

Pointed with ``base_path`` only. It sends every signed parameter in the query string, POST included, with
an empty body and no ``recvWindow`` (the server's 5000 applies), and must be answered within its 1 s timeout.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from binance_common.configuration import ConfigurationRestAPI
from binance_common.errors import BadRequestError, UnauthorizedError
from binance_sdk_spot.rest_api.models import (
    NewOrderNewOrderRespTypeEnum,
    NewOrderSideEnum,
    NewOrderTimeInForceEnum,
    NewOrderTypeEnum,
)
from binance_sdk_spot.spot import Spot

from app.settings import Settings
from tests.support.binance import KEY, SECRET, Native
from tests.support.money import audit_problems


def _spot(base: str, key: str = KEY, secret: str = SECRET) -> Spot:
    return Spot(config_rest_api=ConfigurationRestAPI(api_key=key, api_secret=secret, base_path=base, retries=0))


def test_sdk_session(binance: tuple[str, Native], settings: Settings) -> None:
    base, native = binance
    api = _spot(base).rest_api
    api.ping()
    assert api.time().data().server_time > 0
    info = api.exchange_info(symbol="BTCUSDT").data()
    assert [s.symbol for s in info.symbols] == ["BTCUSDT"]
    assert Decimal(api.ticker_price(symbol="ETHUSDT").data().actual_instance.price) == 3000
    assert len(api.depth(symbol="BTCUSDT", limit=5).data().bids) == 5
    assert api.klines(symbol="BTCUSDT", interval="1m", limit=2).data()
    assert api.ticker24hr(symbol="BTCUSDT").data()
    account = api.get_account().data()
    assert {b.asset: b.free for b in account.balances}["USDT"] == "100000.00000000"
    assert api.account_commission(symbol="BTCUSDT").data().standard_commission.taker == "0.00075"
    api.order_test(symbol="BTCUSDT", side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.MARKET, quantity=0.001)

    resting = api.new_order(
        symbol="BTCUSDT", side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.LIMIT,
        time_in_force=NewOrderTimeInForceEnum.GTC, quantity=0.001, price=50000.0,
    ).data()  # fmt: skip
    assert resting.status == "NEW"
    assert api.get_order(symbol="BTCUSDT", order_id=resting.order_id).data().status == "NEW"
    assert [o.order_id for o in api.get_open_orders(symbol="BTCUSDT").data()] == [resting.order_id]
    assert api.delete_order(symbol="BTCUSDT", order_id=resting.order_id).data().status == "CANCELED"
    bought = api.new_order(
        symbol="BTCUSDT", side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.MARKET, quantity=0.01,
        new_order_resp_type=NewOrderNewOrderRespTypeEnum.FULL,
    ).data()  # fmt: skip
    assert bought.status == "FILLED"
    assert bought.fills[0].price == "60001.00000000"
    assert [o.status for o in api.all_orders(symbol="BTCUSDT").data()] == ["CANCELED", "FILLED"]
    (trade,) = api.my_trades(symbol="BTCUSDT").data()
    assert trade.order_id == bought.order_id
    assert native.get(f"/orders/{bought.order_id}")["status"] == "closed"
    assert Decimal(str(native.get("/balance")["BTC"]["free"])) == Decimal("2.01")
    assert asyncio.run(audit_problems(settings)) == []


def test_sdk_errors(binance: tuple[str, Native]) -> None:
    base, _ = binance
    api = _spot(base).rest_api
    with pytest.raises(BadRequestError, match="insufficient balance"):
        api.new_order(symbol="BTCUSDT", side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.MARKET, quantity=100.0)
    with pytest.raises(BadRequestError, match="Order does not exist"):
        api.get_order(symbol="BTCUSDT", order_id=777)
    with pytest.raises(UnauthorizedError):
        _spot(base, key="unknown-key").rest_api.get_account()
    with pytest.raises(BadRequestError, match="Signature for this request is not valid"):
        _spot(base, secret="wrong").rest_api.get_account()
