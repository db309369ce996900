"""Candles (OHLCV): read and aggregated from the stored 1m / 1h / 1d candles, and their retention.

The settle calls keep the stored candles (``app/store/lua/lib/candles.lua``; layout in the keyspace doc of
:mod:`app.store.keys`). Every Binance interval is served by aggregating the finest stored resolution that
divides it: ``1m`` for ``1m`` … ``30m``, ``1h`` for ``1h`` … ``12h``, ``1d`` for ``1d``, ``3d``, ``1w``,
``1M``. Open times are aligned as Binance aligns them: UTC, fixed intervals from the Unix epoch (so ``3d``
steps from 1970-01-01), weeks on Monday 00:00, months on the first. Arithmetic is exact (Decimal).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.engine.core import Core, Part
from app.engine.errors import BadRequest, BadSymbol
from app.engine.market_data import MarketData
from app.engine.money import CTX, price_str, tidy
from app.store.transport import Call

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
WEEK = 7 * DAY
#: Every Binance kline interval and its length in ms (``1M``: months, variable).
TIMEFRAMES: dict[str, int] = {
    "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "30m": 30 * MINUTE, "1h": HOUR,
    "2h": 2 * HOUR, "4h": 4 * HOUR, "6h": 6 * HOUR, "8h": 8 * HOUR, "12h": 12 * HOUR, "1d": DAY, "3d": 3 * DAY,
    "1w": WEEK, "1M": 0,
}  # fmt: skip
#: The stored resolutions and their length.
STORED: dict[str, int] = {"1m": MINUTE, "1h": HOUR, "1d": DAY}
LIMIT_DEFAULT, LIMIT_MAX = 500, 1000
#: How long an acknowledged entry id stays recorded as counted: a consumer that claimed the entry before
#: the ack may still apply it meanwhile (it then finds it recorded and counts nothing).
COUNTED_GRACE_MS = 60_000
_MONDAY = 4 * DAY  # 1970-01-01 was a Thursday
_HMGET_CHUNK = 2_000
TRIM_CHUNK = 1_000
TRIM_ROUNDS = 10
BACKFILL_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Candle:
    ts: int  # open time, ms
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    count: int

    def ohlcv(self) -> list[int | Decimal]:
        """The ccxt OHLCV array ``[ts, open, high, low, close, volume]``."""
        return [self.ts, self.open, self.high, self.low, self.close, self.volume]


def base_of(timeframe: str) -> str:
    """The stored resolution a timeframe is aggregated from."""
    ms = TIMEFRAMES[timeframe]
    if ms == 0 or ms >= DAY:
        return "1d"
    return "1h" if ms >= HOUR else "1m"


def open_time(timeframe: str, ts: int) -> int:
    """The open time of the ``timeframe`` candle holding ``ts`` (ms, UTC)."""
    ms = TIMEFRAMES[timeframe]
    if timeframe == "1M":
        d = datetime.fromtimestamp(ts // 1000, UTC)
        return calendar.timegm((d.year, d.month, 1, 0, 0, 0)) * 1000
    if timeframe == "1w":
        return (ts - _MONDAY) // WEEK * WEEK + _MONDAY
    return ts // ms * ms


def next_open(timeframe: str, opened: int) -> int:
    """The open time of the candle after the one opened at ``opened``."""
    if timeframe == "1M":
        d = datetime.fromtimestamp(opened // 1000, UTC)
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000
    return opened + TIMEFRAMES[timeframe]


def stored_candle(start: int, raw: str) -> Candle:
    """A stored candle value ``o|oo|oid|h|l|c|co|cid|v|q|n`` opened at ``start``."""
    o, _, _, h, lo, c, _, _, v, q, n = raw.split("|")
    return Candle(start, Decimal(o), Decimal(h), Decimal(lo), Decimal(c), Decimal(v), Decimal(q), int(n))


def aggregate(ts: int, parts: list[Candle]) -> Candle:
    """One candle from consecutive finer ones (oldest first): first open, last close, max, min, sums."""
    return Candle(
        ts,
        parts[0].open,
        max(p.high for p in parts),
        min(p.low for p in parts),
        parts[-1].close,
        _sum(p.volume for p in parts),
        _sum(p.quote_volume for p in parts),
        sum(p.count for p in parts),
    )


def _sum(values: Iterable[Decimal]) -> Decimal:
    """An exact sum (the money context, not Decimal's 28 digits) in its shortest form: 0.12 + 0.48 is 0.6."""
    total = Decimal(0)
    for value in values:
        total = CTX.add(total, value)
    return tidy(total)


def check_query(timeframe: str, limit: int | None) -> int:
    """Validate a candle query; returns the limit to use."""
    if timeframe not in TIMEFRAMES:
        raise BadRequest(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
    if limit is None:
        return LIMIT_DEFAULT
    if not 1 <= limit <= LIMIT_MAX:
        raise BadRequest(f"limit must be between 1 and {LIMIT_MAX}, got {limit}")
    return limit


class Candles(Part):
    """Candle reads for every account (market data is shard 0's), and the sweep's candle upkeep."""

    def __init__(self, core: Core, markets: MarketData) -> None:
        super().__init__(core)
        self.markets = markets

    def retention_ms(self, res: str) -> int:
        s = self.settings
        seconds = {"1m": s.candles_1m, "1h": s.candles_1h, "1d": s.candles_1d}[res]
        return int(seconds * 1000)

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        until: int | None = None,
        limit: int | None = None,
        *,
        now_ms: int | None = None,
    ) -> list[Candle]:
        """The candles of ``symbol`` opened in [``since``, ``until``] (both inclusive, ms), oldest first: the
        first ``limit`` held from ``since``, or without ``since`` the last ``limit`` held up to ``until`` (or
        now). Only intervals with ticks have a candle; the range read is bounded by the retention."""
        count = check_query(timeframe, limit)
        symbol = await self.markets.symbol(symbol)
        if symbol not in await self.markets.market_records():
            raise BadSymbol(f"{symbol} is not a market (it has no price yet)")
        now = int(time.time() * 1000) if now_ms is None else now_ms
        base = base_of(timeframe)
        floor = open_time(timeframe, now - self.retention_ms(base))
        last = open_time(timeframe, now if until is None else min(until, now + DAY))
        if since is None:
            first = floor
        else:
            first = open_time(timeframe, since)
            if first < since:
                first = next_open(timeframe, first)
        first = max(first, floor)
        if first > last:
            return []
        found = await self._stored(symbol, base, first, next_open(timeframe, last) - 1)
        return self._grouped(timeframe, found)[-count:] if since is None else self._grouped(timeframe, found)[:count]

    async def _stored(self, symbol: str, base: str, start: int, end: int) -> list[Candle]:
        """The stored ``base`` candles opened in [start, end], oldest first."""
        step = STORED[base]
        indexes = list(range(-(-start // step), end // step + 1))
        key = self.keys.candles(symbol)
        chunks = [indexes[i : i + _HMGET_CHUNK] for i in range(0, len(indexes), _HMGET_CHUNK)]
        replies = await self.transport.pipeline(*(("HMGET", key, *(f"{base}:{i}" for i in c)) for c in chunks))
        out = []
        for chunk, values in zip(chunks, replies, strict=True):
            for i, raw in zip(chunk, values, strict=True):
                if raw is not None:
                    out.append(stored_candle(i * step, raw))
        return out

    @staticmethod
    def _grouped(timeframe: str, found: list[Candle]) -> list[Candle]:
        groups: dict[int, list[Candle]] = {}
        for c in found:
            groups.setdefault(open_time(timeframe, c.ts), []).append(c)
        return [
            aggregate(ts, parts) if len(parts) > 1 or parts[0].ts != ts else parts[0] for ts, parts in groups.items()
        ]

    async def backfill(
        self, symbol: str, resolution: str, rows: list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]
    ) -> int:
        """Store imported candles (open time ms, o, h, l, c, volume) of ``resolution``, in chunks; registers the
        market on a symbol's first data. Returns how many were new (importing twice stores none)."""
        await self.redis.hsetnx(self.keys.markets, symbol, self.markets.market_json(symbol))
        step, stored = STORED[resolution], 0
        for i in range(0, len(rows), BACKFILL_CHUNK):
            values = [
                v
                for ts, *prices in rows[i : i + BACKFILL_CHUNK]
                for v in (str(ts // step), *(price_str(p) for p in prices))
            ]
            stored += await self.scripts.store_candles(symbol, resolution, values)
        return stored

    # upkeep ------------------------------------------------------------------------------------------
    async def trim(self, *, now_ms: int | None = None) -> tuple[int, bool]:
        """Drop candles past their retention and the counted ids no longer needed; (candles removed, more)."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        await self.forget_counted(now)
        cutoffs = tuple((now - self.retention_ms(res)) // ms for res, ms in STORED.items())
        removed = 0

        def call(symbol: str) -> Call:
            return self.scripts.trim_candles(symbol, (cutoffs[0], cutoffs[1], cutoffs[2]), TRIM_CHUNK)

        def take(_: str, reply: Any) -> bool:
            nonlocal removed
            removed += int(reply[1])
            return bool(int(reply[2]))

        left = await self.in_rounds(list(await self.markets.symbols()), call, take, TRIM_ROUNDS)
        return removed, bool(left)

    async def forget_counted(self, now: int) -> None:
        """Remove the counted ids acknowledged over :data:`COUNTED_GRACE_MS` ago, and those whose entries left
        the price stream (they cannot be delivered again)."""
        first = await self.redis.xrange(self.settings.price_stream, count=1)
        below = int(str(first[0][0]).split("-")[0]) if first else None
        counted = self.keys.candles_counted
        await self.transport.pipeline(
            ("ZREMRANGEBYSCORE", counted, f"({-(now - COUNTED_GRACE_MS)}", "(0"),
            ("ZREMRANGEBYSCORE", counted, "0", "+inf" if below is None else f"({below}"),
        )
