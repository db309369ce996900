"""Listing orders and trades through the history indexes: dimensions, bounds, cursors, missing records."""

from __future__ import annotations

import pytest

from app.engine.errors import BadRequest
from app.engine.exchange import Exchange
from app.engine.history import MAX_LIMIT, Cursor
from tests.support.money import index_problems


@pytest.fixture
async def funded(exchange: Exchange) -> Exchange:
    await exchange.deposit("USDT", "10000000")
    await exchange.deposit("BTC", "1000")
    await exchange.deposit("ETH", "10000")
    await exchange.push_price("BTC/USDT", "50000")
    await exchange.push_price("ETH/USDT", "2000")
    return exchange


async def fills(ex: Exchange, count: int, symbol: str = "BTC/USDT", side: str = "buy") -> None:
    """``count`` filled market orders (closed, each with its trade), pipelined."""
    await ex.place_copies(await ex.plan_order(symbol, side, "market", "0.001", None, None, None), count)


async def resting(ex: Exchange, count: int, symbol: str = "BTC/USDT", side: str = "buy") -> None:
    price = "1000" if symbol == "BTC/USDT" else "100"
    await ex.place_copies(await ex.plan_order(symbol, side, "limit", "0.001", price, None, None), count)


def ids(rows: list[object]) -> list[int]:
    return [int(r.id) for r in rows]  # type: ignore[attr-defined]


async def test_the_default_page_is_the_newest_rows_oldest_first_with_a_cursor_to_older(funded: Exchange) -> None:
    await fills(funded, 12)
    page = await funded.fetch_orders_page(limit=5)
    assert ids(page.items) == list(range(8, 13))
    assert page.next == Cursor(to_id="7")
    older = await funded.fetch_orders_page(limit=5, to_id=7)
    assert ids(older.items) == [3, 4, 5, 6, 7]
    last = await funded.fetch_orders_page(limit=5, to_id=2)
    assert (ids(last.items), last.next) == ([1, 2], None)
    assert ids(await funded.fetch_orders()) == list(range(1, 13))  # default limit 500
    trades = await funded.fetch_my_trades_page(limit=5)
    assert [int(t.order_id) for t in trades.items] == list(range(8, 13))
    assert trades.next is not None
    assert trades.next.to_id is not None


async def test_since_and_from_id_give_the_oldest_rows_with_a_cursor_to_newer(funded: Exchange) -> None:
    await fills(funded, 12)
    page = await funded.fetch_orders_page(from_id=3, limit=4)
    assert (ids(page.items), page.next) == ([3, 4, 5, 6], Cursor(from_id="7"))
    page = await funded.fetch_orders_page(from_id=11, limit=4)
    assert (ids(page.items), page.next) == ([11, 12], None)
    page = await funded.fetch_orders_page(since=0, limit=3)
    assert (ids(page.items), page.next) == ([1, 2, 3], Cursor(from_id="4"))
    page = await funded.fetch_orders_page(from_id=3, to_id=5)
    assert (ids(page.items), page.next) == ([3, 4, 5], None)
    t = await funded.fetch_my_trades_page(from_id=1, limit=2)
    assert len(t.items) == 2
    assert t.next is not None
    assert t.next.from_id is not None


async def test_since_and_until_are_inclusive_times(funded: Exchange) -> None:
    await fills(funded, 3)
    orders = await funded.fetch_orders()
    first, last = orders[0].timestamp, orders[-1].timestamp
    assert ids(await funded.fetch_orders(since=first, until=last)) == [1, 2, 3]
    assert ids(await funded.fetch_orders(until=first)) == [o for o in [1, 2, 3] if orders[o - 1].timestamp == first]
    assert await funded.fetch_orders(since=last + 1) == []
    assert await funded.fetch_orders(until=first - 1) == []
    assert await funded.fetch_orders(since=last, until=first - 1) == []
    assert await funded.fetch_orders(since=10**15) == []  # later than any time: nothing, not an error
    trades = await funded.fetch_my_trades(since=first, until=last)
    assert len(trades) == 3


async def test_each_filter_reads_its_own_dimension(funded: Exchange) -> None:
    await fills(funded, 3, "BTC/USDT")
    await fills(funded, 2, "ETH/USDT", "sell")
    await resting(funded, 3, "BTC/USDT")
    await resting(funded, 2, "ETH/USDT")
    canceled = (await funded.fetch_orders(status="open", symbol="ETH/USDT"))[0]
    await funded.cancel_order(canceled.id)
    assert ids(await funded.fetch_orders(status="closed")) == [1, 2, 3, 4, 5]
    assert ids(await funded.fetch_orders(status="open")) == [6, 7, 8, 10]
    assert ids(await funded.fetch_orders(status="canceled")) == [9]
    assert ids(await funded.fetch_orders(symbol="ETH/USDT")) == [4, 5, 9, 10]
    assert ids(await funded.fetch_orders(symbol="ETHUSDT", status="open")) == [10]
    assert ids(await funded.fetch_orders(symbol="BTC/USDT", status="closed")) == [1, 2, 3]
    assert ids(await funded.fetch_orders(side="sell")) == [4, 5]
    assert ids(await funded.fetch_orders(side="sell", status="closed", symbol="ETH/USDT")) == [4, 5]
    assert await funded.fetch_orders(status="expired") == []
    assert [t.symbol for t in await funded.fetch_my_trades(symbol="ETH/USDT")] == ["ETH/USDT"] * 2
    # side filters the page read: a page of 2 of the newest orders holds no sell, but its cursor goes on
    page = await funded.fetch_orders_page(side="sell", limit=2)
    assert page.items == []
    assert page.next == Cursor(to_id="8")
    assert await index_problems(funded.redis, funded.keys) == []


