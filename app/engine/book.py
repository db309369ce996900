"""The order book and the trade tape: what a client sees of a symbol's depth and prints.

:meth:`Book.order_book` is the one place the book a client sees is made: the native API serves it, and the
Binance dialect and a fill model are to read it too, so they all see the same levels. ``BOOK_MODEL`` says
which book it is:

* ``published``: the last book the price feed sent (``bids`` / ``asks`` of a tick), kept by the settle
  calls with its update id (``nonce``: +1 per published book; see :mod:`app.store.keys`). A symbol whose
  feed never sent one has an empty book with ``nonce`` 0.
* ``synthetic``: a book derived from the ticker at read time (nothing stored): ``BOOK_LEVELS`` levels per
  side, the best at the ticker's bid and ask (one price tick above the bid when bid == ask), each next
  level one price tick further; each level's amount is a multiple of the amount step (at least one step,
  at most the largest amount accepted) worth about ``1 000 × (level + 1)`` quote units, scaled by a factor
  in [0.5, 1.5] drawn from a generator seeded with ``BOOK_SEED``, the symbol and the ticker (entry id, bid,
  ask): the same seed and ticker give the same book. Its ``nonce`` is the ticker's entry id ``ms-seq`` as
  ``ms × 4096 + seq`` (below 2**53: clients keep it in a double), so it grows with every tick. (In ``auto``
  the nonce is the shown book's: it moves from one numbering to the other when a symbol's feed starts or
  stops sending both sides.)
* ``auto`` (the default): the published book while it has levels on both sides, the synthetic book
  otherwise, so a symbol with a price never shows an empty or sizeless side.

The tape (:meth:`Book.public_trades`) holds the prints of ticks with ``qty``, newest ``TAPE_MAXLEN`` kept;
:meth:`Book.book_diffs` reads the diffs of the published book from the market-data stream.
"""

from __future__ import annotations

import random
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import msgspec

from app.engine.core import Core, Part
from app.engine.enums import Side
from app.engine.errors import BadRequest, BadSymbol
from app.engine.market_data import MarketData
from app.engine.market_events import book_diff
from app.engine.models import BookDiff, BookLevel, OrderBook, PublicTrade
from app.engine.money import CTX, MAX_UNITS, tidy
from app.store.records import market_decoder

#: Public trades one read returns by default, and at most (as Binance's ``/api/v3/trades``).
TRADES_DEFAULT, TRADES_MAX = 500, 1000
_NOTIONAL = Decimal(1000)  # quote units of the synthetic book's first level, before its random factor
_SEQ_SPAN = 4096  # synthetic nonce: ms × _SEQ_SPAN + seq (seq capped), below 2**53 until 2039

_levels = msgspec.json.Decoder(list[tuple[str, str]])


def levels_of(text: str | None) -> tuple[BookLevel, ...]:
    """Stored levels ``[["price","qty"],...]`` as Decimals."""
    if not text:
        return ()
    return tuple((tidy(Decimal(p)), tidy(Decimal(q))) for p, q in _levels.decode(text))


def entry_nonce(entry_id: str) -> int:
    """A stream entry id ``ms-seq`` as one increasing number, ``ms × 4096 + min(seq, 4095)``: an integer a
    double holds exactly (below 2**53, as JavaScript and ccxt keep update ids) until 2039."""
    ms, _, seq = entry_id.partition("-")
    return int(ms) * _SEQ_SPAN + min(int(seq or 0), _SEQ_SPAN - 1)


def synthetic_book(
    symbol: str,
    *,
    bid: Decimal,
    ask: Decimal,
    entry_id: str,
    timestamp: int,
    price_tick: Decimal,
    amount_step: Decimal,
    levels: int,
    seed: int,
) -> OrderBook:
    """The deterministic book around ``bid`` / ``ask`` (see the module's docstring); never crossed."""
    if ask <= bid:
        ask = bid + price_tick
    rng = random.Random(f"{seed}|{symbol}|{entry_id}|{bid}|{ask}")

    def side(best: Decimal, direction: int) -> tuple[BookLevel, ...]:
        out = []
        for i in range(levels):
            price = tidy(best + direction * price_tick * i)
            if price <= 0:
                break
            notional = _NOTIONAL * (i + 1) * Decimal(rng.randint(500, 1500)) / 1000
            units = CTX.divide(notional, price * amount_step).to_integral_value(rounding=ROUND_FLOOR)
            out.append((price, tidy(min(max(units, Decimal(1)), most) * amount_step)))
        return tuple(out)

    most = CTX.divide(MAX_UNITS, amount_step).to_integral_value(rounding=ROUND_FLOOR)  # the largest amount accepted
    bids, asks = side(bid, -1), side(ask, 1)
    return OrderBook(symbol, bids, asks, timestamp, entry_nonce(entry_id), "synthetic")


