"""Order planning: check an order against its market and price it against the book, without any I/O.

:func:`parse_order` checks the caller's words; :func:`plan` decides what ``place_order.lua`` must do — fill
now as a taker, rest with a reservation, or expire — with one planner per order type (:data:`PLANNERS`),
so a new type is one more function. Every amount is exact: costs are rounded half-even to the minor unit,
fees rounded up (:mod:`app.engine.money`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from app.engine import markets as mk
from app.engine.enums import OrderType, Side, TimeInForce, TriggerKind
from app.engine.errors import BadRequest, InvalidOrder, OrderImmediatelyFillable
from app.engine.inputs import CLIENT_ID, minor, positive, word
from app.engine.models import FeeSchedule
from app.engine.money import (
    CTX,
    MAX_MINOR,
    MAX_UNITS,
    MoneyError,
    fee_for,
    from_minor,
    is_multiple,
    plain,
    price_str,
    round_cost,
    tidy,
)
from app.store.protocol import Guard, PlaceMode
from app.store.records import MarketRecord, OrderRecord

Fees = FeeSchedule


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order as the caller asked for it, its words checked (the symbol not yet resolved)."""

    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    amount: Decimal
    price: object  # as given; a limit planner parses it against the market's tick
    client_order_id: str
    cost: Decimal | None = None  # a market order by quote amount: the most it may cost (amount follows)
    trigger: tuple[TriggerKind, Decimal] | None = None  # a stop-loss / take-profit order and its trigger price


@dataclass(frozen=True, slots=True)
class Quote:
    """The prices an order is planned against (``last`` is never None once a symbol has a price)."""

    last: Decimal
    bid: Decimal | None
    ask: Decimal | None

    def touch(self, side: Side) -> Decimal:
        """Where a taker fills: the ask for a buy, the bid for a sell, else the last price."""
        return (self.ask or self.last) if side is Side.BUY else (self.bid or self.last)


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """What Python decided for an order, ready for ``place_order.lua``."""

    symbol: str
    side: Side
    mode: PlaceMode
    record: OrderRecord
    debit_asset: str
    debit: int
    credit_asset: str = ""
    credit: int = 0
    guard: Guard = Guard.NONE
    fill: tuple[str, int, int] = ("", 0, 0)


def parse_order(
    symbol: str,
    side: str,
    type: str | None,
    amount: object,
    price: object,
    client_order_id: str | None,
    time_in_force: str | None,
    cost: object = None,
    triggers: dict[str, object] | None = None,
) -> OrderRequest:
    """Check the words of an order; raise BadRequest / InvalidOrder naming the first problem.

    ``triggers`` holds what the caller gave of ``triggerPrice`` (a stop-loss), ``stopLossPrice`` and
    ``takeProfitPrice``: at most one makes the order a stop order."""
    trigger = parse_trigger(triggers or {})
    if trigger is not None and cost is not None:
        raise BadRequest("a stop-loss or take-profit order takes an amount, not cost")
    req = _parse_plain(symbol, side, type, amount, price, client_order_id, time_in_force, cost)
    return replace(req, trigger=trigger) if trigger is not None else req


def parse_trigger(given: dict[str, object]) -> tuple[TriggerKind, Decimal] | None:
    """The stop order ``given`` asks for, from ccxt's unified params; None for a plain order."""
    named = [(name, value) for name, value in given.items() if value is not None]
    if not named:
        return None
    if len(named) > 1 or named[0][0] not in TRIGGER_PARAMS:
        raise BadRequest(f"give at most one of {', '.join(TRIGGER_PARAMS)}, got {', '.join(n for n, _ in named)}")
    name, value = named[0]
    return TRIGGER_PARAMS[name], positive(value, name, out_of_range=InvalidOrder)


#: ccxt's unified trigger params and the stop order each makes (``triggerPrice``: a stop-loss, as ccxt's
#: Binance spot mapping sends STOP_LOSS / STOP_LOSS_LIMIT).
TRIGGER_PARAMS = {
    "triggerPrice": TriggerKind.STOP_LOSS,
    "stopLossPrice": TriggerKind.STOP_LOSS,
    "takeProfitPrice": TriggerKind.TAKE_PROFIT,
}