async def test_a_settled_fill_moves_the_order_and_indexes_its_trade(funded: Exchange) -> None:
    await resting(funded, 3)
    assert (await funded.push_price("BTC/USDT", "900")).filled == 3
    assert await funded.fetch_orders(status="open") == []
    assert ids(await funded.fetch_orders(status="closed", symbol="BTC/USDT")) == [1, 2, 3]
    assert len(await funded.fetch_my_trades(symbol="BTC/USDT")) == 3
    assert await index_problems(funded.redis, funded.keys) == []


async def test_limits_are_checked(funded: Exchange) -> None:
    await fills(funded, 2)
    assert len(await funded.fetch_orders(limit=MAX_LIMIT)) == 2
    for bad in (0, -1, MAX_LIMIT + 1):
        with pytest.raises(BadRequest, match="limit must be between 1 and 1000"):
            await funded.fetch_orders(limit=bad)
        with pytest.raises(BadRequest, match="limit must be between 1 and 1000"):
            await funded.fetch_my_trades(limit=bad)
    for what in ("since", "until", "from_id", "to_id"):
        with pytest.raises(BadRequest, match="non-negative"):
            await funded.fetch_orders(**{what: -1})
    with pytest.raises(BadRequest, match="limit and tail"):
        await funded.fetch_orders(limit=1, tail=2)
    assert ids(await funded.fetch_orders(tail=1)) == [2]


async def test_ids_the_account_does_not_hold_are_placed_by_its_own_ids(funded: Exchange) -> None:
    await fills(funded, 3)
    await funded.accounts.create("other")
    other = await funded.for_account("other")
    await other.deposit("USDT", "1000000")
    await fills(other, 2)  # ids 4, 5
    await fills(funded, 2)  # ids 6, 7
    assert ids(await funded.fetch_orders(from_id=4)) == [6, 7]  # 4 is other's: the next held id is 6
    assert ids(await funded.fetch_orders(to_id=5)) == [1, 2, 3]  # the last held at or before 5 is 3
    assert ids(await funded.fetch_orders(from_id=999)) == []
    assert ids(await other.fetch_orders(to_id=3)) == []
    assert ids(await other.fetch_orders(from_id=1, limit=1)) == [4]
    assert ids(await funded.fetch_orders(from_id=10**20)) == []
    assert len(await funded.fetch_orders(to_id=10**20)) == 5


async def test_an_order_whose_trade_record_is_gone_is_still_listed(funded: Exchange) -> None:
    await fills(funded, 2)
    order = (await funded.fetch_orders())[0]
    await funded.redis.hdel(funded.keys.trades, order.trades[0].id)
    listed = await funded.fetch_orders()
    assert (listed[0].id, listed[0].trades, listed[0].status) == (order.id, [], "closed")
    assert listed[1].trades != []
    assert (await funded.fetch_order(order.id)).trades == []
    assert len(await funded.fetch_my_trades()) == 1


async def test_a_filter_that_matches_only_old_rows_returns_them(funded: Exchange) -> None:
    await resting(funded, 300)
    for batch in range(0, 300, 100):
        for i in range(batch + 1, batch + 101):
            await funded.cancel_order(str(i))
    await fills(funded, 700)
    page = await funded.fetch_orders_page(status="canceled", limit=1)
    assert (ids(page.items), page.next) == ([300], Cursor(to_id="299"))
    page = await funded.fetch_orders_page(status="canceled", symbol="BTC/USDT", since=0, limit=2)
    assert (ids(page.items), page.next) == ([1, 2], Cursor(from_id="3"))


async def test_reset_removes_the_accounts_index_members_only(funded: Exchange) -> None:
    await funded.accounts.create("other")
    other = await funded.for_account("other")
    await other.deposit("USDT", "1000000")
    await fills(other, 3)
    await fills(funded, 150)
    await resting(funded, 50)
    await funded.reset()
    assert await funded.fetch_orders() == []
    assert await funded.fetch_my_trades() == []
    assert ids(await other.fetch_orders()) == [1, 2, 3]
    assert await index_problems(funded.redis, funded.keys) == []
    left = await funded.redis.zrangebylex(funded.keys.order_index, "[default|", "[default|~")
    assert left == []
    await funded.reset_all()
    assert await funded.redis.exists(funded.keys.order_index, funded.keys.trade_index) == 0
