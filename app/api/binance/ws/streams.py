"""The Binance market streams of one API process: one set of readers, every connection fed from it.

:class:`MarketStreams` runs while any connection subscribes to anything. It follows the process's two event
hubs (:mod:`app.api.common.hub`): ``ticker.updated`` from the account events hub, ``book.diff`` and
``candle.updated`` from the market hub. An event marks its symbol changed; ``bookTicker`` leaves at once,
and every 100 ms (the ``@100ms`` streams, trades and klines) or every second (the rest, as Binance's update
speeds) one read per changed symbol and stream kind — the book, the tape, the ticker, the candles — makes
the payload of every stream of that kind, encoded once and shared by all its subscribers.

Depth diffs are made here from the book a client sees (``BOOK_MODEL``, :meth:`app.engine.book.Book.order_book`,
the same as ``GET /api/v3/depth``): each ``@depth`` stream keeps the book it last sent, and its next event
carries the levels that changed with ``U`` = the last event's ``u`` + 1 and ``u`` = the book's update id, so
a client that buffers the stream and fetches a snapshot after subscribing syncs exactly as Binance documents.
A stream's state starts from a read made before the subscription is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from app.api.binance.ws import payloads as pl
from app.api.binance.ws.names import TICKER_KINDS, Kind, Stream
from app.api.common.events import EVERY_ACCOUNT, EventFilter, latest_event_id
from app.api.common.hub import EventHub
from app.engine.candles import Candle, next_open
from app.engine.errors import ExchangeError
from app.engine.events import Envelope, TickerUpdated
from app.engine.exchange import Exchange
from app.engine.market_events import BookDiffed, CandleUpdated, MarketEnvelope
from app.engine.models import BookLevel

log = logging.getLogger(__name__)

FAST_SECONDS, SLOW_SECONDS = 0.1, 1.0
_IDLE = 5.0
_AHEAD_MS = 86_400_000  # klines: the newest candle, even one a little ahead of this machine's clock
_LIVE_CLOSE_MS = 60_000  # klines: a candle that ended less than this ago closes by the clock
_encode = msgspec.json.Encoder().encode
_TICKERS = EventFilter(types=("ticker.updated",), account=EVERY_ACCOUNT)
_MARKET = EventFilter(account=EVERY_ACCOUNT)


class Receiver(Protocol):
    """A connection as the streams see it: takes a stream's payload, False when it cannot keep up."""

    def offer(self, raw: str, combined: str) -> bool:
        """A payload, raw and wrapped as a combined stream's ``{"stream", "data"}`` (each made once per topic)."""
        ...

    def fell_behind(self) -> None: ...


@dataclass(eq=False, slots=True)
class Topic:
    """One stream name and its subscribers, with what it last sent."""

    stream: Stream
    symbol: str  # the engine's symbol ("" until it is known, and for the every-symbol streams)
    receivers: dict[Receiver, None] = field(default_factory=dict)
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()
    nonce: int = -1  # depth: the update id last sent (or the book's when subscribed)
    last_print: int = 0  # trades: the tape id last sent
    candle: Candle | None = None  # klines: the candle last sent
    closed: bool = False