def _parse_plain(
    symbol: str,
    side: str,
    type: str | None,
    amount: object,
    price: object,
    client_order_id: str | None,
    time_in_force: str | None,
    cost: object,
) -> OrderRequest:
    side_ = word(Side, "side", str(side).strip().lower())
    type_ = word(OrderType, "type", str(type or "market").strip().lower())
    tif = word(TimeInForce, "timeInForce", (time_in_force or "GTC").strip().upper(), time_in_force)
    if type_ is OrderType.MARKET and tif is TimeInForce.PO:
        raise InvalidOrder("a market order cannot be post-only")
    cid = client_order_id or ""
    if cid and not CLIENT_ID.fullmatch(cid):
        raise BadRequest("clientOrderId must be 1-36 characters of letters, digits and . : / _ -")
    if type_ is OrderType.MARKET and price is not None:
        raise BadRequest("a market order takes no price: omit it, or set type to 'limit' for a limit order")
    if cost is not None:
        if type_ is not OrderType.MARKET:
            raise BadRequest("cost (the quote amount to spend) is for market orders only: give a limit order an amount")
        if amount is not None:
            raise BadRequest("give amount or cost, not both")
        spend = positive(cost, "cost", out_of_range=InvalidOrder)
        return OrderRequest(str(symbol), side_, type_, tif, Decimal(0), price, cid, spend)
    if amount is None:
        raise BadRequest("amount is required")
    return OrderRequest(str(symbol), side_, type_, tif, positive(amount, out_of_range=InvalidOrder), price, cid)


def plan(req: OrderRequest, symbol: str, market: MarketRecord, quote: Quote, fees: FeeSchedule) -> OrderPlan:
    """Price ``req`` (its symbol resolved to ``symbol``) against ``quote`` on ``market``."""
    if req.cost is not None:
        req = replace(req, amount=_amount_for_cost(req.cost, quote.touch(req.side), market))
    _check_amount(req.amount, market)
    record = OrderRecord(
        sym=symbol, base=market.base, quote=market.quote, side=req.side, type=req.type, tif=req.time_in_force,
        amt=str(minor(req.amount, "amount")), rate=price_str(fees.taker), fcur=market.quote, cid=req.client_order_id,
    )  # fmt: skip
    if req.cost is not None:
        record.qq = str(minor(req.cost, "cost"))
    if req.trigger is not None:
        return _plan_trigger(req, record, market, quote, fees)
    return PLANNERS[req.type](req, record, market, quote, fees)


def _amount_for_cost(cost: Decimal, price: Decimal, market: MarketRecord) -> Decimal:
    """The largest multiple of the amount step whose cost at ``price`` (rounded as a fill's) is at most
    ``cost``: a market order by quote amount spends at most ``cost``, less than one step below it."""
    budget, step = minor(cost, "cost"), Decimal(market.step)
    amount = CTX.multiply(CTX.divide_int(CTX.divide(cost, price), step), step)
    while amount > 0 and round_cost(price, amount) > budget:  # the cost's rounding went up: one step less
        amount -= step
    if amount <= 0 or amount < Decimal(market.min_amt):
        raise InvalidOrder(
            f"cost {plain(cost)} {market.quote} buys less than the minimum amount {market.min_amt} of "
            f"{market.sym} at {price_str(price)}"
        )
    return tidy(amount)


def _plan_market(req: OrderRequest, record: OrderRecord, market: MarketRecord, quote: Quote, fees: Fees) -> OrderPlan:
    return _taker(req, record, market, quote.touch(req.side), fees)


def _price(value: object, market: MarketRecord, what: str = "price") -> Decimal:
    """A limit or trigger price: positive, on the market's price tick, within range."""
    price = positive(value, what, out_of_range=InvalidOrder)  # malformed or not positive: BadRequest
    try:
        mk.validate_price(price, market)
    except MoneyError as exc:
        raise InvalidOrder(str(exc).replace("price", what, 1) if what != "price" else str(exc)) from None
    if price > MAX_UNITS:
        raise InvalidOrder(f"{what} {price_str(price)} is above the largest supported value {MAX_UNITS}")
    return price


