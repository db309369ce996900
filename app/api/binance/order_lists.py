"""Binance's OCO order lists on the engine's: ``POST /api/v3/orderList/oco`` (and the older ``order/oco``),
``GET`` / ``DELETE /api/v3/orderList``.

An engine list is a resting limit leg and a stop-loss leg of one amount (one reservation; one filling or
triggering cancels the other). In Binance's words: a SELL list's above leg is the LIMIT_MAKER (take
profit) and its below leg the STOP_LOSS / STOP_LOSS_LIMIT; a BUY list mirrors it. ``orderListId`` is the
limit leg's order id. Leg client order ids are the engine's own; ``listClientOrderId`` is echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from litestar import Request, Response, delete, get, post

from app.api.binance.auth import authenticate
from app.api.binance.errors import UNKNOWN_ORDER, BinanceError
from app.api.binance.orders import new_client_id
from app.api.binance.params import Params
from app.api.binance.serialize import Json, binance_symbol, new_order, stop_price
from app.api.binance.symbols import check_filters, index_of
from app.api.binance.wire import json_response
from app.engine.enums import OrderStatus
from app.engine.errors import InvalidOrder, OrderImmediatelyFillable, OrderNotFound
from app.engine.exchange import Exchange
from app.engine.models import Order, OrderList

V3 = "/api/v3"
NO_LIST = "Order list does not exist."
_STOPS = ("STOP_LOSS", "STOP_LOSS_LIMIT")


@dataclass(frozen=True, slots=True)
class OcoRequest:
    name: str
    side: str
    quantity: Decimal
    price: Decimal  # the limit (LIMIT_MAKER) leg's
    stop_price: Decimal
    stop_limit_price: Decimal | None  # None: a STOP_LOSS (market) leg
    list_client_id: str


def _legs(params: Params, side: str) -> tuple[Decimal, Decimal, Decimal | None]:
    """``orderList/oco``'s above / below legs as (limit price, stop price, stop limit price)."""
    limit_at, stop_at = ("above", "below") if side == "SELL" else ("below", "above")
    limit_type = params.choice(f"{limit_at}Type", ("LIMIT_MAKER",), -1116, "Invalid orderType.", required=True)
    stop_type = params.choice(f"{stop_at}Type", _STOPS, -1116, "Invalid orderType.", required=True)
    assert limit_type is not None
    price = params.number(f"{limit_at}Price", required=True)
    stop = params.number(f"{stop_at}StopPrice", required=True)
    stop_limit = params.number(f"{stop_at}Price", required=stop_type == "STOP_LOSS_LIMIT")
    if stop_type == "STOP_LOSS_LIMIT":
        params.choice(f"{stop_at}TimeInForce", ("GTC", "IOC", "FOK"), -1115, "Invalid timeInForce.", required=True)
    assert price is not None
    assert stop is not None
    return price, stop, stop_limit if stop_type == "STOP_LOSS_LIMIT" else None


def parse_oco(params: Params, legacy: bool) -> OcoRequest:
    name = params.symbol()
    side = params.choice("side", ("BUY", "SELL"), -1117, "Invalid side.", required=True)
    quantity = params.number("quantity", required=True)
    assert name is not None
    assert side is not None
    assert quantity is not None
    if legacy:  # order/oco: price (the limit leg), stopPrice, stopLimitPrice + stopLimitTimeInForce
        price, stop = params.number("price", required=True), params.number("stopPrice", required=True)
        stop_limit = params.number("stopLimitPrice")
        if stop_limit is not None:
            params.choice("stopLimitTimeInForce", ("GTC", "IOC", "FOK"), -1115, "Invalid timeInForce.", required=True)
        assert price is not None
        assert stop is not None
    else:
        price, stop, stop_limit = _legs(params, side)
    if min(quantity, price, stop, stop_limit or stop) <= 0:
        raise BinanceError(-1013, "Invalid quantity." if quantity <= 0 else "Invalid price.")
    cid = params.client_id("listClientOrderId") or new_client_id()
    return OcoRequest(name, side.lower(), quantity, price, stop, stop_limit, cid)


def list_json(orders: list[Order], list_client_id: str, symbol: str, reports: bool = True) -> Json:
    """A list as Binance shows it: its status from its legs, its orders, and (on placement) their reports."""
    done = any(o.status is not OrderStatus.OPEN for o in orders)
    first = orders[0]
    out: Json = {
        "orderListId": int(first.order_list_id or first.id), "contingencyType": "OCO",
        "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
        "listOrderStatus": "ALL_DONE" if done else "EXECUTING", "listClientOrderId": list_client_id,
        "transactionTime": max(o.last_update_timestamp or o.timestamp for o in orders), "symbol": symbol,
        "orders": [{"symbol": symbol, "orderId": int(o.id), "clientOrderId": o.client_order_id or ""}
                   for o in orders],
    }  # fmt: skip
    if reports:
        out["orderReports"] = [_report(o) for o in orders]
    return out


