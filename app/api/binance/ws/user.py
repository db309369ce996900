"""Binance user data events from the engine's events: ``executionReport``, ``outboundAccountPosition``.

Per order event, the ``executionReport`` Binance sends (user-data-stream.md): ``x`` NEW when an order is
accepted, TRADE for each fill (with the fill's ``l``, ``L``, ``Y``, ``n``, ``N``, ``t``, ``m``), CANCELED,
EXPIRED. A market order that fills at once is accepted and filled in one transition: its NEW report comes
first, then the TRADE, as on Binance. Every balance change is an ``outboundAccountPosition`` with the assets
it touched; a deposit or withdrawal is first a ``balanceUpdate`` (the asset and its signed delta). Field
names, order and omissions are Binance's; numbers are 8-decimal strings.
"""

from __future__ import annotations

from typing import Any

from app.api.binance import serialize as wire
from app.engine.enums import OrderStatus, OrderType, TimeInForce
from app.engine.events import (
    BalanceChanged,
    OrderCanceled,
    OrderCreated,
    OrderExpired,
    OrderFilled,
    OrderTriggered,
)
from app.engine.models import Order, Trade

Json = dict[str, Any]
_ZERO = wire.ZERO


def reports(event: object, now: int) -> list[Json]:
    """The user data events one engine event makes (none for an event of no interest to the stream); an
    OCO leg's report is followed by the list's ``listStatus`` when the list starts (its second leg placed)
    and when it ends (a leg filled, canceled or expired: one cancels the other)."""
    out = _reports(event, now)
    order = getattr(event, "order", None)
    if isinstance(order, Order) and order.order_list_id and order.sibling_id:
        started = isinstance(event, OrderCreated) and order.id != order.order_list_id
        ended = (  # once: the limit leg (whose id is the list's) ends with the list, whichever leg ended it
            isinstance(event, OrderFilled | OrderCanceled | OrderExpired)
            and order.id == order.order_list_id
            and order.status is not OrderStatus.OPEN
        )
        if started or ended:
            out.append(list_status(order, "EXEC_STARTED" if started else "ALL_DONE", now))
    return out


def list_status(order: Order, state: str, now: int) -> Json:
    """``listStatus`` of the OCO list ``order`` is a leg of: ``state`` EXEC_STARTED or ALL_DONE."""
    symbol = wire.binance_symbol(order.symbol)
    legs = sorted({int(order.id), int(order.sibling_id or order.id)})
    return {
        "e": "listStatus", "E": now, "s": symbol, "g": int(order.order_list_id or order.id), "c": "OCO",
        "l": state, "L": "EXECUTING" if state == "EXEC_STARTED" else "ALL_DONE", "r": "NONE", "C": "",
        "T": now, "O": [{"s": symbol, "i": leg, "c": (order.client_order_id or "") if leg == int(order.id) else ""}
                        for leg in legs],
    }  # fmt: skip


def _reports(event: object, now: int) -> list[Json]:
    match event:
        case OrderCreated(order=order, trade=trade):
            out = [execution_report(order, "NEW", None, now, accepted=True)]
            if trade is not None:
                out.append(execution_report(order, "TRADE", trade, now))
            return out
        case OrderFilled(order=order, trade=trade):
            return [execution_report(order, "TRADE", trade, now)]
        case OrderCanceled(order=order):
            return [execution_report(order, "CANCELED", None, now)]
        case OrderExpired(order=order):
            return [execution_report(order, "EXPIRED", None, now)]
        case OrderTriggered(order=order):  # a stop order reached its trigger: on the book now (w true)
            return [execution_report(order, "NEW", None, now)]
        case BalanceChanged(assets=assets, flow=flow):
            rows = [{"a": a, "f": wire.num(r.free), "l": wire.num(r.used)} for a, r in sorted(assets.items())]
            position = {"e": "outboundAccountPosition", "E": now, "u": now, "B": rows}
            if flow is None:
                return [position]
            return [{"e": "balanceUpdate", "E": now, "a": flow.asset, "d": wire.num(flow.amount), "T": now}, position]
    return []


def execution_report(order: Order, execution: str, trade: Trade | None, now: int, *, accepted: bool = False) -> Json:
    """One ``executionReport``; ``accepted``: the NEW report of an order that may already have filled, which
    shows the order as it was accepted (nothing filled yet)."""
    status = "NEW" if accepted else wire.status(order)
    filled, cost = (_ZERO, _ZERO) if accepted else (wire.num(order.filled), wire.num(order.cost))
    when = trade.timestamp if trade is not None else (order.last_update_timestamp or order.timestamp)
    waiting = order.trigger is not None and order.triggered_at is None  # a stop order is off the book until then
    working = (order.type is not OrderType.MARKET or accepted) and not waiting
    report: Json = {
        "e": "executionReport", "E": now, "s": wire.binance_symbol(order.symbol),
        "c": order.client_order_id or "", "S": order.side.upper(), "o": wire.order_type(order),
        "f": _time_in_force(order), "q": wire.num(order.amount), "p": _price(order),
        "P": wire.stop_price(order), "F": _ZERO, "g": _list_id(order), "C": "", "x": execution, "X": status,
        "r": "NONE",
        "i": int(order.id), "l": _ZERO, "z": filled, "L": _ZERO, "n": "0", "N": None,
        "T": when, "t": -1, "I": _execution_id(order, trade, execution), "w": working and status == "NEW",
        "m": False, "M": False, "O": order.timestamp, "Z": cost, "Y": _ZERO, "Q": _ZERO,
        "W": order.timestamp, "V": "NONE",
    }  # fmt: skip
    if trade is not None:
        report.update({
            "l": wire.num(trade.amount), "L": wire.num(trade.price), "n": wire.num(trade.fee.cost),
            "N": trade.fee.currency, "t": int(trade.id), "m": trade.role == "maker", "Y": wire.num(trade.cost),
            "w": status in ("NEW", "PARTIALLY_FILLED"),
        })  # fmt: skip
    if execution == "CANCELED":
        report["C"] = order.client_order_id or ""
    return report


def _list_id(order: Order) -> int:
    return int(order.order_list_id) if order.order_list_id else -1


def _time_in_force(order: Order) -> str:
    return "GTC" if order.time_in_force is TimeInForce.PO else str(order.time_in_force)


def _price(order: Order) -> str:
    return _ZERO if order.type is OrderType.MARKET else wire.num(order.price)


def _execution_id(order: Order, trade: Trade | None, execution: str) -> int:
    """A number per report of an order, increasing: the order id, then its trades' ids."""
    base = int(order.id) * 4
    if trade is not None:
        return int(trade.id) * 4 + 1
    return base + {"NEW": 0, "CANCELED": 2, "EXPIRED": 3}.get(execution, 0)
