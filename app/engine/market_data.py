"""The market registry and the tickers: which symbols trade, with which filters, at which prices.

Markets are declared up front (``MARKETS``) or registered by a symbol's first price; a ticker is the
latest tick applied plus the 24 h statistics of the hourly buckets. Shared by every account.
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
        return [Market.from_record(records[s], self.core.fee_rate) for s in sorted(records)]

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

    async def fetch_ticker(self, symbol: str) -> Ticker:
        symbol = await self.symbol(symbol)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.ticker(symbol))
            pipe.hgetall(self.keys.ohlc(symbol))
            raw, ohlc = await pipe.execute()
        if not raw:
            raise BadSymbol(f"{symbol} has no price yet")
        return _ticker(symbol, raw, ohlc)

    async def fetch_tickers(self) -> dict[str, Ticker]:
        symbols = sorted(await self.market_records())
        async with self.redis.pipeline(transaction=False) as pipe:
            for s in symbols:
                pipe.hgetall(self.keys.ticker(s))
                pipe.hgetall(self.keys.ohlc(s))
            replies = await pipe.execute()
        out = {}
        for i, s in enumerate(symbols):
            raw, ohlc = replies[2 * i], replies[2 * i + 1]
            if raw:
                out[s] = _ticker(s, raw, ohlc)
        return out


def _ticker(symbol: str, raw: dict[str, str], ohlc: dict[str, str]) -> Ticker:
    """A ticker from the ticker hash and the hourly buckets of the last 24 h."""
    last = tidy(Decimal(raw["last"]))
    ts = int(raw.get("ts") or 0)
    newest_hour = ts // 3_600_000
    hours = sorted(
        {int(f.split(":", 1)[0]) for f in ohlc if newest_hour - 23 <= int(f.split(":", 1)[0]) <= newest_hour}
    )
    high = low = open_ = None
    if hours:
        high = max(Decimal(ohlc[f"{h}:h"]) for h in hours)
        low = min(Decimal(ohlc[f"{h}:l"]) for h in hours)
        open_ = tidy(Decimal(ohlc[f"{hours[0]}:o"]))
        high, low = tidy(high), tidy(low)
    change = tidy(last - open_) if open_ is not None else None
    percentage = (
        tidy(CTX.divide(change * 100, open_).quantize(Decimal("0.0001"))) if open_ and change is not None else None
    )
    average = tidy(CTX.divide(open_ + last, 2)) if open_ is not None else None
    return Ticker(
        symbol=symbol,
        timestamp=ts,
        last=last,
        bid=_dec_tidy(raw.get("bid")),
        bid_volume=_dec_tidy(raw.get("bidVolume")),
        ask=_dec_tidy(raw.get("ask")),
        ask_volume=_dec_tidy(raw.get("askVolume")),
        high=high,
        low=low,
        open=open_,
        change=change,
        percentage=percentage,
        average=average,
        base_volume=_dec_tidy(raw.get("volume")),
    )


def _dec_tidy(value: str | None) -> Decimal | None:
    return tidy(Decimal(value)) if value else None
