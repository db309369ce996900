"""Live prices from a real exchange through ccxt (the ``mockx[live]`` extra): polled or watched tickers.

:func:`ccxt_feed` turns each changed ticker into price-stream fields and publishes them; a failing
exchange is retried with backoff (:func:`app.store.retry.retrying`).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from app.engine.errors import BadSymbol
from app.engine.markets import normalize_symbol
from app.engine.money import price_str
from app.engine.ticks import parse_tick
from app.store.retry import retrying
from app.workers.feeds import FeedError, Fields, sleep_or_stop, tick_fields
from app.workers.publish import Publisher, round_price, round_quantity

log = logging.getLogger(__name__)

_TIMEFRAMES = {60_000: "1m", 3_600_000: "1h", 86_400_000: "1d"}
_PAGE = 1000  # candles asked for per call (Binance's most)


class TickerSource(Protocol):
    """What :func:`ccxt_feed` needs from a ccxt exchange (``ccxt.async_support`` or ``ccxt.pro``)."""

    async def fetch_tickers(self, symbols: list[str] | None = None) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class CandleSource(Protocol):
    """What :func:`ccxt_candles` needs from a ccxt exchange."""

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[list[Any]]: ...

    async def close(self) -> None: ...


def open_ccxt(exchange_id: str, *, watch: bool = False, url: str | None = None) -> Any:
    """A ccxt exchange client by id (``binance``...); needs the optional extra ``mockx[live]``.

    ``url``: talk to that host instead of the exchange's (another MockX's Binance dialect, a proxy): every
    API and test URL of the client keeps its path under this base."""
    module_name = "ccxt.pro" if watch else "ccxt.async_support"
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise FeedError("the ccxt source needs the optional extra: pip install 'mockx[live]'") from None
    cls = getattr(module, exchange_id.strip().lower(), None)
    if cls is None or not callable(cls):
        raise FeedError(f"ccxt has no exchange {exchange_id!r} (see ccxt.exchanges for the list)")
    client = cls({"enableRateLimit": True})
    if url:
        base = url.rstrip("/")
        for name in ("api", "test"):
            if name in client.urls:
                client.urls[name] = _rebased(client.urls[name], base)
    return client


def _rebased(urls: Any, base: str) -> Any:
    """Every URL of a ccxt ``urls`` entry (a string or nested dicts) with its scheme and host replaced by base."""
    if isinstance(urls, str):
        parts = urlsplit(urls)
        return base + parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(urls, dict):
        return {key: _rebased(value, base) for key, value in urls.items()}
    return urls


async def ccxt_candles(
    client: CandleSource, symbol: str, candle_ms: int, count: int, *, now_ms: int
) -> list[list[Any]]:
    """The last ``count`` closed candles of ``symbol`` (``candle_ms``: one minute, hour or day), oldest first,
    paged forward from ``count`` intervals ago (an exchange answers at most ~1 000 a call); the candle still
    open at ``now_ms`` is left out, so the live ticks build it."""
    timeframe = _TIMEFRAMES[candle_ms]
    current = now_ms // candle_ms * candle_ms
    since = current - count * candle_ms
    rows: list[list[Any]] = []
    while since < current:
        page = await client.fetch_ohlcv(symbol, timeframe, since=since, limit=min(_PAGE, count))
        page = [row for row in page if since <= int(row[0]) < current]
        if not page:
            break
        rows += page
        since = int(page[-1][0]) + candle_ms
    return rows[-count:]


def ccxt_fields(ticker: Mapping[str, Any]) -> Fields | None:
    """Price-stream fields from a ccxt ticker (floats), or None when it has no usable price."""
    try:
        symbol = normalize_symbol(str(ticker.get("symbol") or ""))
    except BadSymbol:
        return None
    last = ticker.get("last") if ticker.get("last") is not None else ticker.get("close")
    if last is None:
        return None
    try:
        price = round_price(last)
        bid = round_price(ticker["bid"]) if ticker.get("bid") else None
        ask = round_price(ticker["ask"]) if ticker.get("ask") else None
        if bid is not None and ask is not None and bid > ask:
            bid = ask = None
        stamp = ticker.get("timestamp")
        fields = tick_fields(symbol, price, bid, ask, ts=int(stamp) if stamp else None)
        for name, target in (("baseVolume", "volume"), ("bidVolume", "bid_qty"), ("askVolume", "ask_qty")):
            value = ticker.get(name)
            if value is not None:
                fields[target] = price_str(round_quantity(value))
        parse_tick(fields, "0-0")
    except (ValueError, TypeError) as exc:  # MalformedTick is a ValueError
        log.warning("ticker of %s skipped: %s", symbol, exc)
        return None
    return fields


async def ccxt_ticks(
    client: TickerSource,
    symbols: list[str],
    stop: asyncio.Event,
    *,
    poll_sec: float = 2.0,
    watch: bool = False,
) -> AsyncIterator[list[Fields]]:
    """Batches of changed tickers of ``symbols``; errors of the exchange are logged and retried."""
    last: dict[str, Fields] = {}

    async def fetch() -> Any:
        if watch:
            return await client.watch_tickers(symbols)  # type: ignore[attr-defined]
        return await client.fetch_tickers(symbols)

    while not stop.is_set():
        # ccxt raises its own NetworkError / ExchangeError classes: any failure of the source is retried
        tickers = await retrying(
            fetch, what="live tickers", stop=stop, first_delay=poll_sec, max_delay=60.0, errors=(Exception,),
            problem="fetching tickers failed",
        )  # fmt: skip
        if tickers is None:
            return
        changed = []
        for ticker in tickers.values():
            fields = ccxt_fields(ticker)
            if fields is not None and fields["symbol"] in symbols and last.get(fields["symbol"]) != fields:
                last[fields["symbol"]] = fields
                changed.append(fields)
        if changed:
            yield changed
        if not watch and await sleep_or_stop(poll_sec, stop):
            return


async def ccxt_feed(
    publisher: Publisher,
    client: TickerSource,
    symbols: Sequence[str],
    *,
    poll_sec: float = 2.0,
    watch: bool = False,
    limit: int | None = None,
) -> int:
    """Publish every change of the exchange's tickers until the publisher stops (or ``limit`` ticks)."""
    before = publisher.published
    async for ticks in ccxt_ticks(client, list(symbols), publisher.stop, poll_sec=poll_sec, watch=watch):
        await publisher.publish(ticks)
        if limit is not None and publisher.published - before >= limit:
            break
    return publisher.published - before
