"""Binance market stream names (``btcusdt@depth@100ms``, ``!miniTicker@arr``) as what a stream carries.

A name is the symbol in lowercase, ``@`` and the stream type, as Binance spells it (``aggTrade``,
``kline_1m``, ``depth5@100ms``...); the ``!...@arr`` streams carry every symbol. :func:`parse` answers None
for a name that is none of these (a subscription to it is held and carries nothing, as on Binance for a
symbol that does not trade).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from app.engine.candles import TIMEFRAMES


class Kind(StrEnum):
    TRADE = "trade"
    AGG_TRADE = "aggTrade"
    KLINE = "kline"
    MINI_TICKER = "miniTicker"
    TICKER = "ticker"
    BOOK_TICKER = "bookTicker"
    DEPTH = "depth"  # diffs
    PARTIAL = "partial"  # depth5 / depth10 / depth20: the top levels
    AVG_PRICE = "avgPrice"
    ALL_MINI_TICKERS = "!miniTicker@arr"
    ALL_TICKERS = "!ticker@arr"


#: Streams whose events leave at most every 100 ms; the others every second, as Binance's update speeds.
FAST = frozenset({Kind.TRADE, Kind.AGG_TRADE, Kind.KLINE, Kind.BOOK_TICKER})
#: What each kind reads when its symbol changed.
TICKER_KINDS = frozenset({Kind.MINI_TICKER, Kind.TICKER, Kind.ALL_MINI_TICKERS, Kind.ALL_TICKERS})

_NAME = re.compile(r"([a-z0-9_\-.]{1,40})@([a-zA-Z]+[0-9]*)(?:_([0-9]+[a-zA-Z]))?(?:@(100ms|1000ms))?")
_PARTIAL = re.compile(r"depth(5|10|20)")
_SIMPLE = {k.value: k for k in (Kind.TRADE, Kind.AGG_TRADE, Kind.MINI_TICKER, Kind.TICKER, Kind.BOOK_TICKER,
                                Kind.DEPTH, Kind.AVG_PRICE)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Stream:
    """A parsed stream name: its kind, the Binance symbol in upper case ("" for every symbol), the kline
    interval or the partial book's levels, and whether it is the 100 ms variant."""

    name: str
    kind: Kind
    market: str = ""
    interval: str = ""
    levels: int = 0
    fast: bool = False

    @property
    def every_symbol(self) -> bool:
        return self.kind in (Kind.ALL_MINI_TICKERS, Kind.ALL_TICKERS)


def parse(name: str) -> Stream | None:
    """The stream a name stands for, or None for a name Binance serves no data on."""
    if name in (Kind.ALL_MINI_TICKERS, Kind.ALL_TICKERS):
        return Stream(name, Kind(name))
    m = _NAME.fullmatch(name)
    if m is None or m.group(1) != m.group(1).lower():
        return None
    market, kind, interval, speed = m.group(1).upper(), m.group(2), m.group(3), m.group(4)
    if kind == "kline":
        if interval is None or interval not in TIMEFRAMES or speed is not None:
            return None
        return Stream(name, Kind.KLINE, market, interval=interval, fast=True)
    if interval is not None:
        return None
    partial = _PARTIAL.fullmatch(kind)
    if partial is not None:
        return Stream(name, Kind.PARTIAL, market, levels=int(partial.group(1)), fast=speed == "100ms")
    found = _SIMPLE.get(kind)
    if found is None or (speed is not None and found is not Kind.DEPTH):
        return None
    return Stream(name, found, market, fast=found in FAST or speed == "100ms")
