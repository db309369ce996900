"""The native dialect's wire shapes: ccxt's unified structures, built from the engine's domain structs.

Field names and meanings are ccxt's (``clientOrderId``, ``takerOrMaker``, ``datetime``...); numbers stay
``Decimal`` and leave as exact JSON numbers (:func:`app.api.common.codec.encode_json`). Nothing here
knows Valkey: every function maps one domain struct to its ccxt twin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from app.api.common.codec import encode_json
from app.api.native.errors import CCXT
from app.engine import events as ev
from app.engine import models as m
from app.engine.enums import TimeInForce
from app.engine.money import CTX, tidy

_second: tuple[int, str] = (0, "1970-01-01T00:00:00.")  # the last second formatted, and its text


def iso8601(ms: int | None) -> str | None:
    """ccxt's datetime: ISO 8601 with milliseconds, UTC, ``Z`` suffix."""
    global _second
    if ms is None:
        return None
    second, milli = divmod(ms, 1000)
    if second != _second[0]:  # strftime is the slow part; orders and fills mostly share a second
        _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S."))
    return f"{_second[1]}{milli:03d}Z"


class Fee(msgspec.Struct, frozen=True):
    currency: str
    cost: Decimal
    rate: Decimal


class Trade(msgspec.Struct, frozen=True):
    id: str
    order: str
    timestamp: int
    datetime: str | None
    symbol: str
    type: str
    side: str
    takerOrMaker: str
    price: Decimal
    amount: Decimal
    cost: Decimal
    fee: Fee
    fees: list[Fee]


class Order(msgspec.Struct, frozen=True):
    id: str
    clientOrderId: str | None
    timestamp: int
    datetime: str | None
    lastTradeTimestamp: int | None
    lastUpdateTimestamp: int | None
    status: str
    symbol: str
    type: str
    timeInForce: str
    side: str
    price: Decimal | None
    average: Decimal | None
    amount: Decimal
    filled: Decimal
    remaining: Decimal
    cost: Decimal
    trades: list[Trade]
    fee: Fee
    fees: list[Fee]
    postOnly: bool
    reduceOnly: bool
    triggerPrice: Decimal | None = None
    stopPrice: Decimal | None = None
    takeProfitPrice: Decimal | None = None
    stopLossPrice: Decimal | None = None


class OrderList(msgspec.Struct, frozen=True):
    """An OCO order list: its id (its limit leg's id), symbol and both legs as ccxt orders."""

    id: str
    symbol: str
    orders: list[Order]


class Ticker(msgspec.Struct, frozen=True):
    symbol: str
    timestamp: int | None
    datetime: str | None
    high: Decimal | None
    low: Decimal | None
    bid: Decimal | None
    bidVolume: Decimal | None
    ask: Decimal | None
    askVolume: Decimal | None
    vwap: Decimal | None
    open: Decimal | None
    close: Decimal | None
    last: Decimal | None
    previousClose: Decimal | None
    change: Decimal | None
    percentage: Decimal | None
    average: Decimal | None
    baseVolume: Decimal | None
    quoteVolume: Decimal | None


class MinMax(msgspec.Struct, frozen=True):
    min: Decimal | None
    max: Decimal | None


class MarketPrecision(msgspec.Struct, frozen=True):
    amount: Decimal
    price: Decimal
    base: Decimal
    quote: Decimal


class MarketLimits(msgspec.Struct, frozen=True):
    amount: MinMax
    price: MinMax
    cost: MinMax


class Market(msgspec.Struct, frozen=True):
    id: str
    symbol: str
    base: str
    quote: str
    baseId: str
    quoteId: str
    active: bool
    type: str
    spot: bool
    margin: bool
    swap: bool
    future: bool
    option: bool
    contract: bool
    taker: Decimal
    maker: Decimal
    percentage: bool
    tierBased: bool
    feeSide: str
    precision: MarketPrecision
    limits: MarketLimits


class TradingFee(msgspec.Struct, frozen=True):
    """ccxt's trading fee structure (``fetch_trading_fees``): the account's rates on one symbol."""

    symbol: str
    maker: Decimal
    taker: Decimal
    percentage: bool
    tierBased: bool
    feeSide: str


