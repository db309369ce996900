"""BOOK_MODEL (published, synthetic, auto), the synthetic book, and the trade tape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine.book import entry_nonce, synthetic_book
from app.engine.errors import BadRequest, BadSymbol
from app.engine.exchange import Exchange
from app.engine.models import OrderBook
from app.engine.money import MAX_UNITS, is_multiple
from app.settings import Settings
from tests.support.book import Ticks, book_fields, settle_batch

D = Decimal
MARKETS = '[{"symbol": "BTC/USDT", "price_tick": "0.5", "amount_step": "0.001"}]'


@pytest.fixture
async def make(settings: Settings) -> AsyncIterator[Callable[..., Awaitable[Exchange]]]:
    """Exchanges on the test's namespace with BTC/USDT declared (tick 0.5, step 0.001), closed at the end."""
    opened: list[Exchange] = []

    async def open_with(**changes: Any) -> Exchange:
        ex = await Exchange.open(msgspec.structs.replace(settings, markets=MARKETS, **changes))
        opened.append(ex)
        return ex

    yield open_with
    for ex in opened:
        await ex.close()


def book_of(bid: str, ask: str, entry_id: str = "1700000000000-3", seed: int = 0, levels: int = 5) -> OrderBook:
    return synthetic_book(
        "BTC/USDT", bid=D(bid), ask=D(ask), entry_id=entry_id, timestamp=1, price_tick=D("0.5"),
        amount_step=D("0.001"), levels=levels, seed=seed,
    )  # fmt: skip


@given(
    bid=st.integers(min_value=1, max_value=400_000),
    spread=st.integers(min_value=0, max_value=10),
    seed=st.integers(min_value=0, max_value=3),
)
def test_the_synthetic_book_is_seeded_sized_on_the_grid_and_never_crossed(bid: int, spread: int, seed: int) -> None:
    b, a = D(bid) / 2, D(bid + spread) / 2
    book = book_of(str(b), str(a), seed=seed)
    assert book == book_of(str(b), str(a), seed=seed)
    assert book.model == "synthetic"
    assert book.nonce == entry_nonce("1700000000000-3") == 1_700_000_000_000 * 4096 + 3 < 2**53
    assert book.bids[0][0] == b
    assert book.asks[0][0] == (a if a > b else b + D("0.5"))
    assert book.bids[0][0] < book.asks[0][0]
    assert len(book.asks) == 5
    assert 1 <= len(book.bids) <= 5
    for side, direction in ((book.bids, -1), (book.asks, 1)):
        for i, (price, amount) in enumerate(side):
            assert price > 0
            assert amount >= D("0.001")
            assert is_multiple(amount, D("0.001"))
            if i:
                assert price - side[i - 1][0] == direction * D("0.5")


def test_a_tiny_price_gives_amounts_within_the_largest_accepted() -> None:
    book = synthetic_book(
        "PEPE/USDT", bid=D("0.00000003"), ask=D("0.00000004"), entry_id="1-0", timestamp=1,
        price_tick=D("0.00000001"), amount_step=D("0.00000001"), levels=20, seed=0,
    )  # fmt: skip
    assert [p for p, _ in book.bids] == [D("0.00000003"), D("0.00000002"), D("0.00000001")]
    assert all(amount <= MAX_UNITS for _, amount in book.bids + book.asks)


def test_the_seed_and_the_ticker_choose_the_sizes() -> None:
    base = book_of("100", "100.5")
    assert book_of("100", "100.5", seed=1).bids != base.bids
    assert book_of("100", "100.5", entry_id="1700000000000-4").bids != base.bids
    assert book_of("100", "100.5", entry_id="1700000000000-4").nonce == base.nonce + 1