class MarketStreams:
    """Every market stream subscription of the process; see the module docstring."""

    def __init__(self, ex: Exchange, hub: EventHub[Envelope], market_hub: EventHub[MarketEnvelope]) -> None:
        self.ex = ex
        self._hub, self._market_hub = hub, market_hub
        self.topics: dict[str, Topic] = {}
        self._by_market: dict[str, dict[str, Topic]] = {}  # Binance symbol ("" for every symbol) -> topics
        self._changed: dict[bool, set[str]] = {True: set(), False: set()}  # fast / slow: symbols changed
        self._task: asyncio.Task[None] | None = None
        self._empty = asyncio.Event()  # set when the last subscription ended (the readers then stop)
        self._following = asyncio.Barrier(1)
        self._pending: list[tuple[Topic, bytes]] = []
        self._pacing = False  # a round of reads is under way: payloads wait for its end

    # subscriptions -------------------------------------------------------------------------------------
    async def subscribe(self, receiver: Receiver, stream: Stream) -> None:
        """Add ``receiver`` to ``stream`` (its state read first, so nothing after this call is missed)."""
        topic = self.topics.get(stream.name)
        if topic is None:
            topic = Topic(stream, await self._symbol(stream))
            if topic.symbol:
                await self._start(topic)
            if stream.name in self.topics:  # made meanwhile by another connection
                topic = self.topics[stream.name]
            else:
                self.topics[stream.name] = topic
                self._by_market.setdefault(stream.market, {})[stream.name] = topic
        topic.receivers[receiver] = None
        self._empty.clear()
        if self._task is None or self._task.done():
            self._following = asyncio.Barrier(3)  # both readers and this call: the readers' cursors are taken
            self._task = asyncio.create_task(self._run(), name="mockx-binance-streams")
            async with asyncio.timeout(_IDLE):
                await self._following.wait()

    def unsubscribe(self, receiver: Receiver, name: str) -> None:
        topic = self.topics.get(name)
        if topic is None:
            return
        topic.receivers.pop(receiver, None)
        if not topic.receivers:
            del self.topics[name]
            group = self._by_market.get(topic.stream.market, {})
            group.pop(name, None)
            if not group:
                self._by_market.pop(topic.stream.market, None)
        if not self.topics:
            self._empty.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _symbol(self, stream: Stream) -> str:
        if stream.every_symbol:
            return ""
        try:
            symbol = await self.ex.symbol(stream.market)
        except ExchangeError:
            return ""  # no such market yet: its first event names it
        return symbol if _market(symbol) == stream.market else ""

    async def _start(self, topic: Topic) -> None:
        """A new topic's state: where a client that subscribes now starts from."""
        kind, symbol = topic.stream.kind, topic.symbol
        try:
            if kind is Kind.DEPTH:
                book = await self.ex.order_book(symbol)
                topic.bids, topic.asks, topic.nonce = book.bids, book.asks, book.nonce
            elif kind in (Kind.TRADE, Kind.AGG_TRADE):
                prints = await self.ex.public_trades(symbol, 1)
                topic.last_print = prints[-1].id if prints else 0
        except ExchangeError:
            pass  # no price yet: it starts from nothing

    # reading ------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        tasks = [
            asyncio.create_task(self._follow_tickers()),
            asyncio.create_task(self._follow_market()),
            asyncio.create_task(self._pace()),
        ]
        try:
            while self.topics:
                await self._empty.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.topics:  # subscribed to while stopping: start again
                self._task = asyncio.create_task(self._run(), name="mockx-binance-streams")

    async def _follow(self, hub: EventHub[Any], keys: list[str], flt: EventFilter, on: Callable[[Any], None]) -> None:
        """Follow one hub from now on (resubscribing after an end), handing each event to ``on``."""
        while self.topics:
            try:
                cursor = await latest_event_id(self.ex.redis, keys)
                if self._following.n_waiting:  # the subscription that started the readers waits for this
                    await self._following.wait()
                async with hub.subscribe(cursor, flt) as sub:
                    async for chunks in sub.batches(_IDLE):
                        for chunk in chunks or ():
                            for entry in chunk.entries:
                                on(entry.envelope.event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("binance streams: following events failed (%s); again in a second", exc)
            await asyncio.sleep(SLOW_SECONDS)

    async def _follow_tickers(self) -> None:
        keys = [k.events for k in self.ex.core.shard_keys]
        await self._follow(self._hub, keys, _TICKERS, self._on_ticker)

    async def _follow_market(self) -> None:
        keys = [self.ex.core.keys.market_stream, self.ex.core.keys.candle_events]
        await self._follow(self._market_hub, keys, _MARKET, self._on_market)

    def _on_ticker(self, event: object) -> None:
        if not isinstance(event, TickerUpdated):
            return
        symbol = event.ticker.symbol
        self._changed[True].add(symbol)
        self._changed[False].add(symbol)
        for topic in self._topics_of(symbol):
            if topic.stream.kind is Kind.BOOK_TICKER:
                topic.nonce += 1
                self._send(topic, pl.book_ticker(topic.stream.market, event.ticker, max(topic.nonce, 1)))

    def _on_market(self, event: object) -> None:
        if isinstance(event, BookDiffed | CandleUpdated):
            self._changed[True].add(event.symbol)
            self._changed[False].add(event.symbol)

    async def _pace(self) -> None:
        """Every 100 ms the fast streams of the symbols that changed; every second the slow ones (a schedule:
        the time the reads and the fan-out take comes out of the wait, not on top of it)."""
        loop = asyncio.get_running_loop()
        ticks, due = 0, loop.time()
        while True:
            due = max(due + FAST_SECONDS, loop.time())
            await asyncio.sleep(due - loop.time())
            ticks += 1
            slow = ticks % round(SLOW_SECONDS / FAST_SECONDS) == 0
            for fast in (True, False) if slow else (True,):
                changed, self._changed[fast] = self._changed[fast], set()
                self._pacing = True
                try:
                    await self._emit(changed, fast)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("binance streams: a read failed (%s)", exc)
                finally:
                    self._pacing = False
                    self._flush()
            if slow:
                await self._close_klines()

    async def _emit(self, changed: set[str], fast: bool) -> None:
        now = _now()
        for symbol in changed:
            topics = [t for t in self._topics_of(symbol) if t.stream.fast is fast]
            if topics:
                await self._emit_symbol(symbol, topics, now)
        if not fast and changed:
            everyone = [t for t in self._by_market.get("", {}).values() if t.stream.every_symbol]
            if everyone:
                await self._emit_all(changed, everyone, now)

    async def _emit_symbol(self, symbol: str, topics: list[Topic], now: int) -> None:
        kinds = {t.stream.kind for t in topics}
        market = _market(symbol)
        if kinds & {Kind.DEPTH, Kind.PARTIAL}:
            book = await self.ex.order_book(symbol)
            for t in topics:
                if t.stream.kind is Kind.DEPTH and book.nonce > t.nonce:
                    bids, asks = pl.book_changes(t.bids, book.bids), pl.book_changes(t.asks, book.asks)
                    self._send(t, pl.depth_update(market, t.nonce + 1, book.nonce, bids, asks, now))
                    t.bids, t.asks, t.nonce = book.bids, book.asks, book.nonce
                elif t.stream.kind is Kind.PARTIAL and book.nonce != t.nonce:
                    n = t.stream.levels
                    self._send(t, pl.partial_depth(book.nonce, book.bids[:n], book.asks[:n]))
                    t.nonce = book.nonce
        if kinds & {Kind.TRADE, Kind.AGG_TRADE}:
            prints = await self.ex.public_trades(symbol, 1000)
            for t in topics:
                make = pl.trade if t.stream.kind is Kind.TRADE else pl.agg_trade
                if t.stream.kind in (Kind.TRADE, Kind.AGG_TRADE):
                    for p in (p for p in prints if p.id > t.last_print):
                        self._send(t, make(market, p, now))
                        t.last_print = p.id
        for t in topics:
            if t.stream.kind is Kind.KLINE:
                await self._kline(t, market, now)
        if kinds & (TICKER_KINDS | {Kind.AVG_PRICE}):
            ticker = await self.ex.fetch_ticker(symbol)
            for t in topics:
                if t.stream.kind is Kind.TICKER:
                    self._send(t, pl.ticker(market, ticker, now))
                elif t.stream.kind is Kind.MINI_TICKER:
                    self._send(t, pl.mini_ticker(market, ticker, now))
                elif t.stream.kind is Kind.AVG_PRICE:
                    candles = await self.ex.fetch_ohlcv(symbol, "1m", limit=5)
                    price = pl.average_price(candles, ticker.last)
                    self._send(t, pl.avg_price(market, price, ticker.timestamp or now, now))

    async def _emit_all(self, changed: set[str], topics: list[Topic], now: int) -> None:
        tickers = {s: t for s, t in (await self.ex.fetch_tickers()).items() if s in changed}
        for t in topics:
            make = pl.ticker if t.stream.kind is Kind.ALL_TICKERS else pl.mini_ticker
            rows = [make(_market(s), tk, now) for s, tk in sorted(tickers.items())]
            if rows:
                self._send_raw(t, _encode(rows))

    async def _kline(self, t: Topic, market: str, now: int) -> None:
        """The stream's candle as it stands; first the one before it, closed, when a new one opened."""
        interval = t.stream.interval
        candles = await self.ex.fetch_ohlcv(t.symbol, interval, limit=2, until=now + _AHEAD_MS)
        if not candles:
            return
        newest = candles[-1]
        sent = t.candle
        if sent is not None and newest.ts > sent.ts and not t.closed:
            final = next((c for c in candles if c.ts == sent.ts), sent)
            self._send(t, pl.kline(market, interval, final, True, now))
        if newest != sent:
            t.candle, t.closed = newest, False
            self._send(t, pl.kline(market, interval, newest, False, now))

    async def _close_klines(self) -> None:
        """A live kline whose interval just ended goes out once more with ``x`` true, even without a tick after
        it (a replayed day's klines close when the next one opens)."""
        now = _now()
        for topic in list(self.topics.values()):
            c, interval = topic.candle, topic.stream.interval
            if c is None or topic.closed or not 0 <= now - next_open(interval, c.ts) < _LIVE_CLOSE_MS:
                continue
            final = await self.ex.fetch_ohlcv(topic.symbol, interval, since=c.ts, until=c.ts)
            topic.candle, topic.closed = (final[0] if final else c), True
            self._send(topic, pl.kline(topic.stream.market, interval, topic.candle, True, now))

    def _topics_of(self, symbol: str) -> list[Topic]:
        """The topics of an engine symbol; a topic subscribed before its market existed learns its symbol."""
        topics = list(self._by_market.get(_market(symbol), {}).values())
        for topic in topics:
            if not topic.symbol:
                topic.symbol = symbol
        return topics

    # delivery -----------------------------------------------------------------------------------------
    def _send(self, topic: Topic, payload: pl.Json) -> None:
        self._send_raw(topic, _encode(payload))

    def _send_raw(self, topic: Topic, raw: bytes) -> None:
        """Hold a payload until every read of this round is done (:meth:`_flush`): a read's wait then never
        lets the subscribers' writers run between two streams of one round."""
        self._pending.append((topic, raw))
        if not self._pacing:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for topic, raw in pending:
            text = raw.decode()
            combined = '{"stream":"' + topic.stream.name + '","data":' + text + "}"
            for receiver in [r for r in topic.receivers if not r.offer(text, combined)]:
                receiver.fell_behind()


def _market(symbol: str) -> str:
    """The Binance name of an engine symbol: ``BTC/USDT`` -> ``BTCUSDT``."""
    return symbol.replace("/", "")


def _now() -> int:
    return int(time.time() * 1000)
