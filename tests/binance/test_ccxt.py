"""Unmodified ccxt.binance (sync and async, default options, keys set) trading against the Binance dialect.

Only ``urls`` change (every http entry of ``urls['api']`` and ``urls['test']``); load_markets runs its full
default sequence (capital/config/getall, margin pairs, fapi/dapi exchangeInfo). Afterwards the native API
shows the same balances, orders and trades.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from app.engine.exchange import Exchange
from app.settings import Settings
from tests.support.binance import KEY, SECRET, Native, binance_settings, ccxt_urls
from tests.support.money import audit_problems, money_problems


def _client(base: str, **extra: Any) -> ccxt.binance:
    return ccxt.binance({"apiKey": KEY, "secret": SECRET, "urls": ccxt_urls(ccxt.binance(), base), **extra})


def test_ccxt_version_is_pinned() -> None:
    assert ccxt.__version__ == "4.5.90"


def test_sync_bot_session(binance: tuple[str, Native], settings: Settings) -> None:
    base, native = binance
    ex = _client(base)
    ex.set_sandbox_mode(True)  # urls['test'] is overridden too: sandbox mode still talks to MockX
    markets = ex.load_markets()
    assert {"BTC/USDT", "ETH/USDT"} <= set(markets)
    btc = markets["BTC/USDT"]
    assert btc["spot"]
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5
    assert not [m for m in markets.values() if not m["spot"]]
    assert ex.fetch_time() > 0
    assert ex.fetch_status()["status"] == "ok"
    assert ex.fetch_ticker("BTC/USDT")["last"] == 60000
    assert set(ex.fetch_tickers(["BTC/USDT", "ETH/USDT"])) == {"BTC/USDT", "ETH/USDT"}
    assert set(ex.fetch_tickers()) >= {"BTC/USDT", "ETH/USDT"}
    assert ex.fetch_bids_asks(["BTC/USDT"])["BTC/USDT"]["bid"] == 59999
    book = ex.fetch_order_book("BTC/USDT", 5)
    assert book["bids"][0][0] == 59999
    assert book["asks"][0][0] == 60001
    assert len(book["bids"]) == 5
    ohlcv = ex.fetch_ohlcv("BTC/USDT", "1m", limit=10)
    assert ohlcv
    assert ohlcv[-1][4] == 60000
    assert ex.fetch_trades("BTC/USDT") == []  # no tick has printed a trade on the tape (see test_market_data)
    assert ex.fetch_balance()["USDT"]["free"] == 100000

    resting = ex.create_order("BTC/USDT", "limit", "buy", 0.001, 50000)
    assert resting["status"] == "open"
    assert resting["type"] == "limit"
    assert ex.fetch_balance()["USDT"]["used"] > 0
    post_only = ex.create_order("BTC/USDT", "limit", "buy", 0.001, 50001, {"postOnly": True})
    assert post_only["postOnly"] is True
    assert post_only["status"] == "open"
    ioc = ex.create_order("BTC/USDT", "limit", "buy", 0.001, 50000, {"timeInForce": "IOC"})
    assert ioc["status"] == "expired"
    fok = ex.create_order("BTC/USDT", "limit", "buy", 0.001, 60001, {"timeInForce": "FOK"})
    assert fok["status"] == "closed"
    assert fok["filled"] == 0.001
    edited = ex.edit_order(resting["id"], "BTC/USDT", "limit", "buy", 0.002, 49000)
    assert edited["id"] != resting["id"]
    assert edited["status"] == "open"
    assert edited["amount"] == 0.002
    assert ex.fetch_order(resting["id"], "BTC/USDT")["status"] == "canceled"  # canceled orders stay queryable
    assert {o["id"] for o in ex.fetch_open_orders("BTC/USDT")} == {edited["id"], post_only["id"]}
    assert ex.cancel_order(post_only["id"], "BTC/USDT")["status"] == "canceled"
    ex.cancel_all_orders("BTC/USDT")
    assert ex.fetch_open_orders("BTC/USDT") == []

    bought = ex.create_order("BTC/USDT", "market", "buy", 0.01)
    assert bought["status"] == "closed"
    assert bought["filled"] == 0.01
    assert bought["average"] == 60001
    assert bought["fee"]["cost"] > 0
    assert bought["trades"]
    sold = ex.create_order("BTC/USDT", "market", "sell", 0.005)
    assert sold["status"] == "closed"
    assert sold["average"] == 59999
    closed = ex.fetch_closed_orders("BTC/USDT")
    assert {bought["id"], sold["id"], fok["id"]} <= {o["id"] for o in closed}
    every = ex.fetch_orders("BTC/USDT")
    assert len(every) == 7
    trades = ex.fetch_my_trades("BTC/USDT")
    assert [t["order"] for t in trades] == [fok["id"], bought["id"], sold["id"]]
    assert trades[1]["side"] == "buy"
    assert trades[1]["takerOrMaker"] == "taker"
    fees = ex.fetch_trading_fees()
    assert fees["BTC/USDT"]["taker"] == 0.00075

    _same_in_native(native, ex, every, trades)
    assert asyncio.run(audit_problems(binance_settings(settings))) == []


def _same_in_native(native: Native, ex: ccxt.binance, orders: list[Any], trades: list[Any]) -> None:
    """The native API shows the same orders (ids, client ids, statuses), trades and balances."""
    by_id = {o["id"]: o for o in native.get("/orders", symbol="BTC/USDT")}
    for o in orders:
        mine = by_id[o["id"]]
        assert mine["clientOrderId"] == o["clientOrderId"]
        assert mine["status"] == o["status"]
        assert Decimal(str(mine["filled"])) == Decimal(str(o["filled"]))
    native_trades = native.get("/trades", symbol="BTC/USDT")
    assert [t["id"] for t in native_trades] == [t["id"] for t in trades]
    balance = ex.fetch_balance()
    native_balance = native.get("/balance")
    rows = {b["asset"]: b for b in balance["info"]["balances"]}
    for asset in ("BTC", "USDT"):
        assert Decimal(str(native_balance[asset]["free"])) == Decimal(rows[asset]["free"])


def test_errors_map_to_ccxt_classes(binance: tuple[str, Native]) -> None:
    base, _ = binance
    ex = _client(base)
    ex.load_markets()
    with pytest.raises(ccxt.InsufficientFunds):
        ex.create_order("BTC/USDT", "market", "buy", 100)
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order("987654", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order("987654", "BTC/USDT")
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, 70000, {"postOnly": True})
    with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):  # below 5 USDT: -1013, as on Binance
        ex.create_order("BTC/USDT", "limit", "buy", 0.00001, 50000)
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):  # not on the amount step: a raw request
        ex.privatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                             "quantity": "0.000015", "price": "50000"})  # fmt: skip
    with pytest.raises(ccxt.BadSymbol):
        ex.publicGetTickerPrice({"symbol": "NOSUCHUSDT"})
    with pytest.raises(ccxt.OrderNotFound):  # nothing open to cancel: -2011
        ex.cancel_all_orders("ETH/USDT")
    wrong = _client(base, secret="not-the-secret")
    wrong.markets, wrong.markets_by_id, wrong.symbols = ex.markets, ex.markets_by_id, ex.symbols
    with pytest.raises(ccxt.AuthenticationError):
        wrong.fetch_balance()
    unknown = _client(base, apiKey="no-such-key")
    with pytest.raises(ccxt.AuthenticationError):
        unknown.fetch_balance()
    late = _client(base, options={"timeDifference": 120_000})  # its clock 2 minutes behind: outside recvWindow
    with pytest.raises(ccxt.InvalidNonce):
        late.fetch_balance()


async def test_async_bot_session(binance: tuple[str, Native], exchange: Exchange) -> None:
    base, native = binance
    ex = ccxt_async.binance({"apiKey": KEY, "secret": SECRET, "urls": ccxt_urls(ccxt.binance(), base)})
    try:
        await ex.load_markets()
        assert (await ex.fetch_ticker("ETH/USDT"))["last"] == 3000
        assert (await ex.fetch_order_book("ETH/USDT"))["asks"][0][0] == 3001
        assert await ex.fetch_ohlcv("ETH/USDT", "1m", limit=5)
        order = await ex.create_order("ETH/USDT", "limit", "buy", 0.5, 2900)
        assert (await ex.fetch_order(order["id"], "ETH/USDT"))["status"] == "open"
        assert (await ex.cancel_order(order["id"], "ETH/USDT"))["status"] == "canceled"
        filled = await ex.create_order("ETH/USDT", "market", "buy", 1)
        assert filled["status"] == "closed"
        trades = await ex.fetch_my_trades("ETH/USDT")
        assert [t["order"] for t in trades] == [filled["id"]]
        balance = await ex.fetch_balance()
        assert balance["ETH"]["free"] == 1
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order("ETH/USDT", "market", "buy", 1000)
    finally:
        await ex.close()
    assert native.get("/balance")["ETH"]["free"] == 1
    assert await money_problems(exchange) == []
    assert await audit_problems(exchange.settings) == []


async def test_ccxt_pro_rest_calls_with_the_same_urls(binance: tuple[str, Native]) -> None:
    import ccxt.pro as ccxt_pro

    base, _ = binance
    ex = ccxt_pro.binance({"apiKey": KEY, "secret": SECRET, "urls": ccxt_urls(ccxt_pro.binance(), base)})
    try:
        await ex.load_markets()
        assert (await ex.fetch_balance())["BTC"]["free"] == 2
        order = await ex.create_order("BTC/USDT", "limit", "sell", 0.5, 70000)
        assert (await ex.fetch_open_orders("BTC/USDT"))[0]["id"] == order["id"]
        assert (await ex.cancel_order(order["id"], "BTC/USDT"))["status"] == "canceled"
    finally:
        await ex.close()
