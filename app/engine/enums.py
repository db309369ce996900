"""The engine's closed vocabularies, each written once: sides, order types, time in force, statuses, roles.

Values are the engine's own words (lowercase, as stored in the records); each dialect maps them to its
wire spelling (the native API happens to use the same words, as ccxt does).
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    GTC = "GTC"  # good till canceled
    IOC = "IOC"  # immediate or cancel: what cannot fill at once expires
    FOK = "FOK"  # fill or kill: all at once, or nothing
    PO = "PO"  # post-only: refused if it would take


class TriggerKind(StrEnum):
    """What a stop order waits for (Binance spot's semantics; a buy mirrors a sell)."""

    STOP_LOSS = "sl"  # a sell triggers when the last price falls to or below its trigger, a buy when it rises
    TAKE_PROFIT = "tp"  # a sell triggers when the last price rises to or above its trigger, a buy when it falls


class OrderStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class Role(StrEnum):
    """Whether a fill added liquidity (maker: a resting order) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


#: Older and alternative spellings of a status that the engine accepts in filters.
STATUS_ALIASES: dict[str, OrderStatus] = {
    "new": OrderStatus.OPEN,
    "partially_filled": OrderStatus.OPEN,
    "filled": OrderStatus.CLOSED,
    "cancelled": OrderStatus.CANCELED,
}


def choices(enum: type[StrEnum]) -> str:
    """The values of ``enum`` for a message: ``'buy' or 'sell'``, ``GTC, IOC, FOK or PO``."""
    values = [str(v) for v in enum]
    quoted = [f"'{v}'" for v in values] if all(v.islower() for v in values) else values
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]
