"""Accounts in the engine: isolation, shards, and what a tick costs with many accounts."""

from __future__ import annotations

import math
from decimal import Decimal

import msgspec
import pytest

from app.engine.accounts import AccountRef
from app.engine.audit import audit
from app.engine.errors import AccountExists, AccountNotFound, InsufficientFunds, OrderNotFound
from app.engine.exchange import Exchange
from app.settings import Settings
from app.store.keys import ID_SPAN
from tests.support.accounts import names_on_every_shard
from tests.support.money import money_problems


async def problems(ex: Exchange) -> list[str]:
    out = []
    for keys in ex.core.shard_keys:
        out += await audit(ex.redis, keys)
    return out


async def test_accounts_are_isolated(exchange: Exchange) -> None:
    a = await exchange.for_account((await exchange.accounts.create("alice")).name)
    b = await exchange.for_account((await exchange.accounts.create("bob")).name)
    await a.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    order = await a.create_order("BTC/USDT", "buy", "limit", "1", "90", client_order_id="mine")
    with pytest.raises(OrderNotFound):
        await b.fetch_order(order.id)
    with pytest.raises(OrderNotFound):
        await b.fetch_order("mine")
    with pytest.raises(OrderNotFound):
        await b.cancel_order(order.id)
    with pytest.raises(InsufficientFunds):
        await b.create_order("BTC/USDT", "buy", "market", "1")
    assert await b.fetch_orders() == []
    assert (await b.fetch_balance()).rows == {}
    assert (await exchange.fetch_balance()).rows == {}, "the default account is an account like the others"
    # the same clientOrderId is free in another account
    await b.deposit("USDT", "1000")
    assert (await b.create_order("BTC/USDT", "buy", "limit", "1", "80", client_order_id="mine")).status == "open"
    await exchange.push_price("BTC/USDT", "85")  # fills alice's buy at 90, not bob's at 80
    assert (await a.fetch_order(order.id)).status == "closed"
    assert [o.status for o in await b.fetch_orders()] == ["open"]
    assert (await a.fetch_balance()).rows["BTC"].total == 1
    assert "BTC" not in (await b.fetch_balance()).rows
    assert await problems(exchange) == []
    assert await money_problems(exchange) == []

    await a.reset()
    assert (await a.fetch_balance()).rows == {}
    assert await a.fetch_orders() == []
    assert [o.status for o in await b.fetch_orders()] == ["open"], "a reset touches no other account"
    assert await problems(exchange) == []


async def test_registry_refuses_duplicates_and_unknown_names(exchange: Exchange) -> None:
    created = await exchange.accounts.create("carol")
    assert len(created.key) == len(created.secret) == 64
    with pytest.raises(AccountExists):
        await exchange.accounts.create("carol")
    with pytest.raises(AccountExists):
        await exchange.accounts.create("default")
    with pytest.raises(AccountNotFound):
        await exchange.for_account("nobody")
    assert await exchange.accounts.resolve(created.key) == AccountRef("carol", created.shard)
    rotated = await exchange.accounts.rotate("carol")
    assert await exchange.accounts.resolve(created.key) is None, "the old key stops at once"
    assert await exchange.accounts.resolve(rotated.key) == AccountRef("carol", created.shard)
    await exchange.accounts.unregister("carol")
    assert await exchange.accounts.resolve(rotated.key) is None


@pytest.fixture
def sharded(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, shards=3)