def _plan_limit(req: OrderRequest, record: OrderRecord, market: MarketRecord, quote: Quote, fees: Fees) -> OrderPlan:
    if req.price is None:
        raise BadRequest("price is required for a limit order")
    limit = _price(req.price, market)
    record.px = price_str(limit)
    buy = req.side is Side.BUY
    touch = quote.touch(req.side)
    if limit >= touch if buy else limit <= touch:  # marketable: takes at the touch
        if req.time_in_force is TimeInForce.PO:
            raise OrderImmediatelyFillable(
                f"post-only {req.side} at {price_str(limit)} would fill at once against "
                f"{'ask' if buy else 'bid'} {price_str(touch)}"
            )
        return _taker(req, record, market, touch, fees)
    return _maker(req, record, market, limit, fees)


#: One planner per order type.
PLANNERS: dict[OrderType, Callable[[OrderRequest, OrderRecord, MarketRecord, Quote, Fees], OrderPlan]] = {
    OrderType.MARKET: _plan_market,
    OrderType.LIMIT: _plan_limit,
}


def _fee(record: OrderRecord, cost: int, rate: Decimal, fees: Fees) -> int:
    """The fee of a fill of ``record`` costing ``cost`` at ``rate``, in the asset FEE_ASSET says (set as its
    ``fcur``): the quote asset, or with ``received`` the asset the fill delivers (a buy's base)."""
    record.rate = price_str(rate)
    if fees.asset == "received" and record.side == Side.BUY:
        record.fcur = record.base
        return fee_for(int(record.amt), rate)
    record.fcur = record.quote
    return fee_for(cost, rate)


def _taker(req: OrderRequest, record: OrderRecord, market: MarketRecord, touch: Decimal, fees: Fees) -> OrderPlan:
    """Fill now at ``touch``: a buy pays cost + fee in the quote (or, fee in base, receives amount - fee), a
    sell receives cost - fee."""
    cost = round_cost(touch, req.amount)
    _check_notional(cost, market)
    fee = _fee(record, cost, fees.taker, fees)
    fill = (price_str(touch), cost, fee)
    amt, sym, now = int(record.amt), record.sym, PlaceMode.FILL
    if req.side is Side.BUY and record.fcur == market.base:
        return OrderPlan(sym, req.side, now, record, market.quote, cost, market.base, amt - fee, fill=fill)
    if req.side is Side.BUY:
        return OrderPlan(sym, req.side, now, record, market.quote, cost + fee, market.base, amt, fill=fill)
    return OrderPlan(sym, req.side, now, record, market.base, amt, market.quote, cost - fee, fill=fill)


def _plan_trigger(req: OrderRequest, record: OrderRecord, market: MarketRecord, quote: Quote, fees: Fees) -> OrderPlan:
    """A stop-loss / take-profit waits in its trigger index with its funds reserved; a trigger the last price
    has reached already is refused. Its fill is priced now: a limit stop at its limit (a maker fill once
    triggered), a market stop at its trigger price (a taker fill, on the tick that triggers it)."""
    assert req.trigger is not None
    kind, raw = req.trigger
    trigger = _price(raw, market, "triggerPrice")
    up = (kind is TriggerKind.STOP_LOSS) == (req.side is Side.BUY)  # triggers when the price rises to it
    if quote.last >= trigger if up else quote.last <= trigger:
        raise OrderImmediatelyFillable(
            f"Stop price would trigger immediately: the last price {price_str(quote.last)} is already at or "
            f"{'above' if up else 'below'} the trigger {price_str(trigger)}"
        )
    record.tk, record.tpx, record.tdir = kind, price_str(trigger), "up" if up else "down"
    if req.type is OrderType.LIMIT:
        if req.price is None:
            raise BadRequest("price is required for a limit order")
        limit = _price(req.price, market)
        record.px = price_str(limit)
        waiting = _reserve(req, record, market, limit, fees, fees.maker)
    else:
        waiting = _reserve(req, record, market, trigger, fees, fees.taker)
    return replace(waiting, mode=PlaceMode.TRIGGER, guard=Guard.LAST_BELOW if up else Guard.LAST_ABOVE)


