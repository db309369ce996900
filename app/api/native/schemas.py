"""What the API reads and writes that is not already a ccxt structure of :mod:`app.engine.models`.

Request bodies refuse unknown fields. Money is a :class:`~app.api.common.codec.Number` (a ``Decimal``): send
it as a JSON number (``0.05``) or a string in ASCII decimal notation (``"0.05"``, ``"1e-8"``); either way it is
parsed from its text, never through a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar.openapi.spec import Example
from litestar.params import Body, PathParameter
from msgspec import Meta

from app.api.common.codec import Number
from app.api.native.ccxt import Ticker
from app.engine.errors import BadRequest
from app.engine.models import BalanceRow

Amount = Annotated[Number, Meta(description="A positive decimal, as a JSON number or a string")]
Free = Annotated[Number, Meta(description="Zero or a positive decimal, as a JSON number or a string")]


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


TRIGGER_DOC = (
    "A stop-loss order (as ccxt's Binance mapping: STOP_LOSS / STOP_LOSS_LIMIT): it waits, its funds reserved, "
    "until the last price reaches this trigger (a sell when it falls to it, a buy when it rises to it)"
)


class OrderIn(_Body):
    """A new order (``POST /orders``) or a dry run of one (``POST /orders/can_execute``)."""

    symbol: Annotated[str, Meta(examples=["BTC/USDT"], max_length=64)]
    side: Literal["buy", "sell"]
    amount: Amount | None = None
    type: Literal["market", "limit"] = "market"
    price: Amount | None = None
    cost: (
        Annotated[
            Number,
            Meta(description="A market order by quote amount instead of amount: spend at most this much quote "
                 "on the fill (the fee is not part of it)"),
        ]
        | None
    ) = None  # fmt: skip
    clientOrderId: Annotated[str, Meta(max_length=64)] | None = None
    timeInForce: Literal["GTC", "IOC", "FOK", "PO"] | None = None
    triggerPrice: Annotated[Number, Meta(description=TRIGGER_DOC)] | None = None
    stopPrice: Annotated[Number, Meta(description="The same as triggerPrice (ccxt's older name)")] | None = None
    stopLossPrice: Annotated[Number, Meta(description="A stop-loss order triggering at this last price")] | None = None
    takeProfitPrice: Annotated[Number, Meta(description="A take-profit order triggering at this last price")] | None = (
        None
    )
    postOnly: Annotated[bool, Meta(description="true: the same as timeInForce PO")] | None = None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``Exchange.create_order`` and ``Exchange.can_execute``."""
        return {
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "amount": self.amount,
            "price": self.price,
            "client_order_id": self.clientOrderId,
            "time_in_force": self._time_in_force(),
            "cost": self.cost,
            **self._trigger(),
        }

    def _time_in_force(self) -> str | None:
        if self.postOnly and self.timeInForce not in (None, "PO"):
            raise BadRequest(f"postOnly is timeInForce PO: it cannot go with timeInForce {self.timeInForce}")
        return "PO" if self.postOnly else self.timeInForce

    def _trigger(self) -> dict[str, Any]:
        if self.triggerPrice is not None and self.stopPrice is not None:
            raise BadRequest("give triggerPrice or stopPrice (its older name), not both")
        return {
            "trigger_price": self.triggerPrice if self.triggerPrice is not None else self.stopPrice,
            "stop_loss_price": self.stopLossPrice,
            "take_profit_price": self.takeProfitPrice,
        }


