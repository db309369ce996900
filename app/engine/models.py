"""The engine's domain structures: orders, trades, balances, tickers, markets — exact and dialect-free.

Numbers are ``Decimal``; field names are the engine's own (snake_case); closed vocabularies are the
enums of :mod:`app.engine.enums`. Each wire dialect serializes these into its own shape (the native
API: ccxt's unified structures, :mod:`app.api.native.ccxt`). The invariants hold on every order:
``filled + remaining == amount``, ``cost`` is the sum of its trades' costs, ``average == cost / filled``.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from app.engine.enums import OrderStatus, OrderType, Role, Side, TimeInForce, TriggerKind
from app.engine.errors import ErrorCode
from app.engine.money import CTX, MAX_UNITS, from_minor, tidy
from app.store.records import MarketRecord, OrderRecord, TradeRecord


def _ms(value: str) -> int | None:
    return int(value) if value else None


class FeeSchedule(msgspec.Struct, frozen=True):
    """The fee rates an account pays: ``maker`` on a fill of a resting order, ``taker`` on a fill that takes;
    ``asset`` is ``quote`` (every fee in the quote asset) or ``received`` (in the asset the fill delivers, as
    Binance spot: a buy pays in the base asset, a sell in the quote asset)."""

    maker: Decimal
    taker: Decimal
    asset: str = "quote"

    @property
    def fee_side(self) -> str:
        """ccxt's ``feeSide``: ``quote``, or ``get`` (the asset received)."""
        return "quote" if self.asset == "quote" else "get"


class TradingFee(msgspec.Struct, frozen=True):
    """The fees of one symbol for one account (ccxt's ``fetch_trading_fees`` entry)."""

    symbol: str
    maker: Decimal
    taker: Decimal
    fee_side: str


class Fee(msgspec.Struct, frozen=True):
    currency: str
    cost: Decimal
    rate: Decimal


class Trade(msgspec.Struct, frozen=True):
    """One fill of one order."""

    id: str
    order_id: str
    timestamp: int
    symbol: str
    type: OrderType
    side: Side
    role: Role
    price: Decimal
    amount: Decimal
    cost: Decimal
    fee: Fee
    account: str = "default"

    @classmethod
    def from_record(cls, t: TradeRecord) -> Trade:
        return cls(
            account=t.acct,
            id=t.id,
            order_id=t.oid,
            timestamp=int(t.ts),
            symbol=t.sym,
            type=OrderType(t.type),
            side=Side(t.side),
            role=Role(t.role),
            price=tidy(Decimal(t.px)),
            amount=from_minor(t.amt),
            cost=from_minor(t.cost),
            fee=Fee(currency=t.fcur, cost=from_minor(t.fee), rate=tidy(Decimal(t.rate))),
        )


class Order(msgspec.Struct, frozen=True):
    """An order and what became of it. ``price`` is the limit, or for a market order the price it filled at."""

    id: str
    client_order_id: str | None
    timestamp: int
    last_trade_timestamp: int | None
    last_update_timestamp: int | None
    status: OrderStatus
    symbol: str
    type: OrderType
    time_in_force: TimeInForce
    side: Side
    price: Decimal | None
    average: Decimal | None
    amount: Decimal
    filled: Decimal
    remaining: Decimal
    cost: Decimal
    fee: Fee
    trades: list[Trade]
    account: str = "default"
    spend: Decimal | None = None  # a market order by quote amount: the cost asked (its cost is at most this)
    trigger: TriggerKind | None = None  # a stop order: stop-loss or take-profit
    trigger_price: Decimal | None = None
    triggered_at: int | None = None  # when its trigger was reached, ms; None while it waits
    order_list_id: str | None = None  # an OCO leg: its order list (the id of the list's limit leg)
    sibling_id: str | None = None  # an OCO leg: the other leg's id

    @property
    def stop_loss_price(self) -> Decimal | None:
        return self.trigger_price if self.trigger is TriggerKind.STOP_LOSS else None

    @property
    def take_profit_price(self) -> Decimal | None:
        return self.trigger_price if self.trigger is TriggerKind.TAKE_PROFIT else None

    @property
    def post_only(self) -> bool:
        return self.time_in_force is TimeInForce.PO

    @classmethod
    def from_record(cls, o: OrderRecord, trade: TradeRecord | None = None) -> Order:
        amount, filled, cost = from_minor(o.amt), from_minor(o.filled), from_minor(o.cost)
        if o.px:
            price: Decimal | None = tidy(Decimal(o.px))
        else:
            price = tidy(Decimal(o.fpx)) if o.fpx else None
        return cls(
            account=o.acct,
            id=o.id,
            client_order_id=o.cid or None,
            timestamp=int(o.ts) if o.ts else 0,
            last_trade_timestamp=_ms(o.tts),
            last_update_timestamp=_ms(o.uts),
            status=OrderStatus(o.st),
            symbol=o.sym,
            type=OrderType(o.type),
            time_in_force=TimeInForce(o.tif),
            side=Side(o.side),
            price=price,
            average=tidy(CTX.divide(cost, filled)) if filled else None,
            amount=amount,
            filled=filled,
            remaining=tidy(amount - filled),
            cost=cost,
            fee=Fee(currency=o.fcur, cost=from_minor(o.fee), rate=tidy(Decimal(o.rate))),
            trades=[Trade.from_record(trade)] if trade is not None else [],
            spend=from_minor(o.qq) if o.qq else None,
            trigger=TriggerKind(o.tk) if o.tk else None,
            trigger_price=tidy(Decimal(o.tpx)) if o.tpx else None,
            triggered_at=_ms(o.trg),
            order_list_id=o.ol or None,
            sibling_id=o.oco or None,
        )