class OrderBook(msgspec.Struct, frozen=True):
    """ccxt's order book: bids falling, asks rising, ``[price, amount]`` each; ``nonce`` the update id."""

    symbol: str
    bids: list[list[Decimal]]  # [price, amount] pairs (a list: OpenAPI 3.1 has no fixed-length tuple here)
    asks: list[list[Decimal]]
    timestamp: int
    datetime: str | None
    nonce: int


class PublicTrade(msgspec.Struct, frozen=True):
    """ccxt's trade structure for a public trade: no order, no fee; ``side`` is the taker's."""

    id: str
    order: None
    timestamp: int
    datetime: str | None
    symbol: str
    type: None
    side: str
    takerOrMaker: str
    price: Decimal
    amount: Decimal
    cost: Decimal
    fee: None
    fees: list[Fee]


def order_book(b: m.OrderBook) -> OrderBook:
    return OrderBook(
        symbol=b.symbol,
        bids=[[price, amount] for price, amount in b.bids],
        asks=[[price, amount] for price, amount in b.asks],
        timestamp=b.timestamp,
        datetime=iso8601(b.timestamp),
        nonce=b.nonce,
    )


def public_trade(t: m.PublicTrade) -> PublicTrade:
    return PublicTrade(
        id=str(t.id),
        order=None,
        timestamp=t.timestamp,
        datetime=iso8601(t.timestamp),
        symbol=t.symbol,
        type=None,
        side=t.side,
        takerOrMaker="taker",
        price=t.price,
        amount=t.amount,
        cost=tidy(CTX.multiply(t.price, t.amount)),
        fee=None,
        fees=[],
    )


def fee(f: m.Fee) -> Fee:
    return Fee(currency=f.currency, cost=f.cost, rate=f.rate)


def trade(t: m.Trade) -> Trade:
    fee_ = fee(t.fee)
    return Trade(
        id=t.id,
        order=t.order_id,
        timestamp=t.timestamp,
        datetime=iso8601(t.timestamp),
        symbol=t.symbol,
        type=t.type,
        side=t.side,
        takerOrMaker=t.role,
        price=t.price,
        amount=t.amount,
        cost=t.cost,
        fee=fee_,
        fees=[fee_],
    )


def order(o: m.Order) -> Order:
    fee_ = fee(o.fee)
    return Order(
        id=o.id,
        clientOrderId=o.client_order_id,
        timestamp=o.timestamp,
        datetime=iso8601(o.timestamp),
        lastTradeTimestamp=o.last_trade_timestamp,
        lastUpdateTimestamp=o.last_update_timestamp,
        status=o.status,
        symbol=o.symbol,
        type=o.type,
        timeInForce=o.time_in_force,
        side=o.side,
        price=o.price,
        average=o.average,
        amount=o.amount,
        filled=o.filled,
        remaining=o.remaining,
        cost=o.cost,
        trades=[trade(t) for t in o.trades],
        fee=fee_,
        fees=[fee_],
        postOnly=o.time_in_force is TimeInForce.PO,
        reduceOnly=False,
        triggerPrice=o.trigger_price,
        stopPrice=o.trigger_price,
        takeProfitPrice=o.take_profit_price,
        stopLossPrice=o.stop_loss_price,
    )


def order_list(ol: m.OrderList) -> OrderList:
    return OrderList(id=ol.id, symbol=ol.symbol, orders=[order(o) for o in ol.orders])


def ticker(t: m.Ticker) -> Ticker:
    return Ticker(
        symbol=t.symbol,
        timestamp=t.timestamp,
        datetime=iso8601(t.timestamp),
        high=t.high,
        low=t.low,
        bid=t.bid,
        bidVolume=t.bid_volume,
        ask=t.ask,
        askVolume=t.ask_volume,
        vwap=None,
        open=t.open,
        close=t.last,
        last=t.last,
        previousClose=None,
        change=t.change,
        percentage=t.percentage,
        average=t.average,
        baseVolume=t.base_volume,
        quoteVolume=t.quote_volume,
    )


