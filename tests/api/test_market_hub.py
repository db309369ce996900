"""The market-data hub: book diffs and candle updates reach subscribers from their own streams.

The streaming dialects (Binance's ``@depth`` and ``@kline`` streams) sit on this hub; the account events
stream, which order events resume from, carries none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from app.api.app import event_hubs
from app.api.common.events import EVERY_ACCOUNT, EventFilter, latest_event_id
from app.api.common.hub import EventHub
from app.engine.exchange import Exchange
from app.engine.market_events import BookDiffed, CandleUpdated, MarketEnvelope
from tests.support.book import Ticks, apply_diff, book_fields, settle_batch

BOOKS = [
    ([("100", "1"), ("99", "2")], [("101", "1.5")]),
    ([("100", "0.5"), ("98", "3")], [("101", "1.5"), ("102", "4")]),
    ([("100.5", "1")], [("101", "2")]),
]


@contextlib.asynccontextmanager
async def _market_hub(exchange: Exchange) -> AsyncIterator[EventHub[MarketEnvelope]]:
    """The market hub exactly as the API's lifespan makes it."""
    hubs = event_hubs(exchange, exchange.settings)
    try:
        yield hubs[1]
    finally:
        await asyncio.gather(*(hub.close() for hub in hubs))


async def _receive(hub: EventHub[MarketEnvelope], cursor: str, flt: EventFilter, count: int) -> list[MarketEnvelope]:
    got: list[MarketEnvelope] = []
    async with hub.subscribe(cursor, flt) as sub:
        async with asyncio.timeout(10):
            async for chunks in sub.batches(idle=5.0):
                assert chunks is not None, f"no market events for 5 s after {len(got)}"
                got += [entry.envelope for chunk in chunks for entry in chunk.entries]
                if len(got) >= count:
                    return got
    raise AssertionError("the subscription ended")


async def test_book_diffs_and_candles_reach_subscribers_and_rebuild_each_book(exchange: Exchange) -> None:
    keys = exchange.core.keys
    cursor = await latest_event_id(exchange.redis, [keys.market_stream, keys.candle_events])
    tick = Ticks("BTC/USDT")
    for bids, asks in BOOKS:  # one settle call per book: one diff and one candle update each
        await settle_batch(exchange, tick(book_fields(bids, asks, qty="0.25")))

    everything = EventFilter(account=EVERY_ACCOUNT)
    async with _market_hub(exchange) as hub:
        got = await _receive(hub, cursor, everything, 2 * len(BOOKS))
    diffs = [e.event.diff for e in got if isinstance(e.event, BookDiffed)]
    candles = [e.event for e in got if isinstance(e.event, CandleUpdated)]
    assert len(diffs) == len(candles) == len(BOOKS)

    book: tuple[tuple[Any, ...], tuple[Any, ...]] = ((), ())
    for n, (diff, (bids, asks)) in enumerate(zip(diffs, BOOKS, strict=True), start=1):
        assert (diff.symbol, diff.first, diff.last) == ("BTC/USDT", n, n)  # one update id per published book
        book = apply_diff(book, diff)
        assert book == (
            tuple((Decimal(p), Decimal(q)) for p, q in bids),
            tuple((Decimal(p), Decimal(q)) for p, q in asks),
        )
    last = candles[-1]
    assert (last.symbol, last.timeframe) == ("BTC/USDT", "1m")
    assert last.candle.volume == sum(Decimal("0.25") for c in candles if c.candle.ts == last.candle.ts)
    assert last.candle.close == Decimal(BOOKS[-1][0][0][0])
    stored = await exchange.fetch_ohlcv("BTC/USDT", "1m", since=last.candle.ts, until=last.candle.ts)
    assert stored[0].ohlcv() == last.candle.ohlcv()
    # Every event id resumes after it: the cursor of the last one is where the streams stand now.
    assert got[-1].id == await latest_event_id(exchange.redis, [keys.market_stream, keys.candle_events])
    # Book and candle updates stay out of the events stream that order events resume from.
    types = {fields["type"] for _, fields in await exchange.redis.xrange(keys.events)}
    assert types
    assert not types & {"book.diff", "candle.updated"}


async def test_a_filter_takes_one_symbol_and_type(exchange: Exchange) -> None:
    keys = exchange.core.keys
    cursor = await latest_event_id(exchange.redis, [keys.market_stream, keys.candle_events])
    btc, eth = Ticks("BTC/USDT"), Ticks("ETH/USDT")
    await settle_batch(exchange, btc(book_fields(*BOOKS[0], qty="1")))
    await settle_batch(exchange, eth(book_fields([("2000", "1")], [("2001", "1")], qty="2")))
    await settle_batch(exchange, eth(book_fields([("2000.5", "1")], [("2001", "1")])))

    flt = EventFilter(types=("book.diff",), symbol="ETH/USDT", account=EVERY_ACCOUNT)
    async with _market_hub(exchange) as hub:
        got = await _receive(hub, cursor, flt, 2)
    assert [(e.type, e.event.symbol) for e in got] == [("book.diff", "ETH/USDT")] * 2
    assert [e.event.diff.last for e in got if isinstance(e.event, BookDiffed)] == [1, 2]
