"""The market registry and the tickers: which symbols trade, with which filters, at which prices.

Markets are declared up front (``MARKETS``) or registered by a symbol's first price; a ticker is the
latest tick applied plus the 24 h statistics the settle calls keep next to it (see :mod:`app.store.keys`),
so reading every ticker is one round trip of one ``HMGET`` per symbol, and each row is made into a
:class:`Ticker` once: an unchanged row gives the same object again. Shared by every account.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from app.engine import markets as mk
from app.engine.core import Core, Part
from app.engine.errors import BadSymbol
from app.engine.models import Market, Ticker
from app.engine.money import CTX, tidy
from app.store.records import MarketRecord, market_decoder, record_encoder


class MarketData(Part):
    """Markets and tickers; caches the market records it has seen (they only change when declared)."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._markets: dict[str, MarketRecord] = {}
        self._market_cache: dict[str, str] = {}
        self._symbols: list[str] = []
        self._reads: list[tuple[str, ...]] = []  # the HMGET of each symbol's ticker row
        self._seen: dict[str, tuple[list[str | None], Ticker]] = {}  # symbol -> (row, ticker)

    async def declare_markets(self, records: Iterable[MarketRecord]) -> None:
        records = list(records)
        if records:
            await self.redis.hset(
                self.keys.markets, mapping={m.sym: record_encoder.encode(m).decode() for m in records}
            )
            for m in records:
                self._markets[m.sym] = m
                self._market_cache.pop(m.sym, None)

    async def market_records(self) -> dict[str, MarketRecord]:
        raw = await self.redis.hgetall(self.keys.markets)
        found = {sym: market_decoder.decode(v) for sym, v in raw.items()}
        self._markets.update(found)
        return found

    async def fetch_markets(self) -> list[Market]:
        records = await self.market_records()
        return [Market.from_record(records[s], self.core.fees) for s in sorted(records)]

    async def symbol(self, raw: str) -> str:
        """Normalize a user's symbol (``BTCUSDT``, ``btc-usdt``...) against the known markets."""
        try:
            return mk.normalize_symbol(raw, set(self._markets))
        except BadSymbol:
            return mk.normalize_symbol(raw, set(await self.market_records()))

    def market_json(self, symbol: str) -> str:
        """The market record a first price registers (only if the symbol has none), encoded once per symbol."""
        encoded = self._market_cache.get(symbol)
        if encoded is None:
            market = self._markets.get(symbol) or mk.default_market(symbol)
            encoded = self._market_cache[symbol] = record_encoder.encode(market).decode()
        return encoded

    async def symbols(self) -> list[str]:
        """Every market's symbol, sorted; the names are read again only when the number of markets changed
        (markets are never deleted, so the same number of them is the same markets)."""
        if int(await self.transport.command("HLEN", self.keys.markets)) != len(self._symbols):
            await self._read_symbols()
        return self._symbols

    async def _read_symbols(self) -> None:
        self._symbols = sorted(await self.redis.hkeys(self.keys.markets))
        self._reads = [("HMGET", self.keys.ticker(s), *TICKER_FIELDS) for s in self._symbols]

    async def _ticker_rows(self) -> tuple[list[str], list[list[str | None]]]:
        """Every market's symbol and its ticker row (:data:`TICKER_FIELDS`): one round trip while the markets
        stay the same (the count of markets comes with the rows)."""
        while True:
            symbols, reads = self._symbols, self._reads  # as they were sent: another read may renew them meanwhile
            count, *rows = await self.transport.pipeline(("HLEN", self.keys.markets), *reads)
            if count == len(symbols):
                return symbols, rows
            await self._read_symbols()

    async def fetch_ticker(self, symbol: str) -> Ticker:
        symbol = await self.symbol(symbol)
        row = await self.transport.command("HMGET", self.keys.ticker(symbol), *TICKER_FIELDS)
        if row[0] is None:
            raise BadSymbol(f"{symbol} has no price yet")
        return (await self._tickers_of({symbol: row}))[symbol]

    async def fetch_tickers(self) -> dict[str, Ticker]:
        symbols, rows = await self._ticker_rows()
        return await self._tickers_of({s: row for s, row in zip(symbols, rows, strict=True) if row[0] is not None})

    async def _tickers_of(self, rows: dict[str, list[str | None]]) -> dict[str, Ticker]:
        """Tickers from their rows, each made once per row seen; a ticker written before the statistics were
        kept in its hash gets them from its buckets (each time: a late tick may change them)."""
        out: dict[str, Ticker] = {}
        old: list[str] = []
        seen = self._seen
        for s, row in rows.items():
            if row[_OPEN] is None:
                old.append(s)
                continue
            cached = seen.get(s)
            if cached is None or cached[0] != row:
                cached = seen[s] = (row, ticker_of(s, row))
            out[s] = cached[1]
        if old:
            buckets = await self.transport.pipeline(*(("HGETALL", self.keys.ohlc(s)) for s in old))
            for s, flat in zip(old, buckets, strict=True):
                out[s] = ticker_of(s, window_row(rows[s], dict(zip(flat[::2], flat[1::2], strict=True))))
        return out if not old else {s: out[s] for s in rows}


