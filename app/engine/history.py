"""Listing the account's orders and trades a page at a time, through the history indexes.

Every list reads one page of one lexicographic index (``S:order_index`` / ``S:trade_index``, see *History*
in :mod:`app.store.keys`) with one ``ZRANGEBYLEX`` / ``ZREVRANGEBYLEX`` and the page's records with one
``HMGET``: O(log n + limit) whatever the history size and wherever the matching rows are.

The filters choose the index dimension: ``status`` and ``symbol`` → ``sym:<SYMBOL>:<status>``, ``status``
→ ``st:<status>``, ``symbol`` → ``sym:<SYMBOL>``, neither → ``all``. ``side`` is the one filter with no
dimension: it filters the page that was read, so a page may hold fewer than ``limit`` rows (even none)
while a next page exists.

Paging, the same for orders and trades:

* a page is always returned oldest first (ascending time, then id) and holds at most ``limit`` rows
  (default 500, at most 1000);
* with neither ``since`` nor ``from_id`` it is the **newest** ``limit`` matching rows at or before
  ``until`` (ms, inclusive) and ``to_id`` (the row with that id and older); the next page (older rows)
  is ``to_id=<id of the next older row>``;
* with ``since`` (ms, inclusive) or ``from_id`` (the row with that id and newer) it is the **oldest**
  ``limit`` rows at or after them, bounded by ``until`` / ``to_id`` if given; the next page (newer rows)
  is ``from_id=<id of the next newer row>``.

An id is placed through its row's record (its time and id). An id the account does not hold (unknown, or
another account's) stands for the first id the account holds at or after it (``from_id``) or the last at
or before it (``to_id``); if there is none, the page is empty. A walk that follows the next cursors sees
every row that existed when it started exactly once, while new rows arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec

from app.engine.accounts import AccountRef
from app.engine.core import Core, Part
from app.engine.enums import Side
from app.engine.errors import BadRequest
from app.engine.inputs import normalize_status, word
from app.engine.market_data import MarketData
from app.engine.models import Order, Trade
from app.store.keys import member
from app.store.records import OrderRecord, TradeRecord, order_decoder, trade_decoder

T = TypeVar("T")

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
MAX_TS = 10**13 - 1  # the index holds 13-digit ms times (until the year 2286)
MAX_ID = 10**16 - 1  # and 16-digit ids (every id is below 2**53)
_RESOLVE = 16  # held ids read at once when an id has to be placed through S:order_ids / S:trade_ids


class Cursor(msgspec.Struct, frozen=True):
    """Where the next page starts: ``from_id`` (the walk goes to newer rows) or ``to_id`` (to older ones)."""

    from_id: str | None = None
    to_id: str | None = None


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a list, oldest first, and the cursor of the next page (None on the last one)."""

    items: list[T]
    next: Cursor | None = None


class Window(msgspec.Struct, frozen=True):
    """Which rows of one index dimension a page is read from (see the module docstring)."""

    since: int | None = None
    until: int | None = None
    from_id: int | None = None
    to_id: int | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def of(
        cls,
        since: int | None,
        until: int | None,
        from_id: int | None,
        to_id: int | None,
        limit: int | None,
        tail: int | None = None,
    ) -> Window:
        """The window, every value checked: a bad one is a BadRequest that says what is accepted."""
        if limit is not None and tail is not None and limit != tail:
            raise BadRequest("limit and tail mean the same thing: send one of them")
        limit = limit if limit is not None else tail
        if limit is not None and not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        return cls(
            since=_bounded(since, "since", MAX_TS),
            until=_bounded(until, "until", MAX_TS),
            from_id=_bounded(from_id, "fromId", MAX_ID),
            to_id=_bounded(to_id, "toId", MAX_ID),
            limit=DEFAULT_LIMIT if limit is None else limit,
        )

    @property
    def newest(self) -> bool:
        """Whether the page is the newest rows of the window (no lower bound given)."""
        return self.since is None and self.from_id is None


def _bounded(value: int | None, what: str, top: int) -> int | None:
    """``value`` (None: not given), at most ``top``: a later time or a higher id than any held means the same."""
    if value is not None and value < 0:
        raise BadRequest(f"{what} must be a non-negative integer, got {value}")
    return None if value is None else min(value, top)


def position(ts: str | int, id_: str | int) -> str:
    """The place of a row in an index dimension: ``<ts, 13 digits>|<id, 16 digits>``."""
    return f"{int(ts):013d}|{int(id_):016d}"


def order_dim(status: str | None, symbol: str | None) -> str:
    """The ``S:order_index`` dimension that holds exactly the orders of ``status`` and ``symbol``."""
    if status and symbol:
        return f"sym:{symbol}:{status}"
    if status:
        return f"st:{status}"
    return f"sym:{symbol}" if symbol else "all"