def _report(order: Order) -> Json:
    """A leg as placed: the RESULT answer, with ``stopPrice`` for the stop leg (as Binance shows it)."""
    report = new_order(order, "RESULT")
    if order.trigger is not None:
        report["stopPrice"] = stop_price(order)
    return report


async def _place(request: Request[Any, Any, Any], ex: Exchange, req: OcoRequest) -> OrderList:
    index = index_of(request.app.state)
    market = await index.get(ex, req.name)
    limits = index.limits(market)
    check_filters(market, limits, req.quantity, req.price)
    check_filters(market, limits, None, req.stop_price)
    if req.stop_limit_price is not None:
        check_filters(market, limits, req.quantity, req.stop_limit_price)
    try:
        return await ex.create_oco(market.sym, req.side, req.quantity, req.price, req.stop_price, req.stop_limit_price)
    except OrderImmediatelyFillable as exc:
        raise BinanceError(-2010, "Order would immediately match and take." if "limit" in exc.message
                           else "Stop price would trigger immediately.") from None  # fmt: skip
    except InvalidOrder as exc:
        raise BinanceError(-1013, exc.message) from None


@post([f"{V3}/orderList/oco", f"{V3}/order/oco"], opt={"weight": 1, "order": True})
async def place_oco(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    req = parse_oco(params, legacy=request.url.path.endswith("/order/oco"))
    placed = await _place(request, ex, req)
    return json_response(list_json(placed.orders, req.list_client_id, binance_symbol(placed.symbol)))


@post([f"{V3}/orderList/oto", f"{V3}/orderList/otoco"], opt={"weight": 1, "order": True})
async def other_lists(request: Request[Any, Any, Any]) -> Response[bytes]:
    """OTO and OTOCO lists: Binance's answer for a symbol without them."""
    params = await Params.of(request)
    await authenticate(request, params)
    raise BinanceError(-2010, "OTO orders are not supported for this symbol.")


async def _legs_of(ex: Exchange, list_id: int) -> list[Order]:
    try:
        first = await ex.fetch_order(str(list_id))
    except OrderNotFound:
        raise BinanceError(-2013, NO_LIST) from None
    if first.order_list_id != first.id:
        raise BinanceError(-2013, NO_LIST)
    rows = await ex.fetch_orders(symbol=first.symbol, since=first.timestamp, limit=1000)
    return [o for o in rows if o.order_list_id == first.id]


@get(f"{V3}/orderList", opt={"weight": 4})
async def query_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    list_id = params.integer("orderListId", required=True)
    assert list_id is not None
    legs = await _legs_of(ex, list_id)
    return json_response(list_json(legs, "", binance_symbol(legs[0].symbol), reports=False))


@delete(f"{V3}/orderList", opt={"weight": 1}, status_code=200)
async def cancel_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    list_id = params.integer("orderListId", required=True)
    assert list_id is not None
    legs = await _legs_of(ex, list_id)
    try:
        await ex.cancel_order(legs[0].id)  # canceling a leg cancels the list
    except OrderNotFound:
        raise BinanceError(-2011, UNKNOWN_ORDER) from None
    done = await _legs_of(ex, list_id)
    return json_response(list_json(done, params.client_id("newClientOrderId") or new_client_id(),
                                   binance_symbol(done[0].symbol)))  # fmt: skip


@get(f"{V3}/allOrderList", opt={"weight": 20})
async def all_lists(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The account's order lists (``startTime`` / ``endTime`` / ``limit`` as allOrders), oldest first."""
    params = await Params.of(request)
    ex = await authenticate(request, params)
    rows = await ex.fetch_orders(since=params.integer("startTime"), until=params.integer("endTime"), limit=1000)
    lists: dict[str, list[Order]] = {}
    for o in rows:
        if o.order_list_id:
            lists.setdefault(o.order_list_id, []).append(o)
    out = [list_json(legs, "", binance_symbol(legs[0].symbol), reports=False) for legs in lists.values()]
    return json_response(out[-params.limit(500, 1000) :])


HANDLERS = [place_oco, other_lists, query_list, cancel_list, all_lists]
