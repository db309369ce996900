"""The order and account routes over plain HTTP: response types, ids shared with the native API, paging,
cancel-replace, refusals in Binance's words, and each account seeing only its own orders."""

from __future__ import annotations

import pytest

from tests.support.binance import Native, Raw, binance_error

LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}
BARE = {k: v for k, v in LIMIT.items() if k != "quantity"}


@pytest.fixture
def raw(binance: tuple[str, Native]) -> Raw:
    return Raw(binance[0])


def test_response_types_and_shared_ids(raw: Raw, binance: tuple[str, Native]) -> None:
    _, native = binance
    ack = raw.ok("POST", "/api/v3/order", **LIMIT, price="50000", newOrderRespType="ACK", newClientOrderId="my-1")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = raw.ok("POST", "/api/v3/order", **LIMIT, price="50000", newOrderRespType="RESULT")
    assert "fills" not in result
    assert result["status"] == "NEW"
    assert len(result["clientOrderId"]) == 22  # generated, as Binance does
    full = raw.ok("POST", "/api/v3/order", symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.5")
    assert full["status"] == "FILLED"
    assert full["price"] == "0.00000000"
    assert full["cummulativeQuoteQty"] == "29999.50000000"
    assert full["fills"] == [{"price": "59999.00000000", "qty": "0.50000000", "commission": "22.49962500",
                              "commissionAsset": "USDT", "tradeId": full["fills"][0]["tradeId"]}]  # fmt: skip
    assert "cumQuote" not in full
    assert "positionSide" not in full
    by_cid = raw.ok("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="my-1")
    assert by_cid["orderId"] == ack["orderId"]
    native_view = native.get(f"/orders/{ack['orderId']}")
    assert native_view["clientOrderId"] == "my-1"
    body = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.002", "price": "49000",
            "clientOrderId": "nat-1"}  # fmt: skip
    placed_natively = native.post("/orders", body)
    seen = raw.ok("GET", "/api/v3/order", symbol="BTCUSDT", orderId=placed_natively["id"])
    assert (seen["clientOrderId"], seen["origQty"], seen["price"]) == ("nat-1", "0.00200000", "49000.00000000")
    binance_error(raw.signed("GET", "/api/v3/order", symbol="ETHUSDT", orderId=ack["orderId"]), -2013)
    binance_error(raw.signed("GET", "/api/v3/order", symbol="BTCUSDT"), -1102,
                  "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")  # fmt: skip


def test_refusals_in_binance_words(raw: Raw) -> None:
    def refused(code: int, msg: str | None = None, **params: str) -> None:
        binance_error(raw.signed("POST", "/api/v3/order", **params), code, msg)

    refused(-1102, None, symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.001", price="50000")  # no timeInForce
    refused(-1117, "Invalid side.", **{**LIMIT, "side": "UP"}, price="50000")
    refused(-1116, "Invalid orderType.", **{**LIMIT, "type": "ICEBERG"}, price="50000")
    refused(-1115, "Invalid timeInForce.", **{**LIMIT, "timeInForce": "GTX"}, price="50000")
    refused(-1106, "Parameter 'price' sent when not required.", symbol="BTCUSDT", side="BUY", type="MARKET",
            quantity="0.001", price="1")  # fmt: skip
    refused(-1106, "Parameter 'timeInForce' sent when not required.", symbol="BTCUSDT", side="BUY",
            type="LIMIT_MAKER", quantity="0.001", price="50000", timeInForce="GTC")  # fmt: skip
    refused(-1100, None, **LIMIT, price="50000", newClientOrderId="x" * 37)
    refused(-1102, None, symbol="BTCUSDT", side="SELL", type="STOP_LOSS", quantity="0.001")  # no stopPrice
    refused(-1106, "Parameter 'stopPrice' sent when not required.", **LIMIT, price="50000", stopPrice="49000")
    refused(-1106, "Parameter 'timeInForce' sent when not required.", symbol="BTCUSDT", side="SELL",
            type="STOP_LOSS", quantity="0.001", stopPrice="50000", timeInForce="GTC")  # fmt: skip
    refused(-2010, "Order would immediately match and take.", symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER",
            quantity="0.001", price="61000")  # fmt: skip
    refused(-2010, "Account has insufficient balance for requested action.", symbol="BTCUSDT", side="SELL",
            type="MARKET", quantity="5")  # fmt: skip
    raw.ok("POST", "/api/v3/order", **LIMIT, price="50000", newClientOrderId="dup")
    refused(-2010, "Duplicate order sent.", **LIMIT, price="50000", newClientOrderId="dup")
    binance_error(raw.signed("POST", "/api/v3/orderList/oco", symbol="BTCUSDT"), -1102,
                  "Mandatory parameter 'side' was not sent, was empty/null, or malformed.")  # fmt: skip
    binance_error(raw.signed("POST", "/api/v3/orderList/oto", symbol="BTCUSDT"), -2010,
                  "OTO orders are not supported for this symbol.")  # fmt: skip


def test_order_test_cancel_and_cancel_replace(raw: Raw) -> None:
    assert raw.ok("POST", "/api/v3/order/test", **LIMIT, price="50000") == {}
    rates = raw.ok("POST", "/api/v3/order/test", **LIMIT, price="50000", computeCommissionRates="true")
    assert rates["standardCommissionForOrder"] == {"maker": "0.00075", "taker": "0.00075"}
    binance_error(raw.signed("POST", "/api/v3/order/test", symbol="BTCUSDT", side="BUY", type="MARKET",
                             quantity="100"), -2010)  # fmt: skip
    assert raw.ok("GET", "/api/v3/openOrders") == []
    first = raw.ok("POST", "/api/v3/order", **LIMIT, price="50000", newClientOrderId="first")
    replaced = raw.ok("POST", "/api/v3/order/cancelReplace", **BARE, price="49000", quantity="0.002",
                      cancelReplaceMode="STOP_ON_FAILURE", cancelOrderId=first["orderId"])  # fmt: skip
    assert replaced["cancelResult"] == "SUCCESS"
    assert replaced["cancelResponse"]["origClientOrderId"] == "first"
    assert replaced["newOrderResponse"]["origQty"] == "0.00200000"
    failed = raw.signed("POST", "/api/v3/order/cancelReplace", **LIMIT, price="49000",
                        cancelReplaceMode="STOP_ON_FAILURE", cancelOrderId=first["orderId"])  # fmt: skip
    assert failed.status_code == 400
    assert failed.json() == {"code": -2022, "msg": "Order cancel-replace failed.", "data": {
        "cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
        "cancelResponse": {"code": -2011, "msg": "Unknown order sent."}, "newOrderResponse": None}}  # fmt: skip
    allowed = raw.ok("POST", "/api/v3/order/cancelReplace", **LIMIT, price="49000",
                     cancelReplaceMode="ALLOW_FAILURE", cancelOrderId=first["orderId"])  # fmt: skip
    assert (allowed["cancelResult"], allowed["newOrderResult"]) == ("FAILURE", "SUCCESS")
    new_id = replaced["newOrderResponse"]["orderId"]
    gone = raw.ok("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=new_id, newClientOrderId="cancel-1")
    assert (gone["status"], gone["clientOrderId"]) == ("CANCELED", "cancel-1")
    assert raw.ok("GET", "/api/v3/order", symbol="BTCUSDT", orderId=new_id)["status"] == "CANCELED"
    binance_error(raw.signed("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=new_id), -2011,
                  "Unknown order sent.")  # fmt: skip
    assert len(raw.ok("DELETE", "/api/v3/openOrders", symbol="BTCUSDT")) == 1
    binance_error(raw.signed("DELETE", "/api/v3/openOrders", symbol="BTCUSDT"), -2011)


def test_lists_pages_and_account(raw: Raw, binance: tuple[str, Native]) -> None:
    _, native = binance
    ids = [raw.ok("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")["orderId"]
           for _ in range(4)]  # fmt: skip
    rows = raw.ok("GET", "/api/v3/allOrders", symbol="BTCUSDT", limit=2)
    assert [o["orderId"] for o in rows] == ids[2:]  # the newest, oldest first
    assert [o["orderId"] for o in raw.ok("GET", "/api/v3/allOrders", symbol="BTCUSDT", orderId=ids[1])] == ids[1:]
    trades = raw.ok("GET", "/api/v3/myTrades", symbol="BTCUSDT")
    assert [t["orderId"] for t in trades] == ids
    assert native.get("/trades", symbol="BTC/USDT")[0]["order"] == str(ids[0])
    assert [t["id"] for t in raw.ok("GET", "/api/v3/myTrades", symbol="BTCUSDT", fromId=trades[2]["id"])] == [
        trades[2]["id"], trades[3]["id"],
    ]  # fmt: skip
    assert [t["orderId"] for t in raw.ok("GET", "/api/v3/myTrades", symbol="BTCUSDT", orderId=ids[1])] == [ids[1]]
    assert raw.ok("GET", "/api/v3/myTrades", symbol="ETHUSDT") == []
    account = raw.ok("GET", "/api/v3/account")
    assert account["accountType"] == "SPOT"
    assert account["commissionRates"]["taker"] == "0.00075"
    for side in ("BUY", "SELL"):  # ETH held and sold again: a zero balance
        raw.ok("POST", "/api/v3/order", symbol="ETHUSDT", side=side, type="MARKET", quantity="0.01")
    assets = {b["asset"] for b in raw.ok("GET", "/api/v3/account", omitZeroBalances="true")["balances"]}
    assert assets == {"BTC", "USDT"}
    commission = raw.ok("GET", "/api/v3/account/commission", symbol="BTCUSDT")
    assert commission["standardCommission"]["maker"] == "0.00075"
    counts = raw.ok("GET", "/api/v3/rateLimit/order")
    assert [c["interval"] for c in counts] == ["SECOND", "DAY"]
    assert counts[1]["count"] >= 4
    assert raw.ok("GET", "/api/v3/myPreventedMatches", symbol="BTCUSDT", orderId=ids[0]) == []


def test_another_account_sees_only_its_own(raw: Raw, binance: tuple[str, Native]) -> None:
    base, native = binance
    mine = raw.ok("POST", "/api/v3/order", **LIMIT, price="50000")
    other = native.post("/admin/accounts", {"name": "other", "balances": {"USDT": "1000"}})
    theirs = Raw(base, other["apiKey"], other["secret"])
    binance_error(theirs.signed("GET", "/api/v3/order", symbol="BTCUSDT", orderId=mine["orderId"]), -2013)
    binance_error(theirs.signed("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=mine["orderId"]), -2011)
    assert theirs.ok("GET", "/api/v3/openOrders") == []
    balances = {b["asset"]: b["free"] for b in theirs.ok("GET", "/api/v3/account")["balances"]}
    assert balances == {"USDT": "1000.00000000"}
    binance_error(Raw(base, other["apiKey"]).signed("GET", "/api/v3/account"), -1022)  # the default secret


def test_sapi_routes(raw: Raw) -> None:
    coins = raw.ok("GET", "/sapi/v1/capital/config/getall")
    assert {c["coin"] for c in coins} == {"BTC", "ETH", "USDT"}
    assert raw.ok("GET", "/sapi/v1/margin/allPairs") == []
    assert raw.ok("GET", "/sapi/v1/margin/isolated/allPairs") == []
    assert raw.ok("GET", "/sapi/v1/asset/tradeFee", symbol="ETHUSDT") == [
        {"symbol": "ETHUSDT", "makerCommission": "0.00075", "takerCommission": "0.00075"}
    ]
    assert raw.public("/sapi/v1/system/status").json() == {"status": 0, "msg": "normal"}
    assert raw.ok("GET", "/sapi/v1/account/status") == {"data": "Normal"}
    assert raw.ok("GET", "/sapi/v1/account/apiTradingStatus")["data"]["isLocked"] is False