class History(Part):
    """The account's orders and trades, listed a page at a time."""

    def __init__(self, core: Core, markets: MarketData, account: AccountRef) -> None:
        super().__init__(core, account.shard)
        self.markets = markets
        self.acct = account.name

    async def fetch_orders(
        self,
        *,
        status: str | None = None,
        symbol: str | None = None,
        side: str | None = None,
        since: int | None = None,
        until: int | None = None,
        from_id: int | None = None,
        to_id: int | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> list[Order]:
        """The orders of :meth:`fetch_orders_page` (one page, oldest first), without the cursor."""
        page = await self.fetch_orders_page(
            status=status, symbol=symbol, side=side, since=since, until=until, from_id=from_id, to_id=to_id,
            limit=limit, tail=tail,
        )  # fmt: skip
        return page.items

    async def fetch_my_trades(
        self,
        *,
        symbol: str | None = None,
        since: int | None = None,
        until: int | None = None,
        from_id: int | None = None,
        to_id: int | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> list[Trade]:
        """The trades of :meth:`fetch_my_trades_page` (one page, oldest first), without the cursor."""
        page = await self.fetch_my_trades_page(
            symbol=symbol, since=since, until=until, from_id=from_id, to_id=to_id, limit=limit, tail=tail
        )
        return page.items

    async def fetch_orders_page(
        self,
        *,
        status: str | None = None,
        symbol: str | None = None,
        side: str | None = None,
        since: int | None = None,
        until: int | None = None,
        from_id: int | None = None,
        to_id: int | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> Page[Order]:
        """One page of the account's orders (see the module docstring); filters combine, ``side`` filters
        the page read. Each order carries its trade, if the trade record is still held."""
        window = Window.of(since, until, from_id, to_id, limit, tail)
        st = normalize_status(status) if status else None
        sym = await self.markets.symbol(symbol) if symbol else None
        if side is not None:
            word(Side, "side", side)
        records, cursor = await self._page(self.keys.order_index, self.keys.order_ids, self.keys.orders,
                                           order_decoder.decode, order_dim(st, sym), window)  # fmt: skip
        if side is not None:
            records = [r for r in records if r.side == side]
        return Page([Order.from_record(r, t) for r, t in zip(records, await self.trades_of(records), strict=True)],
                    cursor)  # fmt: skip

    async def fetch_my_trades_page(
        self,
        *,
        symbol: str | None = None,
        since: int | None = None,
        until: int | None = None,
        from_id: int | None = None,
        to_id: int | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> Page[Trade]:
        """One page of the account's fills (see the module docstring), by trade time."""
        window = Window.of(since, until, from_id, to_id, limit, tail)
        sym = await self.markets.symbol(symbol) if symbol else None
        records, cursor = await self._page(self.keys.trade_index, self.keys.trade_ids, self.keys.trades,
                                           trade_decoder.decode, f"sym:{sym}" if sym else "all", window)  # fmt: skip
        return Page([Trade.from_record(r) for r in records], cursor)

    async def trades_of(self, records: list[OrderRecord]) -> list[TradeRecord | None]:
        """The trade of each order (None when it has none, or its record is no longer held)."""
        tids = [r.tid for r in records if r.tid]
        found: dict[str, TradeRecord] = {}
        if tids:
            for raw in await self.redis.hmget(self.keys.trades, tids):
                if raw:
                    t = trade_decoder.decode(raw)
                    found[t.id] = t
        return [found.get(r.tid) if r.tid else None for r in records]

    async def _page(
        self, index: str, ids: str, store: str, decode: Callable[[Any], Any], dim: str, w: Window
    ) -> tuple[list[Any], Cursor | None]:
        """The records of one page of ``dim`` in ``index`` (oldest first) and the next page's cursor."""
        prefix = f"{self.acct}|{dim}|"
        low, high = "", "~"  # within the dimension: below / above every position
        if w.from_id is not None:
            start = await self._place(ids, store, decode, w.from_id, newer=True)
            if start is None:
                return [], None
            low = start
        if w.since is not None:
            low = max(low, f"{w.since:013d}|")
        if w.to_id is not None:
            end = await self._place(ids, store, decode, w.to_id, newer=False)
            if end is None:
                return [], None
            high = end
        if w.until is not None:
            high = min(high, f"{w.until:013d}|~")
        lo, hi = f"[{prefix}{low}", f"[{prefix}{high}"
        if w.newest:
            members = await self.redis.zrevrangebylex(index, hi, lo, start=0, num=w.limit + 1)
        else:
            members = await self.redis.zrangebylex(index, lo, hi, start=0, num=w.limit + 1)
        cursor = None
        if len(members) > w.limit:
            next_id = str(int(members.pop()[-16:]))
            cursor = Cursor(to_id=next_id) if w.newest else Cursor(from_id=next_id)
        if w.newest:
            members.reverse()
        if not members:
            return [], cursor
        raws = await self.redis.hmget(store, [str(int(m[-16:])) for m in members])
        return [decode(raw) for raw in raws if raw is not None], cursor  # a row trimmed meanwhile is skipped

    async def _place(
        self, ids: str, store: str, decode: Callable[[Any], Any], row_id: int, *, newer: bool
    ) -> str | None:
        """The position of row ``row_id`` of the account, or (an id it does not hold) of the first row it
        holds at or after it (``newer``) / the last at or before it; None when there is no such row."""
        raw = await self.redis.hget(store, str(row_id))
        record = decode(raw) if raw is not None else None
        if record is not None and record.acct == self.acct:
            return position(record.ts, record.id)
        at, edge = f"[{member(self.acct, row_id)}", f"[{self.acct}|" + ("~" if newer else "")
        while True:
            if newer:
                held = await self.redis.zrangebylex(ids, at, edge, start=0, num=_RESOLVE)
            else:
                held = await self.redis.zrevrangebylex(ids, at, edge, start=0, num=_RESOLVE)
            if not held:
                return None
            for raw in await self.redis.hmget(store, [str(int(m[-16:])) for m in held]):
                record = decode(raw) if raw is not None else None
                if record is not None and record.acct == self.acct:
                    return position(record.ts, record.id)
            at = f"({held[-1]}"  # every record of these was gone (trimmed meanwhile): look further