class OcoIn(_Body):
    """A one-cancels-the-other list (``POST /orders/oco``): a limit order that rests and a stop-loss, one amount."""

    symbol: Annotated[str, Meta(examples=["BTC/USDT"], max_length=64)]
    side: Literal["buy", "sell"]
    amount: Amount
    price: Annotated[Number, Meta(description="The limit leg's price: a sell's above the market, a buy's below")]
    stopPrice: Annotated[Number, Meta(description="The stop-loss leg's trigger price")]
    stopLimitPrice: (
        Annotated[Number, Meta(description="The stop leg's limit price (a stop-limit); omitted: a market stop")] | None
    ) = None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``Exchange.create_oco``."""
        return {
            "symbol": self.symbol, "side": self.side, "amount": self.amount, "price": self.price,
            "stop_price": self.stopPrice, "stop_limit_price": self.stopLimitPrice,
        }  # fmt: skip


class AmountIn(_Body):
    amount: Amount


class FundIn(_Body):
    asset: Annotated[str, Meta(examples=["USDT"], max_length=64)]
    amount: Amount


class BalanceIn(_Body):
    """The new free balance of an asset; ``used`` is what open orders reserve and follows them."""

    free: Free


class EditBalanceIn(_Body):
    asset: Annotated[str, Meta(examples=["USDT"], max_length=64)]
    free: Free


class PriceIn(_Body):
    price: Amount
    bid: Amount | None = None
    ask: Amount | None = None


def _body(*examples: tuple[str, dict[str, Any]]) -> Any:
    return Body(examples=[Example(summary=summary, value=value) for summary, value in examples])


OrderBody = Annotated[
    OrderIn,
    _body(
        ("market buy (type defaults to market)", {"symbol": "BTC/USDT", "side": "buy", "amount": 0.05}),
        ("limit sell", {"symbol": "BTC/USDT", "side": "sell", "type": "limit", "amount": 0.01, "price": 50000}),
        ("market buy for 100 USDT (cost)", {"symbol": "BTC/USDT", "side": "buy", "cost": 100}),
        ("stop-loss limit sell", {"symbol": "BTC/USDT", "side": "sell", "type": "limit", "amount": 0.01,
                                  "price": 44900, "stopLossPrice": 45000}),
        (
            "post-only limit buy with a client id",
            {"symbol": "ETHUSDT", "side": "buy", "type": "limit", "amount": 1, "price": 2500.5,
             "timeInForce": "PO", "clientOrderId": "my-bot-42"},
        ),
    ),
]  # fmt: skip
OcoBody = Annotated[
    OcoIn,
    _body(("take profit at 55 000 or stop out at 45 000", {"symbol": "BTC/USDT", "side": "sell", "amount": 0.01,
                                                          "price": 55000, "stopPrice": 45000})),
]  # fmt: skip
AmountBody = Annotated[AmountIn, _body(("100 units", {"amount": 100}), ("half a unit", {"amount": 0.5}))]
FundBody = Annotated[FundIn, _body(("100 000 USDT", {"asset": "USDT", "amount": 100000}))]
BalanceBody = Annotated[BalanceIn, _body(("set free to 2.5", {"free": 2.5}))]
EditBalanceBody = Annotated[EditBalanceIn, _body(("USDT free = 1000", {"asset": "USDT", "free": 1000}))]
PriceBody = Annotated[
    PriceIn,
    _body(("last price only", {"price": 50000}), ("with a spread", {"price": 50000, "bid": 49999.5, "ask": 50000.5})),
]


SYMBOL_DOC = "BTC/USDT (raw slash or %2F), BTCUSDT or BTC-USDT"
SymbolPath = Annotated[str, PathParameter(description=SYMBOL_DOC, examples=[Example(value="BTCUSDT")])]
AssetPath = Annotated[str, PathParameter(description="An asset code, like USDT", examples=[Example(value="USDT")])]
OrderIdPath = Annotated[
    str, PathParameter(description="An order id, or the order's clientOrderId", examples=[Example(value="1")])
]


class AssetBalance(msgspec.Struct, frozen=True):
    asset: str
    free: Decimal
    used: Decimal
    total: Decimal

    @classmethod
    def of(cls, asset: str, row: BalanceRow) -> AssetBalance:
        return cls(asset=asset, free=row.free, used=row.used, total=row.total)


class AssetList(msgspec.Struct, frozen=True):
    assets: list[str]


class Done(msgspec.Struct, frozen=True):
    ok: bool
    message: str


class PriceSet(msgspec.Struct, frozen=True):
    """A price tick that has been published and applied (its fills are done when this returns)."""

    symbol: str
    entryId: str
    filled: int
    ticker: Ticker


class Liveness(msgspec.Struct, frozen=True):
    status: Literal["ok"] = "ok"


# overview ------------------------------------------------------------------------------------------------
class AssetValue(msgspec.Struct, frozen=True):
    asset: str
    free: Decimal
    used: Decimal
    total: Decimal
    price: Decimal | None
    value: Decimal | None


class AssetsOverview(msgspec.Struct, frozen=True):
    """Per asset: the balance, its price and value in ``cashAsset``; assets without a price are not valued."""

    cashAsset: str
    assets: list[AssetValue]
    totalValue: Decimal
    unpriced: list[str]


class SideStats(msgspec.Struct, frozen=True):
    count: int
    maker: int
    taker: int
    base: Decimal
    quote: Decimal
    fee: Decimal


class SymbolStats(msgspec.Struct, frozen=True):
    symbol: str
    base: str
    quote: str
    buy: SideStats
    sell: SideStats


class QuoteTotals(msgspec.Struct, frozen=True):
    quote: str
    volume: Decimal
    fees: Decimal


class TradesOverview(msgspec.Struct, frozen=True):
    """Fill statistics: counts and filled volume (base and quote) and fees, per symbol and side."""

    trades: int
    buys: int
    sells: int
    makers: int
    takers: int
    byQuote: list[QuoteTotals]
    bySymbol: list[SymbolStats]


class LedgerRow(msgspec.Struct, frozen=True):
    asset: str
    deposited: Decimal
    withdrawn: Decimal
    price: Decimal | None


class CapitalOverview(msgspec.Struct, frozen=True):
    """Equity and the money that crossed the account boundary, valued in ``cashAsset`` at current prices."""

    cashAsset: str
    equity: Decimal
    deposits: Decimal
    withdrawals: Decimal
    netDeposits: Decimal
    profit: Decimal
    profitPct: Decimal | None
    fees: Decimal
    ledger: list[LedgerRow]
    unpriced: list[str]


# health --------------------------------------------------------------------------------------------------
class ValkeyHealth(msgspec.Struct, frozen=True):
    reachable: bool
    latencyMs: float | None = None
    version: str | None = None
    error: str | None = None
    memoryUsed: int | None = None  # bytes
    memoryMax: int | None = None  # bytes (maxmemory); 0: no limit
    memoryPct: float | None = None  # % of maxmemory; degraded above 90


class WorkerHealth(msgspec.Struct, frozen=True):
    """A settlement worker with a live heartbeat; ``healthy`` is what the worker says of itself."""

    name: str
    ttlMs: int | None
    healthy: bool | None
    heartbeat: dict[str, Any] | None


class PriceStreamHealth(msgspec.Struct, frozen=True):
    stream: str
    length: int
    group: str
    groupExists: bool
    pending: int | None
    lag: int | None


class Health(msgspec.Struct, frozen=True):
    """``ok``; ``degraded`` when ticks wait and no worker is alive; ``unavailable`` when Valkey is down."""

    status: Literal["ok", "degraded", "unavailable"]
    valkey: ValkeyHealth
    workersAlive: int
    workers: list[WorkerHealth]
    prices: PriceStreamHealth | None
    versions: dict[str, str]
    problems: list[str]
