"""The equity snapshots behind the dashboard's curve: what a point says, its flows, and its bounds."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from app.api.dashboard.equity import EquityBook
from app.engine.exchange import Exchange


async def test_each_read_is_a_snapshot_and_money_moved_in_or_out_is_its_flow(exchange: Exchange) -> None:
    book = EquityBook(exchange)
    try:
        await exchange.deposit("USDT", "10000")
        await exchange.push_price("BTC/USDT", "50000")
        first = (await book.curve(exchange)).points
        assert [(p.equity, p.netDeposits, p.flow) for p in first] == [(10000, 10000, 10000)]  # funded before
        await exchange.create_order("BTC/USDT", "buy", "market", "0.1")
        await exchange.push_price("BTC/USDT", "51000")
        traded = (await book.curve(exchange)).points[-1]
        assert traded.flow == 0  # a trade and a price move are not money in or out
        assert traded.equity == Decimal("10000") - Decimal("3.75") + Decimal("100")  # fee 0.075 % of 5000; +0.1 × 1000
        await exchange.deposit("BTC", "0.5")
        await exchange.withdraw("USDT", "1000")
        moved = (await book.curve(exchange)).points[-1]
        assert moved.flow == Decimal("0.5") * 51000 - 1000
        assert moved.netDeposits == 10000 + Decimal("0.5") * 51000 - 1000
        curve = await book.curve(exchange)
        assert curve.cashAsset == "USDT"
        assert [p.ts for p in curve.points] == sorted(p.ts for p in curve.points)
    finally:
        await book.close()


async def test_a_flat_run_keeps_two_points_and_a_full_curve_thins_its_older_half(exchange: Exchange) -> None:
    book = EquityBook(exchange, max_points=10)
    try:
        await exchange.deposit("USDT", "1000")
        for _ in range(5):
            await book.curve(exchange)
        assert len((await book.curve(exchange)).points) == 2
        await exchange.deposit("BTC", "1")
        for i in range(40):
            await exchange.push_price("BTC/USDT", str(100 + i))
            if i == 3:
                await exchange.deposit("USDT", "7")
            await book.curve(exchange)
        points = (await book.curve(exchange)).points
        assert len(points) <= 10
        assert points[-1].equity == 1007 + 139
        assert [p.flow for p in points if p.flow][:1] == [Decimal(1000)]  # the first funding is kept
        assert Decimal(7) in [p.flow for p in points], points  # so is every later flow
    finally:
        await book.close()


async def test_accounts_are_bounded_and_a_reset_starts_a_new_curve(exchange: Exchange) -> None:
    book = EquityBook(exchange, max_accounts=2)
    try:
        for name in ("a", "b", "c"):
            await exchange.accounts.create(name)
            await book.curve(await exchange.for_account(name))
        assert list(book._series) == ["b", "c"]  # the least recently read is forgotten
        await exchange.deposit("USDT", "500")
        await book.curve(exchange)
        await exchange.reset()
        await exchange.deposit("USDT", "20")
        points = (await book.curve(exchange)).points
        assert [(p.equity, p.flow) for p in points] == [(20, 20)]
    finally:
        await book.close()


async def test_a_watched_account_is_sampled_without_being_read(exchange: Exchange) -> None:
    book = EquityBook(exchange, sample_seconds=0.05)
    try:
        await exchange.deposit("USDT", "100")
        await book.curve(exchange)
        await exchange.deposit("USDT", "1")
        await asyncio.sleep(0.3)
        points = book._series["default"].points
        assert [p.flow for p in points][:2] == [100, 1]
    finally:
        await book.close()
