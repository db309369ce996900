"""Retention: the sweep trims closed orders and trades past HISTORY_RETENTION or beyond HISTORY_MAX_ORDERS,
in chunks; open orders, balances, statistics and PnL stay exactly as they were."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from app.engine import portfolio
from app.engine.audit import audit
from app.engine.errors import OrderNotFound
from app.engine.exchange import Exchange
from app.settings import Settings
from app.workers.settlement import Worker, WorkerOptions
from tests.support.accounts import names_on_every_shard
from tests.support.money import money_problems

DAY_MS = 86_400_000


async def _history(ex: Exchange, *, closed: int, canceled: int, open_: int) -> list[str]:
    """``closed`` market buys (a trade each), ``canceled`` canceled limits and ``open_`` resting limits."""
    for _ in range(closed):
        await ex.create_order("BTC/USDT", "buy", "market", "0.01")
    for i in range(canceled):
        o = await ex.create_order("BTC/USDT", "buy", "limit", "0.01", "40000", client_order_id=f"gone-{i}")
        await ex.cancel_order(o.id)
    return [(await ex.create_order("BTC/USDT", "buy", "limit", "0.01", "41000")).id for _ in range(open_)]


async def _funded(ex: Exchange) -> Exchange:
    await ex.deposit("USDT", "1000000")
    await ex.push_price("BTC/USDT", "50000", bid="49990", ask="50010")
    return ex


async def _figures(ex: Exchange) -> tuple[Any, ...]:
    """What the overview shows: balances, fill statistics, capital and PnL."""
    return (
        (await ex.fetch_balance()).rows,
        await portfolio.trade_statistics(ex),
        await portfolio.capital(ex),
        await ex.trade_stats(),
    )


async def _members(ex: Exchange) -> set[str]:
    """Every member of the order and trade indexes."""
    found: set[str] = set()
    for key in (ex.keys.order_index, ex.keys.trade_index, ex.keys.order_ids, ex.keys.trade_ids):
        found.update(await ex.redis.zrange(key, 0, -1))
    return found


async def test_history_older_than_the_retention_goes_and_nothing_else_changes(exchange: Exchange) -> None:
    ex = await _funded(exchange)
    open_ids = await _history(ex, closed=3, canceled=2, open_=2)
    before = await _figures(ex)

    kept = await ex.trim_history(now_ms=int(time.time() * 1000) + DAY_MS)  # retention 7 days: nothing is old
    assert (kept.orders, kept.trades, kept.more) == (0, 0, False)
    assert len(await ex.fetch_orders()) == 7

    later = int(time.time() * 1000) + 8 * DAY_MS
    trimmed = await ex.trim_history(now_ms=later)
    assert (trimmed.orders, trimmed.trades, trimmed.more) == (5, 3, False)
    assert [o.id for o in await ex.fetch_orders()] == open_ids
    assert await ex.fetch_my_trades() == []
    assert await _figures(ex) == before
    assert await audit(ex.redis, ex.keys) == []
    assert await money_problems(ex) == []
    members = await _members(ex)
    assert len(members) == 2 * 5  # the two open orders: order_ids + four index members each
    assert await ex.redis.hlen(ex.keys.orders) == 2
    assert await ex.redis.hlen(ex.keys.trades) == 0
    assert await ex.redis.hlen(ex.keys.cids) == 0  # the canceled orders' client ids went with them
    with pytest.raises(OrderNotFound):
        await ex.fetch_order("gone-0")
    assert (await ex.trim_history(now_ms=later)).orders == 0  # nothing left to trim


async def test_beyond_the_row_limit_the_oldest_go_first(settings: Settings) -> None:
    ex = await _funded(await Exchange.open(msgspec.structs.replace(settings, history_max_orders=3)))
    try:
        await _history(ex, closed=6, canceled=0, open_=1)
        ids = [o.id for o in await ex.fetch_orders(status="closed")]
        trade_ids = [t.id for t in await ex.fetch_my_trades()]
        before = await _figures(ex)
        trimmed = await ex.trim_history()
        assert (trimmed.orders, trimmed.trades) == (3, 3)
        assert [o.id for o in await ex.fetch_orders(status="closed")] == ids[3:]
        assert [t.id for t in await ex.fetch_my_trades()] == trade_ids[3:]
        assert len(await ex.fetch_orders(status="open")) == 1
        assert await _figures(ex) == before
        assert await audit(ex.redis, ex.keys) == []
    finally:
        await ex.close()


async def test_trimming_goes_in_chunks_and_a_sweep_leaves_the_rest_for_the_next(settings: Settings) -> None:
    ex = await _funded(await Exchange.open(msgspec.structs.replace(settings, history_chunk=2)))
    try:
        await _history(ex, closed=5, canceled=2, open_=0)
        later = int(time.time() * 1000) + 8 * DAY_MS
        first = await ex.trim_history(now_ms=later, rounds=1)
        assert (first.orders, first.trades, first.more) == (2, 2, True)  # one call: at most 2 of each
        rest = await ex.trim_history(now_ms=later)
        assert (rest.orders, rest.trades, rest.more) == (5, 3, False)
        assert await ex.redis.hlen(ex.keys.orders) == 0
        assert await _members(ex) == set()
    finally:
        await ex.close()


async def test_every_account_on_every_shard_is_trimmed_on_its_own(settings: Settings) -> None:
    ex = await Exchange.open(msgspec.structs.replace(settings, shards=3, history_max_orders=1))
    try:
        names = names_on_every_shard(3)
        views = [await _funded(ex)]
        for name in names:
            await ex.accounts.create(name, shards=3)
            views.append(await _funded(await ex.for_account(name)))
        for i, view in enumerate(views):
            await _history(view, closed=2 + i, canceled=0, open_=1)
        trimmed = await ex.trim_history()
        assert trimmed.orders == sum(1 + i for i in range(len(views)))
        for view in views:
            statuses = sorted(o.status for o in await view.fetch_orders())
            assert statuses == ["closed", "open"]
            assert len(await view.fetch_my_trades()) == 1
        for keys in ex.core.shard_keys:
            assert await audit(ex.redis, keys) == []
    finally:
        await ex.close()


async def test_the_workers_sweep_trims_history(settings: Settings, tmp_path: Path) -> None:
    ex = await _funded(await Exchange.open(msgspec.structs.replace(settings, history_retention=0.001)))
    try:
        open_ids = await _history(ex, closed=2, canceled=1, open_=1)
        await asyncio.sleep(0.01)
        await Worker(ex, WorkerOptions(name="w", burst=True, sweep=True)).run()
        assert [o.id for o in await ex.fetch_orders()] == open_ids
        assert await ex.fetch_my_trades() == []
    finally:
        await ex.close()