async def test_every_shard_settles_its_accounts_and_ids_never_collide(sharded: Settings) -> None:
    async with Exchange.connect(sharded) as ex:
        names = names_on_every_shard(3, per_shard=2)
        accounts = []
        for name in names:
            record = await ex.accounts.create(name)
            view = ex.as_account(AccountRef(name, record.shard))
            await view.deposit("USDT", "1000")
            accounts.append(view)
        await ex.push_price("BTC/USDT", "100")
        orders = [await acct.create_order("BTC/USDT", "buy", "limit", "1", "90") for acct in accounts]
        ids = [int(o.id) for o in orders]
        assert len(set(ids)) == len(ids)
        assert {i // ID_SPAN for i in ids} == {0, 1, 2}, "each shard issues ids from its own base"

        quiet = await ex.push_price("BTC/USDT", "95")
        assert (quiet.filled, quiet.calls, quiet.examined) == (0, 3, 0), "one call per shard, no order examined"
        crossing = await ex.push_price("BTC/USDT", "89")
        assert (crossing.filled, crossing.calls) == (len(names), 3)
        for acct in accounts:
            assert [o.status for o in await acct.fetch_orders()] == ["closed"]
            assert (await acct.fetch_balance()).rows["BTC"].total == 1
        assert await problems(ex) == []


async def test_an_account_reset_empties_it_on_every_shard(sharded: Settings) -> None:
    """Ids of shard 2 and above have 15+ digits: the reset must name them exactly, not as 1.4e+14."""
    async with Exchange.connect(sharded) as ex:
        await ex.push_price("BTC/USDT", "100")
        views = []
        for name in names_on_every_shard(3):
            view = await ex.for_account((await ex.accounts.create(name)).name)
            await view.deposit("USDT", "1000")
            await view.create_order("BTC/USDT", "buy", "market", "1")
            await view.create_order("BTC/USDT", "buy", "limit", "1", "90", client_order_id="mine")
            views.append(view)
        for view in views:
            await view.reset()
            keys = ex.core.shard_keys[view.account.shard]
            assert await view.fetch_orders() == []
            assert await ex.redis.hlen(keys.orders) == 0, f"shard {view.account.shard} kept orders"
            assert await ex.redis.hlen(keys.trades) == 0
            assert await ex.redis.hlen(keys.cids) == 0
            assert await ex.redis.zcard(keys.order_index) == 0
        assert await problems(ex) == []


async def test_a_tick_costs_one_call_per_shard_whatever_the_number_of_accounts(settings: Settings) -> None:
    chunk = 200
    async with Exchange.connect(msgspec.structs.replace(settings, settle_chunk=chunk)) as ex:
        await ex.push_price("BTC/USDT", "100")
        accounts = 1000
        views = [ex.as_account(AccountRef(f"a{i}")) for i in range(accounts)]  # all on shard 0
        for view in views:
            await view.deposit("USDT", "100")
        plan = await views[0].plan_order("BTC/USDT", "buy", "limit", "0.5", "90", None, None)
        assert plan.debit < 100 * 10**8
        for view in views:
            await view.create_order("BTC/USDT", "buy", "limit", "0.5", "90")

        quiet = await ex.push_price("BTC/USDT", "95")
        assert (quiet.calls, quiet.examined, quiet.filled) == (1, 0, 0)
        crossing = await ex.push_price("BTC/USDT", "89")
        assert crossing.filled == accounts
        assert crossing.calls == math.ceil(accounts / chunk) + 1  # the last call finds the book empty
        assert crossing.examined == accounts
        assert await problems(ex) == []


async def test_an_account_with_a_commission_of_its_own_pays_that_rate(exchange: Exchange) -> None:
    record = await exchange.accounts.create("cheap", commission="0.001")
    cheap = await exchange.for_account(record.name)
    await cheap.deposit("USDT", "1000")
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    mine = await cheap.create_order("BTC/USDT", "buy", "market", "1")
    theirs = await exchange.create_order("BTC/USDT", "buy", "market", "1")
    assert (mine.fee.rate, mine.fee.cost) == (Decimal("0.001"), Decimal("0.1"))
    assert (theirs.fee.rate, theirs.fee.cost) == (Decimal("0.00075"), Decimal("0.075"))
    resting = await cheap.create_order("BTC/USDT", "sell", "limit", "0.5", "120")
    await exchange.push_price("BTC/USDT", "121")
    filled = await cheap.fetch_order(resting.id)
    assert (filled.status, filled.fee.cost) == ("closed", Decimal("0.06"))
    assert await problems(exchange) == []
