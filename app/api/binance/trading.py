"""Binance's order routes: new order (and its test), query, cancel, cancel-replace, open and all orders.

``orderId`` is the engine's order id, ``clientOrderId`` its clientOrderId: an order placed through either
dialect is the same order in the other. Canceled and expired orders stay queryable. Filters are checked in
Binance's terms first (:mod:`app.api.binance.symbols`); what only the engine can decide (funds, a post-only
order that would take, a market order's notional at the touch) comes back as the engine's error, mapped to
Binance's code and message here.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post

from app.api.binance.auth import authenticate
from app.api.binance.errors import UNKNOWN_ORDER, WOULD_TRIGGER, BinanceError, domain_error, filter_failure
from app.api.binance.orders import NewOrder, new_client_id, parse_new_order
from app.api.binance.params import Params
from app.api.binance.serialize import Json, canceled, new_order, order
from app.api.binance.symbols import check_filters, index_of
from app.api.binance.wire import json_response
from app.engine.errors import ExchangeError, InvalidOrder, OrderImmediatelyFillable, OrderNotFound
from app.engine.exchange import Exchange
from app.engine.models import Order
from app.store.records import MarketRecord

V3 = "/api/v3"
BOTH_IDS = "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"


def engine_refusal(exc: InvalidOrder) -> BinanceError | None:
    """An engine refusal of an order as Binance's filter failure, when it is one."""
    if isinstance(exc, OrderImmediatelyFillable | OrderNotFound):
        return None
    text = exc.message
    if "notional" in text or "value rounds to 0" in text:
        return filter_failure("NOTIONAL")
    if text.startswith("amount"):
        return filter_failure("LOT_SIZE")
    if text.startswith("price"):
        return filter_failure("PRICE_FILTER")
    return None


async def _checked(request: Request[Any, Any, Any], ex: Exchange, req: NewOrder) -> MarketRecord:
    index = index_of(request.app.state)
    market = await index.get(ex, req.name)
    check_filters(market, index.limits(market), req.quantity, req.price)
    if req.stop_price is not None:
        check_filters(market, index.limits(market), None, req.stop_price)  # a stop price is a price too
    return market


async def place(request: Request[Any, Any, Any], ex: Exchange, req: NewOrder) -> Order:
    market = await _checked(request, ex, req)
    try:
        return await ex.create_order(market.sym, req.side, **req.engine_args())  # type: ignore[arg-type]
    except OrderImmediatelyFillable:
        if req.trigger:
            raise BinanceError(-2010, WOULD_TRIGGER) from None
        raise
    except InvalidOrder as exc:
        raise engine_refusal(exc) or exc from None