async def test_auto_shows_the_published_book_and_falls_back_to_the_synthetic_one(
    make: Callable[..., Awaitable[Exchange]],
) -> None:
    auto = await make()
    published = await make(book_model="published")
    synthetic = await make(book_model="synthetic")
    tick = Ticks("BTC/USDT")
    await auto.push_price("ETH/USDT", "2000")
    eth = await auto.order_book("ETH/USDT")
    assert eth.model == "synthetic"
    assert len(eth.bids) == len(eth.asks) == 20
    assert eth.bids[0][0] < eth.asks[0][0]
    empty = await published.order_book("ETH/USDT")
    assert (empty.bids, empty.asks, empty.nonce) == ((), (), 0)

    await settle_batch(auto, tick(book_fields([("100", "1")], [("100.5", "2")])))
    book = await auto.order_book("BTC/USDT")
    assert (book.model, book.nonce, book.bids, book.asks) == (
        "published",
        1,
        ((D(100), D(1)),),
        ((D("100.5"), D(2)),),
    )
    assert await published.order_book("BTC/USDT") == book
    forced = await synthetic.order_book("BTC/USDT")
    assert forced.model == "synthetic"
    assert forced.bids[0][0] == D(100)
    assert is_multiple(forced.bids[0][1], D("0.001"))

    await settle_batch(auto, tick(book_fields([("100", "1")], [])))  # one side: auto shows the synthetic book
    assert (await auto.order_book("BTC/USDT")).model == "synthetic"
    assert (await published.order_book("BTC/USDT")).asks == ()


async def test_limits_and_symbols(exchange: Exchange) -> None:
    await exchange.push_price("BTC/USDT", "100")
    book = await exchange.order_book("BTCUSDT", 3)
    assert len(book.bids) == len(book.asks) == 3
    for bad in (0, 21, -1):
        with pytest.raises(BadRequest, match="limit"):
            await exchange.order_book("BTC/USDT", bad)
    for bad in (0, 1001):
        with pytest.raises(BadRequest, match="limit"):
            await exchange.public_trades("BTC/USDT", bad)
    with pytest.raises(BadSymbol, match="no price yet"):
        await exchange.order_book("DOGE/USDT")
    with pytest.raises(BadSymbol, match="no price yet"):
        await exchange.public_trades("DOGE/USDT")
    with pytest.raises(BadSymbol):
        await exchange.order_book("not a symbol")
    assert await exchange.public_trades("BTC/USDT") == []


async def test_prints_of_ticks_with_qty_go_to_the_tape_once(exchange: Exchange) -> None:
    tick = Ticks("BTC/USDT")
    run = tick(
        {"price": "100", "qty": "1"},  # the first print: buy
        {"price": "101"},  # a quote: no print
        {"price": "99.5", "qty": "2"},  # lower than the last print: sell
        {"price": "99.5", "qty": "0.5"},  # the same price: the previous side
        {"price": "102", "bid": "101", "ask": "102", "qty": "1"},  # at the ask: buy
        {"price": "101", "bid": "101", "ask": "102", "qty": "3"},  # at the bid: sell
        {"price": "100", "qty": "0"},  # nothing traded
    )
    await settle_batch(exchange, run)
    await settle_batch(exchange, run)  # redelivered
    await settle_batch(exchange, run[2:3])  # overtaken
    trades = await exchange.public_trades("BTC/USDT")
    assert [(t.id, str(t.price), str(t.amount), t.side) for t in trades] == [
        (1, "100", "1", "buy"),
        (2, "99.5", "2", "sell"),
        (3, "99.5", "0.5", "sell"),
        (4, "102", "1", "buy"),
        (5, "101", "3", "sell"),
    ]
    assert [t.entry_id for t in trades] == [run[i][0] for i in (0, 2, 3, 4, 5)]
    assert trades[0].timestamp == run[0][1].ts
    assert [t.id for t in await exchange.public_trades("BTC/USDT", 2)] == [4, 5]
    # applied one tick at a time (settle_tick), the next prints continue the tape
    for entry_id, t in tick({"price": "99", "qty": "1"}, {"price": "99.5", "qty": "1"}):
        await exchange.apply_tick(entry_id, t)
        await exchange.apply_tick(entry_id, t)
    assert [(t.id, t.side) for t in (await exchange.public_trades("BTC/USDT"))[-2:]] == [(6, "sell"), (7, "buy")]


async def test_the_tape_is_capped(settings: Settings) -> None:
    async with Exchange.connect(msgspec.structs.replace(settings, tape_maxlen=10)) as ex:
        tick = Ticks("BTC/USDT")
        for _ in range(6):
            await settle_batch(ex, tick(*({"price": "100", "qty": "1"} for _ in range(100))))
        held = await ex.redis.llen(ex.keys.tape("BTC/USDT"))
        assert held == 10  # trimmed to the newest TAPE_MAXLEN by the call that pushed them
        trades = await ex.public_trades("BTC/USDT", 1000)
        assert len(trades) == held
        assert trades[-1].id == 600
