"""The published order book kept by the settle calls: update ids, diffs, forward-only by entry id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.exchange import Exchange
from app.engine.models import BookLevel
from app.settings import Settings
from tests.support.book import Ticks, apply_diff, book_fields, settle_batch

D = Decimal


@pytest.fixture
async def ex(settings: Settings) -> AsyncIterator[Exchange]:
    exchange = await Exchange.open(msgspec.structs.replace(settings, book_model="published"))
    yield exchange
    await exchange.close()


def levels(*pairs: tuple[str, str]) -> tuple[BookLevel, ...]:
    return tuple((D(p), D(q)) for p, q in pairs)


async def test_each_published_book_takes_one_update_id_and_a_call_one_diff(ex: Exchange) -> None:
    tick = Ticks("BTC/USDT")
    books = [
        book_fields([("100", "1"), ("99", "2")], [("101", "1"), ("102", "3")]),
        book_fields([("100", "1.5"), ("99", "2")], [("101", "1")]),
        book_fields([("100", "1.5")], [("101", "1"), ("103", "4")]),
    ]
    await settle_batch(ex, tick(*books))
    book = await ex.order_book("BTC/USDT")
    assert (book.nonce, book.model) == (3, "published")
    assert book.bids == levels(("100", "1.5"))
    assert book.asks == levels(("101", "1"), ("103", "4"))
    [diff] = await ex.book_diffs()
    assert (diff.symbol, diff.first, diff.last) == ("BTC/USDT", 1, 3)
    assert diff.bids == levels(("100", "1.5"))  # 99 never showed in a stored book: nothing to remove
    assert diff.asks == levels(("101", "1"), ("103", "4"))

    quote_only, with_book = tick({"price": "100.5"}, book_fields([("100", "2")], [("101", "1")]))
    await settle_batch(ex, [quote_only])
    assert (await ex.order_book("BTC/USDT")).nonce == 3  # a tick without a book publishes none
    await settle_batch(ex, [with_book])
    book = await ex.order_book("BTC/USDT")
    assert book.nonce == 4
    assert book.asks == levels(("101", "1"))
    last = (await ex.book_diffs())[-1]
    assert (last.first, last.last) == (4, 4)
    assert last.bids == levels(("100", "2"))
    assert last.asks == levels(("103", "0"))


async def test_settle_tick_keeps_the_book_too(ex: Exchange) -> None:
    [(entry_id, t)] = Ticks("ETH/USDT")(book_fields([("10", "1")], [("11", "2")]))
    await ex.apply_tick(entry_id, t)
    await ex.apply_tick(entry_id, t)  # redelivered
    book = await ex.order_book("ETH/USDT")
    assert book.nonce == 1
    assert book.bids == levels(("10", "1"))
    assert book.asks == levels(("11", "2"))
    assert [(d.first, d.last) for d in await ex.book_diffs()] == [(1, 1)]


async def test_redelivered_and_overtaken_books_change_nothing(ex: Exchange) -> None:
    tick = Ticks("BTC/USDT")
    old, new = tick(book_fields([("100", "1")], [("101", "1")]), book_fields([("100", "2")], [("101", "2")]))
    await settle_batch(ex, [new])
    await settle_batch(ex, [old])  # overtaken: older than the stored book
    await settle_batch(ex, [new])  # redelivered
    await settle_batch(ex, [old, new])
    book = await ex.order_book("BTC/USDT")
    assert book.nonce == 1
    assert book.bids == levels(("100", "2"))
    assert len(await ex.book_diffs()) == 1


async def test_levels_of_qty_zero_are_left_out_and_a_missing_side_is_empty(ex: Exchange) -> None:
    tick = Ticks("BTC/USDT")
    await settle_batch(ex, tick(book_fields([("100", "1"), ("99", "0")], [("101", "0"), ("102", "3")])))
    book = await ex.order_book("BTC/USDT")
    assert book.bids == levels(("100", "1"))
    assert book.asks == levels(("102", "3"))
    await settle_batch(ex, tick(book_fields([("100", "1")], [])))
    assert (await ex.order_book("BTC/USDT")).asks == ()


async def test_a_shard_other_than_shard_0_keeps_no_book(settings: Settings) -> None:
    async with Exchange.connect(msgspec.structs.replace(settings, shards=2, book_model="published")) as ex:
        [(entry_id, t)] = Ticks("BTC/USDT")(book_fields([("100", "1")], [("101", "1")], qty="1"))
        await ex.apply_tick(entry_id, t)
        assert (await ex.order_book("BTC/USDT")).nonce == 1
        assert len(await ex.public_trades("BTC/USDT")) == 1
        other = ex.core.shard_keys[1]
        assert await ex.redis.keys(f"{other.tag}:depth:*") == []
        assert await ex.redis.keys(f"{other.tag}:tape:*") == []
        assert not await ex.redis.exists(f"{other.tag}:market")


prices = st.integers(min_value=1, max_value=60)
sides = st.dictionaries(prices, st.integers(min_value=0, max_value=5), max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.lists(st.tuples(sides, sides), min_size=1, max_size=4), min_size=1, max_size=5))
async def test_the_diffs_applied_to_a_snapshot_reproduce_each_next_book(
    ex: Exchange, runs: list[list[tuple[dict[int, int], dict[int, int]]]]
) -> None:
    symbol = f"H{uuid.uuid4().hex[:10].upper()}/USDT"
    tick = Ticks(symbol)
    start = await ex.book_diffs()
    after = start[-1].stream_id if start else "0-0"
    local: tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]] = ((), ())
    nonce = 0
    for run in runs:
        fields = []
        for bid_side, ask_side in run:
            bids = [(str(p), str(q)) for p, q in sorted(bid_side.items(), reverse=True)]  # bids 1..60
            asks = [(str(p + 100), str(q)) for p, q in sorted(ask_side.items())]  # asks 101..160
            if not bids and not asks:
                bids = [("1", "1")]
            fields.append(book_fields(bids, asks))
        await settle_batch(ex, tick(*fields))
        diffs = [d for d in await ex.book_diffs(after) if d.symbol == symbol]
        assert len(diffs) == 1
        diff = diffs[0]
        after = diff.stream_id
        assert (diff.first, diff.last) == (nonce + 1, nonce + len(run))
        local = apply_diff(local, diff)
        book = await ex.order_book(symbol)
        nonce = book.nonce
        assert nonce == diff.last
        assert local == (book.bids, book.asks)
