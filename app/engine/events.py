"""Every event MockX emits, as one tagged union: the only definition of each event type and its payload.

The Lua scripts write an event in the same step as the change it reports (``app/store/lua/lib/events.lua``):
an entry of the capped events stream with ``type`` and ``data`` (the stored records, see
:mod:`app.store.records`). :func:`decode` turns an entry into an :class:`Envelope` once per process; each
dialect then encodes the domain event into its own wire shape, and filters (type, symbol) run on it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from app.engine.models import BalanceRow, FeeSchedule, Market, Order, Ticker, Trade
from app.engine.money import from_minor, tidy
from app.store.records import (
    BalanceEventRecord,
    MarketEventRecord,
    OrderEventRecord,
    ResetEventRecord,
    TickerEventRecord,
)


class _Event(msgspec.Struct, frozen=True, tag_field="type"):
    @property
    def symbol(self) -> str | None:
        """The symbol the event concerns (None: not symbol-specific)."""
        return None

    @property
    def account(self) -> str | None:
        """The account the event concerns (None: market data, shared by every account)."""
        return None


class _OrderEvent(_Event, frozen=True):
    order: Order
    trade: Trade | None = None

    @property
    def symbol(self) -> str | None:
        return self.order.symbol

    @property
    def account(self) -> str | None:
        return self.order.account


class OrderCreated(_OrderEvent, frozen=True, tag="order.created"):
    """An order was accepted (a market order's fill follows as order.filled)."""


class OrderFilled(_OrderEvent, frozen=True, tag="order.filled"):
    """An order filled; ``trade`` is the fill."""


class OrderCanceled(_OrderEvent, frozen=True, tag="order.canceled"):
    """An open order was canceled and its reservation released."""


class OrderExpired(_OrderEvent, frozen=True, tag="order.expired"):
    """An IOC/FOK order that could not fill at once (or a triggered stop its time in force did not let rest)."""


class OrderTriggered(_OrderEvent, frozen=True, tag="order.triggered"):
    """A stop-loss / take-profit order's trigger was reached: it is now a limit or market order (its fill, or
    expiry, follows in the same transition)."""


class Flow(msgspec.Struct, frozen=True):
    """Money that came into an account or left it: a deposit (``amount`` > 0) or a withdrawal (< 0)."""

    asset: str
    amount: Decimal
    kind: str  # deposit | withdrawal


class BalanceChanged(_Event, frozen=True, tag="balance.changed"):
    """The current rows of the assets a change touched; ``flow`` when the change was a deposit or withdrawal."""

    assets: dict[str, BalanceRow]
    acct: str = "default"
    flow: Flow | None = None

    @property
    def account(self) -> str | None:
        return self.acct


class TickerUpdated(_Event, frozen=True, tag="ticker.updated"):
    """The ticker after a run of ticks: the tick's own fields (the 24 h statistics are in the REST ticker)."""

    ticker: Ticker

    @property
    def symbol(self) -> str | None:
        return self.ticker.symbol


class MarketCreated(_Event, frozen=True, tag="market.created"):
    """A symbol became tradable (its first price, or a declared market)."""

    market: Market

    @property
    def symbol(self) -> str | None:
        return self.market.symbol


class ExchangeReset(_Event, frozen=True, tag="exchange.reset"):
    """An account's balances, orders and trades were wiped (``acct`` "": every account of the shard)."""

    acct: str = ""

    @property
    def account(self) -> str | None:
        return self.acct or None


Event = (
    OrderCreated
    | OrderFilled
    | OrderCanceled
    | OrderExpired
    | OrderTriggered
    | BalanceChanged
    | TickerUpdated
    | MarketCreated
    | ExchangeReset
)
EVENT_CLASSES: tuple[type[_Event], ...] = (
    OrderCreated, OrderFilled, OrderCanceled, OrderExpired, OrderTriggered, BalanceChanged, TickerUpdated,
    MarketCreated, ExchangeReset,
)  # fmt: skip
#: Every event type, in the order the docs list them.
EVENT_TYPES: tuple[str, ...] = tuple(str(msgspec.inspect.type_info(c).tag) for c in EVENT_CLASSES)  # type: ignore[attr-defined]
#: The groups a filter may name (``order`` for every ``order.*``).
EVENT_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(t.split(".", 1)[0] for t in EVENT_TYPES))


