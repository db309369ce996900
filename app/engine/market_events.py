"""Market-data events: book diffs and candle updates, as the event hub carries them to the streaming dialects.

They come from two capped streams of their own (:mod:`app.store.keys`), never from the account events
streams that order events resume from: ``{ns}:market`` (``book.diff``, one entry per settle call that
published a book) and ``{ns}:candles:events`` (``candle.updated``, the newest one-minute candle a settle
call touched). :func:`decode_market` turns an entry into a :class:`MarketEnvelope` once per process; like
the account events (:mod:`app.engine.events`) each event names its ``symbol`` and concerns no account.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from app.engine.candles import Candle
from app.engine.events import UnknownEvent
from app.engine.models import BookDiff
from app.engine.money import tidy


class _MarketEvent(msgspec.Struct, frozen=True, tag_field="type"):
    @property
    def account(self) -> str | None:
        return None  # market data concerns every account

    @property
    def symbol(self) -> str:
        raise NotImplementedError


class BookDiffed(_MarketEvent, frozen=True, tag="book.diff"):
    """A symbol's published book changed: the diff from update id ``diff.first - 1`` to ``diff.last``."""

    diff: BookDiff

    @property
    def symbol(self) -> str:
        return self.diff.symbol


class CandleUpdated(_MarketEvent, frozen=True, tag="candle.updated"):
    """A symbol's one-minute candle as it stands after a settle call (the newest candle that call touched)."""

    market: str  # the symbol
    timeframe: str
    candle: Candle

    @property
    def symbol(self) -> str:
        return self.market


MarketEvent = BookDiffed | CandleUpdated
MARKET_EVENT_CLASSES: tuple[type[_MarketEvent], ...] = (BookDiffed, CandleUpdated)
MARKET_EVENT_TYPES: tuple[str, ...] = tuple(
    str(msgspec.inspect.type_info(c).tag)  # type: ignore[attr-defined]
    for c in MARKET_EVENT_CLASSES
)
_TAGS: dict[type[Any], str] = dict(zip(MARKET_EVENT_CLASSES, MARKET_EVENT_TYPES, strict=True))


class MarketEnvelope(msgspec.Struct, frozen=True):
    """One market event with its id (a hub cursor: one position per market stream)."""

    id: str
    event: MarketEvent

    @property
    def type(self) -> str:
        return _TAGS[type(self.event)]


class _Diff(msgspec.Struct, frozen=True):
    symbol: str
    U: int
    u: int
    ts: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


class _CandleRecord(msgspec.Struct, frozen=True):
    symbol: str
    timeframe: str
    ts: str
    open: str
    high: str
    low: str
    close: str
    volume: str
    quoteVolume: str
    count: str


_diff = msgspec.json.Decoder(_Diff)
_candle = msgspec.json.Decoder(_CandleRecord)


def _levels(pairs: list[tuple[str, str]]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((tidy(Decimal(p)), tidy(Decimal(q))) for p, q in pairs)


def book_diff(entry_id: str, data: str) -> BookDiff:
    """A ``book.diff`` entry's data as the domain's :class:`BookDiff`."""
    d = _diff.decode(data)
    return BookDiff(d.symbol, d.U, d.u, d.ts, _levels(d.bids), _levels(d.asks), entry_id)


def _book_event(entry_id: str, data: str) -> MarketEvent:
    return BookDiffed(diff=book_diff(entry_id, data))


def _candle_event(_: str, data: str) -> MarketEvent:
    c = _candle.decode(data)
    candle = Candle(
        ts=int(c.ts),
        open=tidy(Decimal(c.open)),
        high=tidy(Decimal(c.high)),
        low=tidy(Decimal(c.low)),
        close=tidy(Decimal(c.close)),
        volume=tidy(Decimal(c.volume)),
        quote_volume=tidy(Decimal(c.quoteVolume)),
        count=int(c.count),
    )
    return CandleUpdated(market=c.symbol, timeframe=c.timeframe, candle=candle)


_BY_TYPE: dict[str, Callable[[str, str], MarketEvent]] = {
    _TAGS[BookDiffed]: _book_event,
    _TAGS[CandleUpdated]: _candle_event,
}


def decode_market(entry_id: str, etype: str, data: str) -> MarketEnvelope:
    """A market-stream entry as a market event; raises :class:`UnknownEvent` for a type not in the union."""
    build = _BY_TYPE.get(etype)
    if build is None:
        raise UnknownEvent(f"market entry {entry_id} has an unknown type {etype!r}")
    return MarketEnvelope(entry_id, build(entry_id, data))
