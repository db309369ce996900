"""Stop-loss and take-profit orders, and market buys by quoteOrderQty, through the Binance dialect: placed,
shown and triggered as on Binance, refused in Binance's words."""

from __future__ import annotations

from decimal import Decimal

from tests.support.binance import Native, Raw, binance_error

V3 = "/api/v3"


def test_a_stop_loss_limit_waits_then_triggers_and_fills(binance: tuple[str, Native]) -> None:
    base, native = binance
    raw = Raw(base)
    placed = raw.ok("POST", f"{V3}/order", symbol="BTCUSDT", side="SELL", type="STOP_LOSS_LIMIT",
                    timeInForce="GTC", quantity="0.01", price="58000", stopPrice="59000",
                    newOrderRespType="RESULT")  # fmt: skip
    assert (placed["type"], placed["status"]) == ("STOP_LOSS_LIMIT", "NEW")
    shown = raw.ok("GET", f"{V3}/order", symbol="BTCUSDT", orderId=placed["orderId"])
    assert shown["stopPrice"] == "59000.00000000"
    account = raw.ok("GET", f"{V3}/account")
    assert {b["asset"]: b["locked"] for b in account["balances"]}["BTC"] == "0.01000000"  # reserved at once
    native.price("BTC/USDT", "58500", bid="58499", ask="58501")  # falls through the trigger, above the limit
    done = raw.ok("GET", f"{V3}/order", symbol="BTCUSDT", orderId=placed["orderId"])
    assert (done["status"], done["executedQty"]) == ("FILLED", "0.01000000")
    assert native.get(f"/orders/{placed['orderId']}")["triggerPrice"] == 59000


def test_a_trigger_already_reached_is_refused(binance: tuple[str, Native]) -> None:
    base, _ = binance
    raw = Raw(base)
    for kind, side, stop in (("STOP_LOSS", "SELL", "61000"), ("TAKE_PROFIT", "SELL", "59000")):
        r = raw.signed("POST", f"{V3}/order", symbol="BTCUSDT", side=side, type=kind, quantity="0.01", stopPrice=stop)
        binance_error(r, -2010, "Stop price would trigger immediately.")
    r = raw.signed("POST", f"{V3}/order", symbol="BTCUSDT", side="SELL", type="STOP_LOSS", quantity="0.01")
    binance_error(r, -1102)
    assert raw.ok("GET", f"{V3}/openOrders", symbol="BTCUSDT") == []


def test_a_market_buy_by_quote_quantity_spends_that_much(binance: tuple[str, Native]) -> None:
    base, _ = binance
    raw = Raw(base)
    bought = raw.ok("POST", f"{V3}/order", symbol="BTCUSDT", side="BUY", type="MARKET", quoteOrderQty="100")
    assert bought["status"] == "FILLED"
    assert Decimal(bought["cummulativeQuoteQty"]) <= 100
    assert Decimal(bought["executedQty"]) == Decimal("0.00166")  # the most the step allows at the ask, 60001
    both = raw.signed("POST", f"{V3}/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001",
                      quoteOrderQty="100")  # fmt: skip
    binance_error(both, -1106)
    limit = raw.signed("POST", f"{V3}/order", symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                       quantity="0.001", price="50000", quoteOrderQty="100")  # fmt: skip
    binance_error(limit, -1106)


def test_oco_lists_one_cancels_the_other(binance: tuple[str, Native]) -> None:
    base, native = binance
    raw = Raw(base)
    placed = raw.ok("POST", f"{V3}/orderList/oco", symbol="BTCUSDT", side="SELL", quantity="0.01",
                    aboveType="LIMIT_MAKER", abovePrice="61000", belowType="STOP_LOSS_LIMIT",
                    belowStopPrice="59000", belowPrice="58900", belowTimeInForce="GTC",
                    listClientOrderId="my-list")  # fmt: skip
    assert (placed["contingencyType"], placed["listOrderStatus"], placed["listClientOrderId"]) == (
        "OCO", "EXECUTING", "my-list")  # fmt: skip
    limit, stop = placed["orderReports"]
    assert (limit["type"], stop["type"], stop["stopPrice"]) == ("LIMIT_MAKER", "STOP_LOSS_LIMIT", "59000.00000000")
    assert {limit["orderListId"], stop["orderListId"]} == {placed["orderListId"]}
    native.price("BTC/USDT", "61001", bid="61000", ask="61002")  # the limit leg fills: the stop is canceled
    done = raw.ok("GET", f"{V3}/orderList", orderListId=placed["orderListId"])
    assert done["listOrderStatus"] == "ALL_DONE"
    statuses = {o["orderId"]: raw.ok("GET", f"{V3}/order", symbol="BTCUSDT", orderId=o["orderId"])["status"]
                for o in done["orders"]}  # fmt: skip
    assert statuses == {limit["orderId"]: "FILLED", stop["orderId"]: "CANCELED"}

    legacy = raw.ok("POST", f"{V3}/order/oco", symbol="BTCUSDT", side="SELL", quantity="0.01", price="63000",
                    stopPrice="60000")  # fmt: skip
    canceled = raw.ok("DELETE", f"{V3}/orderList", symbol="BTCUSDT", orderListId=legacy["orderListId"])
    assert canceled["listOrderStatus"] == "ALL_DONE"
    assert raw.ok("GET", f"{V3}/openOrders", symbol="BTCUSDT") == []
    assert len(raw.ok("GET", f"{V3}/allOrderList")) == 2
    binance_error(raw.signed("GET", f"{V3}/orderList", orderListId="999999"), -2013, "Order list does not exist.")
    wrong = raw.signed("POST", f"{V3}/orderList/oco", symbol="BTCUSDT", side="SELL", quantity="0.01",
                       aboveType="STOP_LOSS", abovePrice="61000", belowType="LIMIT_MAKER",
                       belowStopPrice="1")  # fmt: skip
    binance_error(wrong, -1116, "Invalid orderType.")
