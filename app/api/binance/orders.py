"""What a Binance ``POST /api/v3/order`` asks for, in the engine's words: one :class:`Shape` per order type.

:data:`SHAPES` is the one table from Binance's ``type`` to the engine: the engine's order type, whether a
``price`` / ``timeInForce`` / ``stopPrice`` belongs to it, the time in force it implies, and for a stop order
which trigger its ``stopPrice`` is. A MARKET order takes ``quantity`` or ``quoteOrderQty``. A type the engine
could not place would have a ``refusal``: Binance's own -2010 sentence for a type not enabled on the symbol
(exchangeInfo's ``orderTypes`` lists the placeable ones). OCO lists: :mod:`app.api.binance.order_lists`.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from decimal import Decimal

from app.api.binance.errors import BinanceError, rejected
from app.api.binance.params import Params


@dataclass(frozen=True, slots=True)
class Shape:
    """One Binance order type as the engine places it."""

    engine_type: str = "limit"  # the engine's type: market | limit
    price: bool = True  # takes (and needs) a price
    time_in_force: str | None = None  # the engine's TIF it implies; None: the client's timeInForce (mandatory)
    stop_price: bool = False  # takes (and needs) a stopPrice
    trigger: str = ""  # a stop order: stopLossPrice | takeProfitPrice, the engine's words for its stopPrice
    refusal: str | None = None  # not placeable: Binance's -2010 message


SHAPES: dict[str, Shape] = {
    "MARKET": Shape("market", price=False, time_in_force="GTC"),
    "LIMIT": Shape("limit"),
    "LIMIT_MAKER": Shape("limit", time_in_force="PO"),
    "STOP_LOSS": Shape("market", price=False, time_in_force="GTC", stop_price=True, trigger="stopLossPrice"),
    "STOP_LOSS_LIMIT": Shape("limit", stop_price=True, trigger="stopLossPrice"),
    "TAKE_PROFIT": Shape("market", price=False, time_in_force="GTC", stop_price=True, trigger="takeProfitPrice"),
    "TAKE_PROFIT_LIMIT": Shape("limit", stop_price=True, trigger="takeProfitPrice"),
}  # fmt: skip
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
RESP_TYPES = ("ACK", "RESULT", "FULL")
BAD_RESP_TYPE = "Data sent for parameter 'newOrderRespType' is not valid."
_ALPHABET = string.ascii_letters + string.digits


def new_client_id() -> str:
    """A clientOrderId as Binance makes one when none is sent: 22 letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A Binance new-order request, checked, in the engine's words."""

    name: str  # the Binance symbol, BTCUSDT
    side: str  # buy | sell
    binance_type: str
    engine_type: str
    quantity: Decimal | None  # None: a market order by quoteOrderQty
    price: Decimal | None
    time_in_force: str
    client_order_id: str
    resp_type: str
    stop_price: Decimal | None = None
    trigger: str = ""  # the engine's name for stop_price (stopLossPrice | takeProfitPrice)
    quote_qty: Decimal | None = None

    def engine_args(self) -> dict[str, object]:
        """The keyword arguments of ``Exchange.create_order`` / ``can_execute`` after the symbol and side."""
        args: dict[str, object] = {
            "type": self.engine_type, "amount": self.quantity, "price": self.price,
            "client_order_id": self.client_order_id, "time_in_force": self.time_in_force, "cost": self.quote_qty,
        }  # fmt: skip
        if self.trigger:
            args[_ENGINE_TRIGGER[self.trigger]] = self.stop_price
        return args


_ENGINE_TRIGGER = {"stopLossPrice": "stop_loss_price", "takeProfitPrice": "take_profit_price"}


def _not_required(params: Params, name: str) -> None:
    if name in params:
        raise BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def _time_in_force(params: Params, shape: Shape) -> str:
    if shape.time_in_force is not None:
        _not_required(params, "timeInForce")
        return shape.time_in_force
    tif = params.choice("timeInForce", TIME_IN_FORCE, -1115, "Invalid timeInForce.", required=True)
    assert tif is not None
    return tif


def _market_size(params: Params) -> tuple[Decimal | None, Decimal | None]:
    """A MARKET order's ``quantity`` or ``quoteOrderQty`` (spend that much quote; the fee is on top)."""
    quantity, quote = params.number("quantity"), params.number("quoteOrderQty")
    if quantity is not None and quote is not None:
        raise BinanceError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
    if quantity is None and quote is None:
        raise BinanceError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
    if (quantity if quantity is not None else quote) <= 0:  # type: ignore[operator]
        raise BinanceError(-1013, "Invalid quantity.")
    return quantity, quote


def parse_new_order(params: Params) -> NewOrder:
    """Check a new-order request as Binance does; raise its error for the first problem."""
    name = params.symbol()
    assert name is not None
    side = params.choice("side", ("BUY", "SELL"), -1117, "Invalid side.", required=True)
    kind = params.choice("type", tuple(SHAPES), -1116, "Invalid orderType.", required=True)
    assert side is not None
    assert kind is not None
    shape = SHAPES[kind]
    resp = params.choice(
        "newOrderRespType", RESP_TYPES, -1130, "Data sent for parameter 'newOrderRespType' is not valid."
    )
    cid = params.client_id("newClientOrderId") or new_client_id()
    if "icebergQty" in params:
        raise rejected("Iceberg orders are not supported for this symbol.")
    if "trailingDelta" in params:
        raise rejected("Trailing stop orders are not supported for this symbol.")
    if "pegPriceType" in params:
        raise rejected("Pegged orders are not supported for this symbol.")
    stop = params.number("stopPrice", required=True) if shape.stop_price else None
    if not shape.stop_price:
        _not_required(params, "stopPrice")
    tif = _time_in_force(params, shape)
    quote: Decimal | None = None
    if kind == "MARKET":
        quantity, quote = _market_size(params)
    else:
        quantity = params.number("quantity", required=True)
        _not_required(params, "quoteOrderQty")
    price = params.number("price", required=True) if shape.price else None
    if not shape.price:
        _not_required(params, "price")
    if shape.refusal is not None:
        raise rejected(shape.refusal)
    if quantity is not None and quantity <= 0:
        raise BinanceError(-1013, "Invalid quantity.")
    if price is not None and price <= 0:
        raise BinanceError(-1013, "Invalid price.")
    if stop is not None and stop <= 0:
        raise BinanceError(-1013, "Invalid stopPrice.")
    default_resp = "FULL" if kind in ("MARKET", "LIMIT") else "ACK"
    return NewOrder(name, side.lower(), kind, shape.engine_type, quantity, price, tif, cid, resp or default_resp,
                    stop_price=stop, trigger=shape.trigger, quote_qty=quote)  # fmt: skip