def _maker(req: OrderRequest, record: OrderRecord, market: MarketRecord, limit: Decimal, fees: Fees) -> OrderPlan:
    """Rest at ``limit`` (reserving what its fill will take), or expire if it may not rest (IOC, FOK)."""
    rest = _reserve(req, record, market, limit, fees, fees.maker)
    if req.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        return OrderPlan(record.sym, req.side, PlaceMode.EXPIRE, record, rest.debit_asset, 0)
    return rest


def _reserve(
    req: OrderRequest, record: OrderRecord, market: MarketRecord, price: Decimal, fees: Fees, rate: Decimal
) -> OrderPlan:
    """Price the order's one fill at ``price`` and ``rate`` and reserve what it will take."""
    cost = round_cost(price, req.amount)
    _check_notional(cost, market)
    if cost > MAX_MINOR:
        raise InvalidOrder(f"the order's value exceeds the largest supported value {plain(MAX_UNITS)}")
    fee = _fee(record, cost, rate, fees)
    record.mc, record.mf = str(cost), str(fee)
    buy = req.side is Side.BUY
    if buy:
        base_fee = record.fcur == market.base
        record.ra, record.ca = market.quote, market.base
        record.cr = str(int(record.amt) - fee) if base_fee else record.amt
        debit = cost if base_fee else cost + fee
        return OrderPlan(record.sym, req.side, PlaceMode.REST, record, market.quote, debit, guard=Guard.ASK_ABOVE)
    record.ra, record.ca, record.cr = market.base, market.quote, str(cost - fee)
    return OrderPlan(record.sym, req.side, PlaceMode.REST, record, market.base, int(record.amt), guard=Guard.BID_BELOW)


def _check_amount(amount: Decimal, market: MarketRecord) -> None:
    step, minimum = Decimal(market.step), Decimal(market.min_amt)
    if amount > MAX_UNITS:
        raise InvalidOrder(f"amount {price_str(amount)} is above the largest supported value {MAX_UNITS}")
    if not is_multiple(amount, step):
        raise InvalidOrder(
            f"amount {price_str(amount)} is not a multiple of the amount step {market.step} of {market.sym}"
        )
    if amount < minimum:
        raise InvalidOrder(f"amount {price_str(amount)} is below the minimum {market.min_amt} of {market.sym}")


def _check_notional(cost_minor: int, market: MarketRecord) -> None:
    if cost_minor <= 0:
        raise InvalidOrder(
            f"the order's value rounds to 0 {market.quote} (below 0.00000001): increase the amount or the price"
        )
    minimum = Decimal(market.min_cost)
    if minimum and from_minor(cost_minor) < minimum:
        raise InvalidOrder(
            f"order value {plain(from_minor(cost_minor))} {market.quote} is below the minimum notional "
            f"{market.min_cost} {market.quote} of {market.sym}"
        )


@dataclass(frozen=True, slots=True)
class OcoPlan:
    """An OCO order list as Python priced it: its limit leg and its stop-loss leg, for ``place_oco.lua``."""

    limit: OrderPlan
    stop: OrderPlan


def plan_oco(limit: OrderPlan, stop: OrderPlan) -> OcoPlan:
    """Check that the two legs planned make an OCO list: a limit that rests and a stop that waits, one side."""
    if limit.mode is not PlaceMode.REST:
        raise InvalidOrder(
            "the limit leg of an OCO must rest: a sell's limit above the bid, a buy's below the ask "
            "(this one would fill at once)"
        )
    if stop.mode is not PlaceMode.TRIGGER or stop.record.tk != TriggerKind.STOP_LOSS:
        raise InvalidOrder("the other leg of an OCO is a stop-loss: give stopPrice")  # pragma: no cover
    return OcoPlan(limit, stop)