@post(f"{V3}/order", opt={"weight": 1, "order": True})
async def create(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    req = parse_new_order(params)
    return json_response(new_order(await place(request, ex, req), req.resp_type))


def commission_rates(ex: Exchange) -> Json:
    fees = ex.orders.fees
    return {"maker": format(fees.maker, "f"), "taker": format(fees.taker, "f"), "buyer": "0.00000000",
            "seller": "0.00000000"}  # fmt: skip


@post(f"{V3}/order/test", opt={"weight": 1})
async def test_order(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Checks the order as ``POST order`` would, and places nothing: ``{}`` (or the commission rates)."""
    params = await Params.of(request)
    ex = await authenticate(request, params)
    req = parse_new_order(params)
    market = await _checked(request, ex, req)
    verdict = await ex.can_execute(market.sym, req.side, **req.engine_args())  # type: ignore[arg-type]
    if not verdict.ok and verdict.code is not None:
        refused = ExchangeError(verdict.reason or "", verdict.code)
        raise _from_verdict(refused) or domain_error(refused)
    if not params.flag("computeCommissionRates"):
        return json_response({})
    rates = commission_rates(ex)
    zero = {"maker": "0.00000000", "taker": "0.00000000"}
    return json_response(
        {
            "standardCommissionForOrder": {"maker": rates["maker"], "taker": rates["taker"]},
            "specialCommissionForOrder": zero,
            "taxCommissionForOrder": zero,
            "discount": {"enabledForAccount": False, "enabledForSymbol": False, "discountAsset": "BNB",
                         "discount": "0.00000000"},
        }
    )  # fmt: skip


def _from_verdict(error: ExchangeError) -> BinanceError | None:
    if error.code.value == "invalid_order":
        return engine_refusal(InvalidOrder(error.message))
    return None


async def find(ex: Exchange, params: Params, name: str) -> Order:
    """The order named by ``orderId`` or ``origClientOrderId`` on the symbol ``name`` (OrderNotFound if none)."""
    order_id = params.integer("orderId")
    client_id = params.text("origClientOrderId")
    if order_id is None and client_id is None:
        raise BinanceError(-1102, BOTH_IDS)
    found = await ex.fetch_order(str(order_id) if order_id is not None else str(client_id))
    if found.symbol.replace("/", "") != name or (client_id is not None and found.client_order_id != client_id):
        raise OrderNotFound("not this symbol's order")
    return found


@get(f"{V3}/order", opt={"weight": 4})
async def query(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    name = params.symbol()
    assert name is not None
    await index_of(request.app.state).get(ex, name)
    return json_response(order(await find(ex, params, name)))


async def cancel(ex: Exchange, params: Params, name: str, *, id_prefix: str = "") -> Json:
    """Cancel the order ``params`` name; -2011 ``Unknown order sent.`` when it is unknown or not open."""
    try:
        target = await find(ex, params, name)
        done = await ex.cancel_order(target.id)
    except OrderNotFound:
        raise BinanceError(-2011, UNKNOWN_ORDER) from None
    cid = params.client_id(id_prefix + "newClientOrderId") or new_client_id()
    return canceled(done, target.client_order_id, cid)


@delete(f"{V3}/order", opt={"weight": 1}, status_code=200)
async def cancel_order(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    name = params.symbol()
    assert name is not None
    await index_of(request.app.state).get(ex, name)
    return json_response(await cancel(ex, params, name))


class _CancelParams(Params):
    """The cancel half of a cancel-replace: ``cancelOrderId`` / ``cancelOrigClientOrderId`` as the ids."""

    def __init__(self, source: Params) -> None:
        super().__init__("", "")
        self.values = {k: v for k, v in source.values.items() if k != "orderId"}
        if "cancelOrderId" in source:
            self.values["orderId"] = source.values["cancelOrderId"]
        if "cancelOrigClientOrderId" in source:
            self.values["origClientOrderId"] = source.values["cancelOrigClientOrderId"]
        self.values.pop("newClientOrderId", None)
        if "cancelNewClientOrderId" in source:
            self.values["newClientOrderId"] = source.values["cancelNewClientOrderId"]


REPLACE_MODES = ("STOP_ON_FAILURE", "ALLOW_FAILURE")
BAD_MODE = "Data sent for parameter 'cancelReplaceMode' is not valid."
REPLACE_FAILED = "Order cancel-replace failed."
REPLACE_PARTIAL = "Order cancel-replace partially failed."


def _failure(code: int, msg: str, cancel: str, new: str, cancel_body: Json, new_body: Json | None) -> BinanceError:
    error = BinanceError(code, msg)
    error.data = {"cancelResult": cancel, "newOrderResult": new, "cancelResponse": cancel_body,
                  "newOrderResponse": new_body}  # fmt: skip
    return error


@post(f"{V3}/order/cancelReplace", opt={"weight": 1, "order": True})
async def cancel_replace(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Cancel an order and place a new one (STOP_ON_FAILURE: no new order if the cancel fails)."""
    params = await Params.of(request)
    ex = await authenticate(request, params)
    mode = params.choice("cancelReplaceMode", REPLACE_MODES, -1130, BAD_MODE, required=True)
    req = parse_new_order(params)
    await index_of(request.app.state).get(ex, req.name)
    cancel_result: Json
    cancel_ok = True
    try:
        cancel_result = await cancel(ex, _CancelParams(params), req.name)
    except BinanceError as exc:
        cancel_ok, cancel_result = False, {"code": exc.code, "msg": exc.msg}
        if mode == "STOP_ON_FAILURE":
            raise _failure(-2022, REPLACE_FAILED, "FAILURE", "NOT_ATTEMPTED", cancel_result, None) from None
    try:
        placed = new_order(await place(request, ex, req), req.resp_type)
    except BinanceError as exc:
        failed = {"code": exc.code, "msg": exc.msg}
    except ExchangeError as exc:
        failed = _engine_failure(exc)
    else:
        return json_response({"cancelResult": "SUCCESS" if cancel_ok else "FAILURE", "newOrderResult": "SUCCESS",
                              "cancelResponse": cancel_result, "newOrderResponse": placed})  # fmt: skip
    if cancel_ok:
        raise _failure(-2021, REPLACE_PARTIAL, "SUCCESS", "FAILURE", cancel_result, failed)
    raise _failure(-2022, REPLACE_FAILED, "FAILURE", "FAILURE", cancel_result, failed)


def _engine_failure(exc: ExchangeError) -> Json:
    """An engine refusal as the ``{code, msg}`` Binance would answer with."""
    refusal = (engine_refusal(exc) if isinstance(exc, InvalidOrder) else None) or domain_error(exc)
    return {"code": refusal.code, "msg": refusal.msg}


async def open_orders_of(ex: Exchange, symbol: str | None) -> list[Order]:
    found: list[Order] = []
    from_id: int | None = 0
    while from_id is not None:
        page = await ex.fetch_orders_page(status="open", symbol=symbol, from_id=from_id, limit=1000)
        found.extend(page.items)
        from_id = int(page.next.from_id) if page.next is not None and page.next.from_id is not None else None
    return found


@get(f"{V3}/openOrders", opt={"weight": 6})
async def open_orders(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    name = params.symbol(required=False)
    symbol = (await index_of(request.app.state).get(ex, name)).sym if name is not None else None
    return json_response([order(o) for o in await open_orders_of(ex, symbol)])


@delete(f"{V3}/openOrders", opt={"weight": 1}, status_code=200)
async def cancel_open_orders(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    name = params.symbol()
    assert name is not None
    symbol = (await index_of(request.app.state).get(ex, name)).sym
    done = []
    for o in await open_orders_of(ex, symbol):
        try:
            done.append(canceled(await ex.cancel_order(o.id), o.client_order_id, new_client_id()))
        except OrderNotFound:  # filled or canceled meanwhile
            continue
    if not done:
        raise BinanceError(-2011, UNKNOWN_ORDER)
    return json_response(done)


@get(f"{V3}/allOrders", opt={"weight": 20})
async def all_orders(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The symbol's orders, oldest first: from ``orderId`` on, or in [``startTime``, ``endTime``], else the newest."""
    params = await Params.of(request)
    ex = await authenticate(request, params)
    name = params.symbol()
    assert name is not None
    symbol = (await index_of(request.app.state).get(ex, name)).sym
    rows = await ex.fetch_orders(
        symbol=symbol, from_id=params.integer("orderId"), since=params.integer("startTime"),
        until=params.integer("endTime"), limit=params.limit(500, 1000),
    )  # fmt: skip
    return json_response([order(o) for o in rows])


HANDLERS = [create, test_order, query, cancel_order, cancel_replace, open_orders, cancel_open_orders, all_orders]