# symbol -> (the domain ticker, the symbol's JSON key '"<symbol>":', the key and the ccxt ticker's JSON):
# the engine hands out the same ticker object until the symbol's ticker changes, so each is encoded once.
_encoded_tickers: dict[str, tuple[m.Ticker, bytes, bytes]] = {}


def tickers_json(tickers: dict[str, m.Ticker]) -> bytes:
    """The JSON object symbol -> ccxt ticker, each ticker encoded once per change (the same bytes as
    :func:`app.api.common.codec.encode_json` of ``{symbol: ticker(t)}``)."""
    parts = []
    for symbol, t in tickers.items():
        cached = _encoded_tickers.get(symbol)
        if cached is None or cached[0] is not t:
            key = cached[1] if cached is not None else encode_json(symbol) + b":"
            cached = _encoded_tickers[symbol] = (t, key, key + encode_json(ticker(t)))
        parts.append(cached[2])
    return b"{" + b",".join(parts) + b"}"


def market(mk: m.Market) -> Market:
    return Market(
        id=mk.base + mk.quote,
        symbol=mk.symbol,
        base=mk.base,
        quote=mk.quote,
        baseId=mk.base,
        quoteId=mk.quote,
        active=True,
        type="spot",
        spot=True,
        margin=False,
        swap=False,
        future=False,
        option=False,
        contract=False,
        taker=mk.taker_fee,
        maker=mk.maker_fee,
        percentage=True,
        tierBased=False,
        feeSide=mk.fee_side,
        precision=MarketPrecision(amount=mk.amount_step, price=mk.price_tick, base=mk.minor_unit, quote=mk.minor_unit),
        limits=MarketLimits(
            amount=MinMax(min=mk.min_amount, max=mk.max_value),
            price=MinMax(min=mk.price_tick, max=mk.max_value),
            cost=MinMax(min=mk.min_cost, max=mk.max_value),
        ),
    )


def trading_fee(f: m.TradingFee) -> TradingFee:
    return TradingFee(symbol=f.symbol, maker=f.maker, taker=f.taker, percentage=True, tierBased=False,
                      feeSide=f.fee_side)  # fmt: skip


def balance(b: m.Balance) -> dict[str, Any]:
    """ccxt's balance: ``free``/``used``/``total`` maps plus a row per asset."""
    out: dict[str, Any] = {
        "timestamp": b.timestamp,
        "datetime": iso8601(b.timestamp),
        "free": {a: r.free for a, r in b.rows.items()},
        "used": {a: r.used for a, r in b.rows.items()},
        "total": {a: r.total for a, r in b.rows.items()},
    }
    out.update(b.rows)
    return out


class CanExecute(msgspec.Struct, frozen=True):
    """The answer of a dry run: would this order be accepted, and if not, why (``code``: the ccxt error)."""

    ok: bool
    reason: str | None = None
    code: str | None = None


def can_execute(verdict: m.CanExecute) -> CanExecute:
    code = CCXT[verdict.code][0] if verdict.code is not None else None
    return CanExecute(ok=verdict.ok, reason=verdict.reason, code=code)


class Event(msgspec.Struct, frozen=True):
    """One event as native clients receive it: the event id, its type and a ccxt-shaped payload."""

    id: str
    type: str
    data: dict[str, Any]
    account: str | None = None  # the account it concerns; None for market data


def event(envelope: ev.Envelope) -> Event:
    """A domain event in the native wire shape (orders, trades, tickers, markets as ccxt structures)."""
    e = envelope.event
    data: dict[str, Any]
    match e:
        case ev.OrderCreated() | ev.OrderFilled() | ev.OrderCanceled() | ev.OrderExpired() | ev.OrderTriggered():
            data = {"order": order(e.order)}
            if e.trade is not None:
                data["trade"] = trade(e.trade)
        case ev.BalanceChanged():
            data = {"assets": e.assets}
            if e.flow is not None:
                data["flow"] = {"asset": e.flow.asset, "amount": e.flow.amount, "kind": e.flow.kind}
        case ev.TickerUpdated():
            data = {"ticker": ticker(e.ticker)}
        case ev.MarketCreated():
            data = {"market": market(e.market)}
        case ev.ExchangeReset():
            data = {}
    return Event(envelope.id, envelope.type, data, e.account)
