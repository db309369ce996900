"""Settlement: applying price ticks to the book, chunk by chunk, and the periodic sweep.

A tick is applied by ``settle_tick.lua`` (one tick) or ``settle_batch.lua`` (a run of one symbol's
ticks, the workers' path); each call fills at most ``SETTLE_CHUNK`` orders and says where to continue.
Ticks are idempotent (see the scripts' headers): applying one twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.engine.core import Core, Part
from app.engine.errors import BadRequest
from app.engine.market_data import MarketData
from app.engine.money import is_multiple, price_str
from app.engine.ticks import Tick
from app.store.keys import DIRECTIONS, SIDES
from app.store.protocol import SettlePhase
from app.store.records import market_decoder
from app.store.scripts import SettleStep

#: Books one ``EXISTS`` of the sweep counts at once.
BOOK_GROUP = 64


@dataclass(frozen=True, slots=True)
class SettleResult:
    """What one tick did."""

    entry_id: str
    symbol: str
    filled: int
    newest: bool  # whether the tick is now the one the ticker shows
    calls: int
    examined: int


class Settlement(Part):
    """Applies ticks: the ticker, then every crossed order of the book."""

    def __init__(self, core: Core, markets: MarketData) -> None:
        super().__init__(core)
        self.markets = markets
        self._groups: tuple[list[str] | None, list[list[tuple[tuple[str, int], str]]]] = (None, [])

    async def push_price(
        self,
        symbol: str,
        price: object,
        *,
        bid: object = None,
        ask: object = None,
        ts: int | None = None,
        volume: object = None,
    ) -> SettleResult:
        """Publish a tick on the price stream and apply it now; returns once its fills are done.

        The settlement workers will see the same entry and find nothing left to do (ticks are
        idempotent), so this works with or without workers running.
        """
        from app.engine.ticks import MalformedTick, parse_tick

        fields: dict[str, str] = {"symbol": str(symbol), "price": str(price)}
        for name, value in (("bid", bid), ("ask", ask), ("volume", volume)):
            if value is not None:
                fields[name] = str(value)
        if ts is not None:
            fields["ts"] = str(ts)
        try:
            symbol_norm = await self.markets.symbol(symbol)
            fields["symbol"] = symbol_norm
            tick = parse_tick(fields, "0-0")  # validate before publishing anything
        except MalformedTick as exc:
            raise BadRequest(str(exc)) from None
        await self._check_tick_size(tick)
        entry_id = await self.redis.xadd(
            self.settings.price_stream, fields, maxlen=self.settings.price_stream_maxlen, approximate=True
        )
        return await self.apply_tick(entry_id, parse_tick(fields, entry_id, book_levels=self.settings.book_levels))

    async def _check_tick_size(self, tick: Tick) -> None:
        """Refuse a price, bid or ask off the price tick of the symbol's market (if it has one yet)."""
        raw = await self.redis.hget(self.keys.markets, tick.symbol)
        if raw is None:
            return
        market = market_decoder.decode(raw)
        step = Decimal(market.tick)
        for name, value in (("price", tick.price), ("bid", tick.bid), ("ask", tick.ask)):
            if not is_multiple(value, step):
                raise BadRequest(
                    f"{name} {price_str(value)} is not a multiple of the price tick {market.tick} of {tick.symbol}: "
                    "nothing was published"
                )

    @property
    def shards(self) -> range:
        return range(len(self.core.shard_scripts))

    async def apply_tick(self, entry_id: str, tick: Tick) -> SettleResult:
        """Apply one price-stream entry to every shard: ticker, then every crossed order, chunk by chunk."""
        results = []
        for shard in self.shards:
            step = await self._settle_call(entry_id, tick, SettlePhase.FIRST, (0, 0), shard)
            results.append(await self.finish_tick(entry_id, tick, step, shard))
        return _combined(results)

    async def finish_tick(self, entry_id: str, tick: Tick, first: SettleStep, shard: int = 0) -> SettleResult:
        """Continue a tick on ``shard`` whose first settle call returned ``first`` until every chunk is done."""
        step, calls, filled, examined = first, 1, first.filled, first.examined
        while not step.done:
            step = await self._settle_call(entry_id, tick, step.mode, (step.buy_offset, step.sell_offset), shard)
            calls += 1
            filled += step.filled
            examined += step.examined
        return SettleResult(entry_id, tick.symbol, filled, first.mode is SettlePhase.NORMAL, calls, examined)

    def _market(self, symbol: str, shard: int) -> str:
        """What a settle call registers as the market: shard 0 keeps the market data, the others a ticker copy."""
        return self.markets.market_json(symbol) if shard == 0 else ""

    def settle_call_args(
        self,
        entry_id: str,
        tick: Tick,
        phase: SettlePhase,
        offsets: tuple[int, int],
        values: list[str] | None = None,
        shard: int = 0,
    ) -> tuple[list[str], list[str]]:
        """Keys and args of a settle_tick call; ``values`` is ``tick.settle_values()`` if already at hand."""
        return self.core.shard_scripts[shard].settle_args(
            tick.symbol,
            entry_id,
            values or tick.settle_values(),
            phase,
            offsets,
            self.settings.settle_chunk,
            self._market(tick.symbol, shard),
        )

    def settle_batch_call_args(
        self, symbol: str, run: list[tuple[str, list[str]]], shard: int = 0
    ) -> tuple[list[str], list[str]]:
        """Keys and args of a settle_batch call: ``run`` holds (entry id, settle values) of ticks of ``symbol``."""
        scripts = self.core.shard_scripts[shard]
        return scripts.settle_batch_args(symbol, run, self.settings.settle_chunk, self._market(symbol, shard))

    async def _settle_call(
        self, entry_id: str, tick: Tick, phase: SettlePhase, offsets: tuple[int, int], shard: int = 0
    ) -> SettleStep:
        keys, args = self.settle_call_args(entry_id, tick, phase, offsets, shard=shard)
        return await self.core.shard_scripts[shard].settle_tick(keys, args)

    async def sweep(self) -> int:
        """Re-check the resting orders of every shard against its latest prices; returns the fills made.

        Only books that hold orders are looked at (:meth:`books_with_orders`): a quiet symbol costs the sweep
        no settle call and no command of its own.
        """
        filled = 0
        for symbol, shard in await self.books_with_orders():
            raw = await self.redis.hgetall(self.core.shard_keys[shard].ticker(symbol))
            if not raw or not raw.get("id"):
                continue
            tick = Tick(
                symbol=symbol,
                price=Decimal(raw["last"]),
                bid=Decimal(raw.get("bid") or raw["last"]),
                ask=Decimal(raw.get("ask") or raw["last"]),
                ts=int(raw.get("ts") or 0),
            )
            step = await self._settle_call(raw["id"], tick, SettlePhase.SWEEP, (0, 0), shard)
            filled += (await self.finish_tick(raw["id"], tick, step, shard)).filled
        return filled

    async def books_with_orders(self) -> list[tuple[str, int]]:
        """(symbol, shard) of every book side (or trigger index) that holds an order, sorted.

        Valkey deletes a sorted set when its last member goes, so a book exists only while it holds orders:
        one ``EXISTS`` counts a group of :data:`BOOK_GROUP` books of a shard (one slot), and only the books of
        a group that has any are asked one by one. Two round trips, and a number of commands that grows with
        the symbols / ``BOOK_GROUP`` and with the books that hold orders.
        """
        groups = self._book_groups(await self.markets.symbols())
        if not groups:
            return []
        counts = await self.transport.pipeline(*(("EXISTS", *(key for _, key in group)) for group in groups))
        candidates = [book for group, n in zip(groups, counts, strict=True) if int(n) for book in group]
        if not candidates:
            return []
        held = await self.transport.pipeline(*(("EXISTS", key) for _, key in candidates))
        return sorted({book for (book, _), n in zip(candidates, held, strict=True) if int(n)})

    def _book_groups(self, symbols: list[str]) -> list[list[tuple[tuple[str, int], str]]]:
        """The book keys of ``symbols`` on every shard in groups of one shard each (built once per list)."""
        if self._groups[0] is not symbols:
            groups = []
            for shard in self.shards:
                keys = self.core.shard_keys[shard]
                books = [((symbol, shard), keys.book(symbol, side)) for symbol in symbols for side in SIDES]
                books += [((symbol, shard), keys.triggers(symbol, d)) for symbol in symbols for d in DIRECTIONS]
                groups += [books[i : i + BOOK_GROUP] for i in range(0, len(books), BOOK_GROUP)]
            self._groups = (symbols, groups)
        return self._groups[1]


def _combined(results: list[SettleResult]) -> SettleResult:
    """One tick's results on every shard as one (``newest``: as shard 0, which shows the market ticker)."""
    first = results[0]
    return SettleResult(
        first.entry_id,
        first.symbol,
        sum(r.filled for r in results),
        first.newest,
        sum(r.calls for r in results),
        sum(r.examined for r in results),
    )
