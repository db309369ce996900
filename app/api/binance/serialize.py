"""The engine's structures in Binance's spot shapes: field names, enums, and numbers as 8-decimal strings.

Binance sends every price and quantity as a decimal string with 8 places (``"60000.00000000"``) and every id
and time as a JSON number. A spot order carries no ``cumQuote`` and no ``positionSide`` (ccxt takes an order
with them for a futures order). Statuses: NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.engine.enums import OrderStatus, OrderType, Side, TimeInForce, TriggerKind
from app.engine.models import Order, Trade
from app.engine.money import QUANTUM

Json = dict[str, Any]
ZERO = "0.00000000"


def num(value: Decimal | None) -> str:
    """A number as Binance writes it: exactly 8 decimal places (``"0.00100000"``)."""
    if value is None:
        return ZERO
    return format(value.quantize(QUANTUM), "f")


def binance_symbol(symbol: str) -> str:
    """``BTC/USDT`` -> ``BTCUSDT``."""
    return symbol.replace("/", "")


def status(order: Order) -> str:
    st = order.status
    if st is OrderStatus.OPEN:
        return "PARTIALLY_FILLED" if order.filled else "NEW"
    return {
        OrderStatus.CLOSED: "FILLED",
        OrderStatus.CANCELED: "CANCELED",
        OrderStatus.EXPIRED: "EXPIRED",
        OrderStatus.REJECTED: "REJECTED",
    }[st]


def order_type(order: Order) -> str:
    if order.trigger is not None:
        kind = "STOP_LOSS" if order.trigger is TriggerKind.STOP_LOSS else "TAKE_PROFIT"
        return kind if order.type is OrderType.MARKET else kind + "_LIMIT"
    if order.type is OrderType.MARKET:
        return "MARKET"
    if order.order_list_id:  # an OCO's limit leg rests by construction: Binance's LIMIT_MAKER
        return "LIMIT_MAKER"
    return "LIMIT_MAKER" if order.time_in_force is TimeInForce.PO else "LIMIT"


def stop_price(order: Order) -> str:
    """A stop order's trigger (``stopPrice``), 0 for any other order."""
    return num(order.trigger_price) if order.trigger is not None else ZERO


def _tif(order: Order) -> str:
    return "GTC" if order.time_in_force is TimeInForce.PO else str(order.time_in_force)


def _price(order: Order) -> str:
    return ZERO if order.type is OrderType.MARKET else num(order.price)


def _core(order: Order) -> Json:
    return {
        "symbol": binance_symbol(order.symbol),
        "orderId": int(order.id),
        "orderListId": int(order.order_list_id) if order.order_list_id else -1,
        "clientOrderId": order.client_order_id or "",
    }


def _amounts(order: Order) -> Json:
    return {
        "price": _price(order),
        "origQty": num(order.amount),
        "executedQty": num(order.filled),
        "origQuoteOrderQty": ZERO,
        "cummulativeQuoteQty": num(order.cost),
        "status": status(order),
        "timeInForce": _tif(order),
        "type": order_type(order),
        "side": order.side.upper(),
    }


def _updated(order: Order) -> int:
    return order.last_update_timestamp or order.last_trade_timestamp or order.timestamp


def order(order: Order) -> Json:
    """``GET /api/v3/order`` (and the rows of openOrders / allOrders)."""
    return {
        **_core(order),
        **_amounts(order),
        "stopPrice": stop_price(order),
        "icebergQty": ZERO,
        "time": order.timestamp,
        "updateTime": _updated(order),
        "isWorking": True,
        "workingTime": order.timestamp,
        "selfTradePreventionMode": "NONE",
    }


def fill(trade: Trade) -> Json:
    return {
        "price": num(trade.price),
        "qty": num(trade.amount),
        "commission": num(trade.fee.cost),
        "commissionAsset": trade.fee.currency,
        "tradeId": int(trade.id),
    }


def new_order(order: Order, resp_type: str) -> Json:
    """The answer of ``POST /api/v3/order`` in the ``newOrderRespType`` asked for (ACK, RESULT or FULL)."""
    out: Json = {**_core(order), "transactTime": _updated(order)}
    if resp_type == "ACK":
        return out
    out.update(_amounts(order))
    out["workingTime"] = order.timestamp
    out["selfTradePreventionMode"] = "NONE"
    if resp_type == "FULL":
        out["fills"] = [fill(t) for t in order.trades]
    return out


def canceled(order: Order, orig_client_id: str | None, new_client_id: str) -> Json:
    """The answer of ``DELETE /api/v3/order``: the order as canceled, with a new clientOrderId of the cancel."""
    return {
        "symbol": binance_symbol(order.symbol),
        "origClientOrderId": orig_client_id or order.client_order_id or "",
        "orderId": int(order.id),
        "orderListId": -1,
        "clientOrderId": new_client_id,
        "transactTime": _updated(order),
        **_amounts(order),
        "selfTradePreventionMode": "NONE",
    }


def my_trade(trade: Trade) -> Json:
    return {
        "symbol": binance_symbol(trade.symbol),
        "id": int(trade.id),
        "orderId": int(trade.order_id),
        "orderListId": -1,
        "price": num(trade.price),
        "qty": num(trade.amount),
        "quoteQty": num(trade.cost),
        "commission": num(trade.fee.cost),
        "commissionAsset": trade.fee.currency,
        "time": trade.timestamp,
        "isBuyer": trade.side is Side.BUY,
        "isMaker": trade.role == "maker",
        "isBestMatch": True,
    }
