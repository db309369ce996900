"""Candles as the keyspace defines them, computed here directly from the distinct ticks.

Independent of the code that keeps them: open / close are the first / last tick by (ts, entry id), high /
low the extremes, volume Σ qty, quote volume Σ qty × price and count the prints of each one-minute candle.
"""

from __future__ import annotations

from decimal import Decimal

from app.engine.candles import Candle, aggregate, open_time
from app.engine.exchange import Exchange
from app.engine.ticks import Tick

MINUTE = 60_000


def _order(entry: tuple[str, Tick]) -> tuple[int, int, int]:
    ms, _, seq = entry[0].partition("-")
    return entry[1].ts, int(ms), int(seq)


def expected_1m(ticks: dict[str, Tick]) -> list[Candle]:
    """The one-minute candles of the distinct ticks ``ticks`` (entry id -> tick), oldest first."""
    minutes: dict[int, list[tuple[str, Tick]]] = {}
    for entry in ticks.items():
        minutes.setdefault(entry[1].ts // MINUTE * MINUTE, []).append(entry)
    out = []
    for start in sorted(minutes):
        rows = sorted(minutes[start], key=_order)
        prints = [t for _, t in rows if t.qty is not None]
        out.append(
            Candle(
                start,
                rows[0][1].price,
                max(t.price for _, t in rows),
                min(t.price for _, t in rows),
                rows[-1][1].price,
                sum((t.qty or Decimal(0) for t in prints), Decimal(0)),
                sum(((t.qty or Decimal(0)) * t.price for t in prints), Decimal(0)),
                len(prints),
            )
        )
    return out


def expected(timeframe: str, minutes: list[Candle]) -> list[Candle]:
    """The ``timeframe`` candles aggregated from one-minute candles."""
    groups: dict[int, list[Candle]] = {}
    for c in minutes:
        groups.setdefault(open_time(timeframe, c.ts), []).append(c)
    return [aggregate(ts, parts) for ts, parts in groups.items()]


async def stored(ex: Exchange, symbol: str, timeframe: str, since: int, until: int, now: int) -> list[Candle]:
    """Every candle MockX serves in [since, until], read page by page."""
    out: list[Candle] = []
    while True:
        page = await ex.fetch_ohlcv(symbol, timeframe, since, until, 1000, now_ms=now)
        out += page
        if len(page) < 1000:
            return out
        since = page[-1].ts + 1