class OrderList(msgspec.Struct, frozen=True):
    """A one-cancels-the-other list: its limit leg, then its stop-loss leg."""

    id: str
    symbol: str
    orders: list[Order]


class BalanceRow(msgspec.Struct, frozen=True):
    free: Decimal
    used: Decimal
    total: Decimal

    @classmethod
    def of_minor(cls, free: int | str, used: int | str) -> BalanceRow:
        free_, used_ = int(free), int(used)
        return cls(free=from_minor(free_), used=from_minor(used_), total=from_minor(free_ + used_))


class Balance(msgspec.Struct, frozen=True):
    """A whole account: one row per asset it ever held."""

    timestamp: int
    rows: dict[str, BalanceRow]


class Ticker(msgspec.Struct, frozen=True):
    """The latest tick of a symbol with its 24 h statistics (None where unknown)."""

    symbol: str
    timestamp: int | None
    last: Decimal
    bid: Decimal | None = None
    bid_volume: Decimal | None = None
    ask: Decimal | None = None
    ask_volume: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    open: Decimal | None = None
    change: Decimal | None = None
    percentage: Decimal | None = None
    average: Decimal | None = None
    base_volume: Decimal | None = None
    quote_volume: Decimal | None = None


class Market(msgspec.Struct, frozen=True):
    """A tradable symbol with its precision, limits and fee rates."""

    symbol: str
    base: str
    quote: str
    price_tick: Decimal
    amount_step: Decimal
    min_amount: Decimal
    min_cost: Decimal | None
    max_value: Decimal  # the largest amount, price or order value accepted
    minor_unit: Decimal  # the smallest amount of any asset
    maker_fee: Decimal
    taker_fee: Decimal
    fee_side: str = "quote"  # ccxt's feeSide: quote, or get (the asset received)

    @classmethod
    def from_record(cls, m: MarketRecord, fees: FeeSchedule | Decimal) -> Market:
        """The market of record ``m`` with the fee schedule ``fees`` (a single rate: maker and taker alike)."""
        if isinstance(fees, Decimal):
            fees = FeeSchedule(maker=fees, taker=fees)
        return cls(
            symbol=m.sym,
            base=m.base,
            quote=m.quote,
            price_tick=tidy(Decimal(m.tick)),
            amount_step=tidy(Decimal(m.step)),
            min_amount=tidy(Decimal(m.min_amt)),
            min_cost=tidy(Decimal(m.min_cost)) or None,
            max_value=MAX_UNITS,
            minor_unit=from_minor(1),
            maker_fee=fees.maker,
            taker_fee=fees.taker,
            fee_side=fees.fee_side,
        )


class CanExecute(msgspec.Struct, frozen=True):
    """The answer of a dry run: would this order be accepted, and if not, why."""

    ok: bool
    reason: str | None = None
    code: ErrorCode | None = None


BookLevel = tuple[Decimal, Decimal]  # (price, amount)


class OrderBook(msgspec.Struct, frozen=True):
    """The order book of a symbol as the API serves it and a fill model walks it: best first on each side.

    ``nonce`` is the book's update id (see :mod:`app.engine.book`: the published book's counter, or for the
    synthetic book a number derived from the ticker's entry id); ``model`` is ``published`` or ``synthetic``.
    """

    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    timestamp: int
    nonce: int
    model: str


class PublicTrade(msgspec.Struct, frozen=True):
    """A print on a symbol's tape: a tick that traded ``amount`` at ``price``; ``side`` is the taker's."""

    id: int
    symbol: str
    timestamp: int
    price: Decimal
    amount: Decimal
    side: Side
    entry_id: str  # the price-stream entry that printed it


class BookDiff(msgspec.Struct, frozen=True):
    """One entry of the market-data stream: the change from the book of update id ``first - 1`` to that of
    ``last`` (levels whose amount changed; amount 0 for a level gone), as Binance's depth stream sends it."""

    symbol: str
    first: int
    last: int
    timestamp: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    stream_id: str  # the entry's id in the market-data stream