#: The ticker hash fields a read takes, in this order (see :mod:`app.store.keys`).
TICKER_FIELDS = ("last", "ts", "bid", "bidVolume", "ask", "askVolume", "volume", "open", "high", "low")
_OPEN = TICKER_FIELDS.index("open")
_PERCENT = Decimal("0.0001")
# Stored decimal text -> the number in its shortest form. Prices and volumes repeat from row to row (bid and
# ask are often the price, and the statistics change rarely), so most fields of a changed row are found here.
# Cleared when full, which bounds it.
_numbers: dict[str, Decimal] = {}
_NUMBERS_MAX = 100_000


def ticker_of(symbol: str, row: list[str | None]) -> Ticker:
    """A ticker from its hash fields (:data:`TICKER_FIELDS`): the latest tick and the 24 h statistics."""
    last_s, ts, bid, bid_volume, ask, ask_volume, volume, open_s, high, low = row
    number = _number
    last = number(last_s)
    assert last is not None
    open_ = number(open_s)
    change = percentage = average = None
    if open_ is not None:
        change = tidy(last - open_)
        percentage = tidy(CTX.divide(change * 100, open_).quantize(_PERCENT)) if open_ else None
        average = tidy(CTX.divide(open_ + last, 2))
    return Ticker(
        symbol=symbol,
        timestamp=int(ts or 0),
        last=last,
        bid=number(bid),
        bid_volume=number(bid_volume),
        ask=number(ask),
        ask_volume=number(ask_volume),
        high=number(high),
        low=number(low),
        open=open_,
        change=change,
        percentage=percentage,
        average=average,
        base_volume=number(volume),
    )


def window_row(row: list[str | None], ohlc: dict[str, str]) -> list[str | None]:
    """``row`` with the 24 h statistics computed from the hourly buckets ``ohlc`` (for a ticker written
    before they were kept in its hash): the buckets of the 24 hours ending with the hour of its ``ts``."""
    newest_hour = int(row[1] or 0) // 3_600_000
    hours = sorted({h for h in (int(f.split(":", 1)[0]) for f in ohlc) if newest_hour - 23 <= h <= newest_hour})
    stats: list[str | None] = ["", "", ""]
    if hours:
        high = max((ohlc[f"{h}:h"] for h in hours), key=Decimal)
        low = min((ohlc[f"{h}:l"] for h in hours), key=Decimal)
        stats = [ohlc[f"{hours[0]}:o"], high, low]
    return [*row[:_OPEN], *stats]


def _number(value: str | None) -> Decimal | None:
    """A stored decimal string in its shortest form; None for a missing or empty field."""
    if not value:
        return None
    number = _numbers.get(value)
    if number is None:
        if len(_numbers) >= _NUMBERS_MAX:
            _numbers.clear()
        number = _numbers[value] = tidy(Decimal(value))
    return number
