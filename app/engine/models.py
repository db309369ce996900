"""ccxt's unified structures (Order, Trade, Balance, Ticker, Market) as msgspec structs.

Numbers are ``Decimal`` and leave as JSON numbers that print exactly (``0.3``, never
``0.30000000000000004``): encode with :data:`json_encoder`. The invariants ccxt derives are served
consistent: ``filled + remaining == amount``, ``cost`` is the sum of the trade costs and
``average == cost / filled``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import msgspec

from app.engine.money import CTX, from_minor, tidy
from app.store.records import MarketRecord, OrderRecord, TradeRecord

OrderStatus = Literal["open", "closed", "canceled", "expired", "rejected"]
Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]
TimeInForce = Literal["GTC", "IOC", "FOK", "PO"]

json_encoder = msgspec.json.Encoder(decimal_format="number")

# A Decimal below 0.000001 prints in exponent form (``3E-8``): a valid, exact JSON number, but not what a
# person reading money expects. Numbers in exponent form only ever come from Decimals (MockX writes no
# floats, and integers never take that form), so they are rewritten as plain decimals.
_EXPONENT = re.compile(rb"(?<=[:,\[])-?\d+(?:\.\d+)?E[+-]?\d+(?=[,\]}])")


def _plain_number(match: re.Match[bytes]) -> bytes:
    return format(Decimal(match.group(0).decode()), "f").encode()


def encode_json(obj: Any) -> bytes:
    """JSON for clients: every number exact and plain (``0.3``, ``0.00000003``), never a float artefact."""
    out = json_encoder.encode(obj)
    if b"E-" in out or b"E+" in out:
        out = _EXPONENT.sub(_plain_number, out)
    return out


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


def _ms(value: str) -> int | None:
    return int(value) if value else None


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

    @classmethod
    def from_record(cls, t: TradeRecord) -> Trade:
        fee = Fee(currency=t.fcur, cost=from_minor(t.fee), rate=tidy(Decimal(t.rate)))
        ts = int(t.ts)
        return cls(
            id=t.id,
            order=t.oid,
            timestamp=ts,
            datetime=iso8601(ts),
            symbol=t.sym,
            type=t.type,
            side=t.side,
            takerOrMaker=t.role,
            price=tidy(Decimal(t.px)),
            amount=from_minor(t.amt),
            cost=from_minor(t.cost),
            fee=fee,
            fees=[fee],
        )


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

    @classmethod
    def from_record(cls, o: OrderRecord, trade: TradeRecord | None = None) -> Order:
        amount, filled, cost = from_minor(o.amt), from_minor(o.filled), from_minor(o.cost)
        fee = Fee(currency=o.fcur, cost=from_minor(o.fee), rate=tidy(Decimal(o.rate)))
        average = tidy(CTX.divide(cost, filled)) if filled else None
        if o.px:
            price: Decimal | None = tidy(Decimal(o.px))
        else:  # a market order: ccxt reports the price it filled at
            price = tidy(Decimal(o.fpx)) if o.fpx else None
        ts = int(o.ts) if o.ts else 0
        return cls(
            id=o.id,
            clientOrderId=o.cid or None,
            timestamp=ts,
            datetime=iso8601(ts),
            lastTradeTimestamp=_ms(o.tts),
            lastUpdateTimestamp=_ms(o.uts),
            status=o.st,
            symbol=o.sym,
            type=o.type,
            timeInForce=o.tif,
            side=o.side,
            price=price,
            average=average,
            amount=amount,
            filled=filled,
            remaining=tidy(amount - filled),
            cost=cost,
            trades=[Trade.from_record(trade)] if trade is not None else [],
            fee=fee,
            fees=[fee],
            postOnly=o.tif == "PO",
            reduceOnly=False,
        )


class BalanceRow(msgspec.Struct, frozen=True):
    free: Decimal
    used: Decimal
    total: Decimal


class Balance(msgspec.Struct, frozen=True):
    """A whole account. :meth:`to_ccxt` gives ccxt's shape: free/used/total maps plus a row per asset."""

    timestamp: int
    rows: dict[str, BalanceRow]

    def to_ccxt(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "timestamp": self.timestamp,
            "datetime": iso8601(self.timestamp),
            "free": {a: r.free for a, r in self.rows.items()},
            "used": {a: r.used for a, r in self.rows.items()},
            "total": {a: r.total for a, r in self.rows.items()},
        }
        out.update(self.rows)
        return out


class Ticker(msgspec.Struct, frozen=True):
    symbol: str
    timestamp: int
    datetime: str | None
    high: Decimal | None
    low: Decimal | None
    bid: Decimal | None
    bidVolume: Decimal | None
    ask: Decimal | None
    askVolume: Decimal | None
    vwap: Decimal | None
    open: Decimal | None
    close: Decimal
    last: Decimal
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

    @classmethod
    def from_record(cls, m: MarketRecord, fee_rate: Decimal, max_units: Decimal) -> Market:
        quantum = from_minor(1)
        return cls(
            id=m.base + m.quote,
            symbol=m.sym,
            base=m.base,
            quote=m.quote,
            baseId=m.base,
            quoteId=m.quote,
            active=True,
            type="spot",
            spot=True,
            margin=False,
            swap=False,
            future=False,
            option=False,
            contract=False,
            taker=fee_rate,
            maker=fee_rate,
            percentage=True,
            tierBased=False,
            feeSide="quote",
            precision=MarketPrecision(
                amount=tidy(Decimal(m.step)), price=tidy(Decimal(m.tick)), base=quantum, quote=quantum
            ),
            limits=MarketLimits(
                amount=MinMax(min=tidy(Decimal(m.min_amt)), max=max_units),
                price=MinMax(min=tidy(Decimal(m.tick)), max=max_units),
                cost=MinMax(min=tidy(Decimal(m.min_cost)) or None, max=max_units),
            ),
        )


class CanExecute(msgspec.Struct, frozen=True):
    """The answer of a dry run: would this order be accepted, and if not, why."""

    ok: bool
    reason: str | None = None
    code: str | None = None