class Envelope(msgspec.Struct, frozen=True):
    """One event with its id (the events-stream entry id: a client's resume point)."""

    id: str
    event: Event

    @property
    def type(self) -> str:
        return _TAGS[type(self.event)]


_TAGS: dict[type[Any], str] = dict(zip(EVENT_CLASSES, EVENT_TYPES, strict=True))
_order = msgspec.json.Decoder(OrderEventRecord)
_balance = msgspec.json.Decoder(BalanceEventRecord)
_ticker = msgspec.json.Decoder(TickerEventRecord)
_market = msgspec.json.Decoder(MarketEventRecord)
_reset = msgspec.json.Decoder(ResetEventRecord)


def _number(value: str) -> Decimal | None:
    return tidy(Decimal(value)) if value else None


def _order_event(cls: type[_OrderEvent]) -> Callable[[str, FeeSchedule], Event]:
    def build(raw: str, _: FeeSchedule) -> Event:
        o = _order.decode(raw)
        trade = Trade.from_record(o.trade) if o.trade is not None else None
        return cls(order=Order.from_record(o.order, o.trade), trade=trade)  # type: ignore[return-value]

    return build


def _balance_event(raw: str, _: FeeSchedule) -> Event:
    record = _balance.decode(raw)
    rows, f = record.assets, record.flow
    flow = Flow(f.asset, from_minor(int(f.delta)), f.kind) if f is not None else None
    assets = {a: BalanceRow.of_minor(r.free, r.used) for a, r in rows.items()}
    return BalanceChanged(assets=assets, acct=record.acct, flow=flow)


def _ticker_event(raw: str, _: FeeSchedule) -> Event:
    t = _ticker.decode(raw)
    ticker = Ticker(
        symbol=t.symbol,
        timestamp=int(t.ts) if t.ts.isdigit() else None,
        last=tidy(Decimal(t.last)),
        bid=_number(t.bid),
        bid_volume=_number(t.bidVolume),
        ask=_number(t.ask),
        ask_volume=_number(t.askVolume),
        base_volume=_number(t.volume),
    )
    return TickerUpdated(ticker=ticker)


def _market_event(raw: str, fees: FeeSchedule) -> Event:
    return MarketCreated(market=Market.from_record(_market.decode(raw).market, fees))


_BUILDERS: dict[type[Any], Callable[[str, FeeSchedule], Event]] = {
    OrderCreated: _order_event(OrderCreated),
    OrderFilled: _order_event(OrderFilled),
    OrderCanceled: _order_event(OrderCanceled),
    OrderExpired: _order_event(OrderExpired),
    OrderTriggered: _order_event(OrderTriggered),
    BalanceChanged: _balance_event,
    TickerUpdated: _ticker_event,
    MarketCreated: _market_event,
    ExchangeReset: lambda raw, _rate: ExchangeReset(acct=_reset.decode(raw or "{}").acct),
}
_BY_TYPE = {_TAGS[cls]: build for cls, build in _BUILDERS.items()}
assert len(_BY_TYPE) == len(EVENT_TYPES), "every event type needs a decoder"


class UnknownEvent(ValueError):
    """A stream entry whose type no release of MockX writes."""


def decode(entry_id: str, etype: str, data: str, fees: FeeSchedule) -> Envelope:
    """An events-stream entry as a domain event; raises :class:`UnknownEvent` for a type not in the union."""
    build = _BY_TYPE.get(etype)
    if build is None:
        raise UnknownEvent(f"event {entry_id} has an unknown type {etype!r}")
    return Envelope(entry_id, build(data, fees))