class Book(Part):
    """Order books and public trades of every symbol (market data: shard 0's keys)."""

    def __init__(self, core: Core, markets: MarketData) -> None:
        super().__init__(core)
        self.markets = markets
        self._published: dict[str, tuple[list[Any], OrderBook]] = {}  # symbol -> (depth row, its book)
        self._steps: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (price tick, amount step)

    def _limit(self, limit: int | None, most: int, default: int) -> int:
        if limit is None:
            return default
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
            raise BadRequest(f"limit must be a whole number from 1 to {most}, got {limit!r}")
        return limit

    async def order_book(self, symbol: str, limit: int | None = None) -> OrderBook:
        """The book of ``symbol`` as ``BOOK_MODEL`` makes it, ``limit`` levels per side (default all,
        at most ``BOOK_LEVELS``). BadSymbol for an unknown symbol or one without a price yet."""
        levels = self.settings.book_levels
        n = self._limit(limit, levels, levels)
        sym = await self.markets.symbol(symbol)
        model = self.settings.book_model
        ticker, depth = await self.transport.pipeline(
            ("HMGET", self.keys.ticker(sym), "id", "bid", "ask", "last", "ts"),
            ("HMGET", self.keys.depth(sym), "u", "ts", "bids", "asks"),
        )
        if ticker[0] is None:
            raise BadSymbol(f"{sym} has no price yet")
        book = None
        if model != "synthetic":
            book = self._published_book(sym, depth, int(ticker[4] or 0))
            if model == "auto" and (not book.bids or not book.asks):
                book = None
        if book is None:
            book = await self._synthetic(sym, ticker)
        if n < levels:
            book = msgspec.structs.replace(book, bids=book.bids[:n], asks=book.asks[:n])
        return book

    def _published_book(self, sym: str, depth: list[Any], ticker_ts: int) -> OrderBook:
        cached = self._published.get(sym)
        if cached is not None and cached[0] == depth:
            return cached[1]
        u, ts, bids, asks = depth
        book = OrderBook(sym, levels_of(bids), levels_of(asks), int(ts or ticker_ts), int(u or 0), "published")
        self._published[sym] = (depth, book)
        return book

    async def _synthetic(self, sym: str, ticker: list[Any]) -> OrderBook:
        entry_id, bid, ask, last, ts = ticker
        steps = self._steps.get(sym)
        if steps is None:
            raw = await self.transport.command("HGET", self.keys.markets, sym)
            if raw is None:
                raise BadSymbol(f"{sym} is not a market")
            m = market_decoder.decode(raw)
            steps = self._steps[sym] = (tidy(Decimal(m.tick)), tidy(Decimal(m.step)))
        return synthetic_book(
            sym,
            bid=Decimal(bid or last),
            ask=Decimal(ask or last),
            entry_id=entry_id,
            timestamp=int(ts or 0),
            price_tick=steps[0],
            amount_step=steps[1],
            levels=self.settings.book_levels,
            seed=self.settings.book_seed,
        )

    async def public_trades(self, symbol: str, limit: int | None = None) -> list[PublicTrade]:
        """The newest ``limit`` prints of ``symbol`` (default 500, at most 1000), oldest first."""
        n = self._limit(limit, TRADES_MAX, TRADES_DEFAULT)
        sym = await self.markets.symbol(symbol)
        shown, entries = await self.transport.pipeline(
            ("HGET", self.keys.ticker(sym), "id"), ("LRANGE", self.keys.tape(sym), -n, -1)
        )
        if shown is None:
            raise BadSymbol(f"{sym} has no price yet")
        out = []
        for raw in entries:  # oldest first: `n|entry id|ts|price|qty|side`
            number, entry_id, ts, price, qty, side = raw.split("|")
            out.append(
                PublicTrade(
                    id=int(number),
                    symbol=sym,
                    timestamp=int(ts),
                    price=tidy(Decimal(price)),
                    amount=tidy(Decimal(qty)),
                    side=Side(side),
                    entry_id=entry_id,
                )
            )
        return out

    async def book_diffs(self, after: str = "0-0", count: int = 1000) -> list[BookDiff]:
        """The book diffs of every symbol after market-stream entry ``after``, oldest first (at most ``count``):
        what the depth streams serve (Binance's ``U`` / ``u`` are ``first`` / ``last``)."""
        entries = await self.transport.command("XRANGE", self.keys.market_stream, f"({after}", "+", "COUNT", count)
        out = []
        for stream_id, raw in entries:
            f = raw if isinstance(raw, dict) else dict(zip(raw[::2], raw[1::2], strict=True))
            if f.get("type") == "book.diff":
                out.append(book_diff(stream_id, f["data"]))
        return out
