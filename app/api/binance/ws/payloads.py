"""Binance market stream payloads from the engine's structures: field names and omissions exactly Binance's
(web-socket-streams.md), every number a decimal string, every time in ms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.api.binance.serialize import ZERO as _ZERO
from app.api.binance.serialize import num
from app.engine.candles import Candle, next_open
from app.engine.enums import Side
from app.engine.models import BookLevel, PublicTrade, Ticker

Json = dict[str, Any]
DAY_MS = 86_400_000


def levels(side: tuple[BookLevel, ...]) -> list[list[str]]:
    return [[num(price), num(amount)] for price, amount in side]


def trade(market: str, p: PublicTrade, now: int) -> Json:
    """``<symbol>@trade``: ``m`` is whether the buyer was the maker (the taker sold)."""
    return {"e": "trade", "E": now, "s": market, "t": p.id, "p": num(p.price), "q": num(p.amount),
            "T": p.timestamp, "m": p.side is Side.SELL, "M": True}  # fmt: skip


def agg_trade(market: str, p: PublicTrade, now: int) -> Json:
    """``<symbol>@aggTrade``: every print is one taker order here, so one trade per aggregate."""
    return {"e": "aggTrade", "E": now, "s": market, "a": p.id, "p": num(p.price), "q": num(p.amount),
            "f": p.id, "l": p.id, "T": p.timestamp, "m": p.side is Side.SELL, "M": True}  # fmt: skip


def kline(market: str, interval: str, c: Candle, closed: bool, now: int) -> Json:
    return {
        "e": "kline", "E": now, "s": market,
        "k": {"t": c.ts, "T": next_open(interval, c.ts) - 1, "s": market, "i": interval, "f": -1, "L": -1,
              "o": num(c.open), "c": num(c.close), "h": num(c.high), "l": num(c.low),
              "v": num(c.volume), "n": c.count, "x": closed, "q": num(c.quote_volume),
              "V": _ZERO, "Q": _ZERO, "B": _ZERO},
    }  # fmt: skip


def mini_ticker(market: str, t: Ticker, now: int) -> Json:
    return {"e": "24hrMiniTicker", "E": now, "s": market, "c": num(t.last), "o": num(t.open or t.last),
            "h": num(t.high or t.last), "l": num(t.low or t.last), "v": num(t.base_volume),
            "q": num(t.quote_volume)}  # fmt: skip


def ticker(market: str, t: Ticker, now: int) -> Json:
    """``<symbol>@ticker``: the 24 h rolling statistics (trade ids and the last quantity are not kept: 0)."""
    return {
        "e": "24hrTicker", "E": now, "s": market, "p": num(t.change), "P": num(t.percentage),
        "w": num(t.average or t.last), "x": num(t.open or t.last), "c": num(t.last), "Q": _ZERO,
        "b": num(t.bid), "B": num(t.bid_volume), "a": num(t.ask), "A": num(t.ask_volume),
        "o": num(t.open or t.last), "h": num(t.high or t.last), "l": num(t.low or t.last),
        "v": num(t.base_volume), "q": num(t.quote_volume), "O": now - DAY_MS, "C": now, "F": 0, "L": 0, "n": 0,
    }  # fmt: skip


def book_ticker(market: str, t: Ticker, update_id: int) -> Json:
    """``<symbol>@bookTicker`` (no event type or time, as Binance sends it)."""
    return {"u": update_id, "s": market, "b": num(t.bid or t.last), "B": num(t.bid_volume),
            "a": num(t.ask or t.last), "A": num(t.ask_volume)}  # fmt: skip


def avg_price(market: str, price: Decimal, last_trade: int, now: int) -> Json:
    return {"e": "avgPrice", "E": now, "s": market, "i": "5m", "w": num(price), "T": last_trade}


def depth_update(market: str, first: int, last: int, bids: list[list[str]], asks: list[list[str]], now: int) -> Json:
    return {"e": "depthUpdate", "E": now, "s": market, "U": first, "u": last, "b": bids, "a": asks}


def partial_depth(update_id: int, bids: tuple[BookLevel, ...], asks: tuple[BookLevel, ...]) -> Json:
    return {"lastUpdateId": update_id, "bids": levels(bids), "asks": levels(asks)}


def book_changes(before: tuple[BookLevel, ...], after: tuple[BookLevel, ...]) -> list[list[str]]:
    """The levels of ``after`` whose amount differs from ``before``, and ``"0"`` for each level gone."""
    held = dict(before)
    out = [[num(p), num(q)] for p, q in after if held.get(p) != q]
    now = {p for p, _ in after}
    out += [[num(p), _ZERO] for p, _ in before if p not in now]
    return out


def average_price(candles: list[Candle], fallback: Decimal) -> Decimal:
    """Binance's 5-minute average price: quote volume over volume of the last five one-minute candles, or the
    last price when nothing traded."""
    volume = sum((c.volume for c in candles), Decimal(0))
    if volume == 0:
        return fallback
    quote = sum((c.quote_volume for c in candles), Decimal(0))
    return (quote / volume).quantize(Decimal("0.00000001"))
