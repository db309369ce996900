"""MockX on a real 3-master Valkey Cluster: scripts on every primary, slot routing, NOSCRIPT healing, the worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import RedisCluster

from app.engine.accounts import AccountRef
from app.engine.audit import audit
from app.engine.exchange import Exchange
from app.settings import Settings
from app.workers.settlement import Worker, WorkerOptions
from tests.support.accounts import names_on_every_shard
from tests.support.cluster import ValkeyCluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    with ValkeyCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture
def cluster_settings(cluster: ValkeyCluster, tmp_path: Path) -> Settings:
    ns = f"c{uuid.uuid4().hex[:12]}"
    return Settings(redis_url=cluster.url, namespace=ns, price_stream=f"{ns}:prices", data_dir=tmp_path, test_env=True)


async def test_trading_on_a_cluster(cluster_settings: Settings) -> None:
    async with Exchange.connect(cluster_settings) as ex:
        assert isinstance(ex.redis, RedisCluster)
        assert ex.transport.link is None  # one node's link cannot follow slots: redis-py carries everything
        await ex.deposit("USDT", "10000")
        await ex.push_price("BTC/USDT", "100")
        resting = await ex.create_order("BTC/USDT", "buy", "limit", "1", "90")
        other = await ex.create_order("BTC/USDT", "buy", "limit", "1", "80")
        taken = await ex.create_order("BTC/USDT", "buy", "market", "0.5")
        assert taken.status == "closed"

        result = await ex.push_price("BTC/USDT", "89")  # crosses the buy at 90, not the one at 80
        assert result.filled == 1
        assert (await ex.fetch_order(resting.id)).status == "closed"
        canceled = await ex.cancel_order(other.id)
        assert canceled.status == "canceled"

        balance = await ex.fetch_balance_row("USDT")
        assert balance.used == 0
        assert balance.total == Decimal("10000") - Decimal("90.0675") - Decimal("50.0375")
        assert (await ex.fetch_balance_row("BTC")).total == Decimal("1.5")


async def test_scripts_missing_on_every_primary_are_loaded_again(
    cluster_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with Exchange.connect(cluster_settings) as ex:
        await ex.redis.script_flush()  # every primary forgets every script, as after a restart or failover
        assert (await ex.deposit("USDT", "5")).free == Decimal(5)  # one call: healed
        await ex.push_price("BTC/USDT", "100")
        await ex.redis.script_flush()
        plan = await ex.plan_order("BTC/USDT", "buy", "limit", "0.01", "50", None, None)
        await ex.place_copies(plan, 3)  # a pipelined batch: healed
        assert len(await ex.fetch_orders(status="open")) == 3
        assert sum("missing" in r.getMessage() for r in caplog.records) == 3  # deposit, settle_tick, the batch


async def test_the_worker_settles_on_a_cluster(cluster_settings: Settings) -> None:
    async with Exchange.connect(cluster_settings) as ex:
        await ex.deposit("USDT", "10000")
        await ex.push_price("BTC/USDT", "100")
        await ex.push_price("ETH/USDT", "10")
        buy = await ex.create_order("BTC/USDT", "buy", "limit", "1", "95")
        sell = await ex.create_order("ETH/USDT", "buy", "limit", "1", "9")
        for price in ("99", "94", "96"):
            await ex.redis.xadd(cluster_settings.price_stream, {"symbol": "BTC/USDT", "price": price})
        await ex.redis.xadd(cluster_settings.price_stream, {"symbol": "ETH/USDT", "price": "8"})
        await ex.redis.script_flush()  # the worker's pipelined settle_batch calls heal too

        counters = await Worker(ex, WorkerOptions(name="w1", burst=True)).run()

        assert (counters.processed, counters.filled) == (6, 2)  # the two push_price entries are in the stream too
        assert (await ex.fetch_order(buy.id)).status == "closed"
        assert (await ex.fetch_order(sell.id)).status == "closed"
        assert (await ex.fetch_ticker("BTC/USDT")).last == Decimal(96)
        assert int((await ex.redis.xpending(cluster_settings.price_stream, "settlement"))["pending"]) == 0


async def test_accounts_on_six_shards_spread_over_the_cluster(cluster: ValkeyCluster, tmp_path: Path) -> None:
    """SHARDS=6: every shard's hash tag is a slot of its own; orders, ticks (worker and push_price), cancels
    and the money invariants of every account hold across the cluster's masters."""
    ns = f"c{uuid.uuid4().hex[:12]}"
    settings = Settings(
        redis_url=cluster.url, namespace=ns, price_stream=f"{ns}:prices", data_dir=tmp_path, test_env=True, shards=6
    )
    async with Exchange.connect(settings) as ex:
        slots = {await ex.redis.cluster_keyslot(keys.balances) for keys in ex.core.shard_keys}
        nodes = {ex.redis.get_node_from_key(keys.balances).name for keys in ex.core.shard_keys}
        assert (len(slots), len(nodes)) == (6, 3), "six shards, spread over the three masters"
        await ex.push_price("BTC/USDT", "100")
        views = []
        for name in names_on_every_shard(6):
            record = await ex.accounts.create(name)
            view = ex.as_account(AccountRef(name, record.shard))
            await view.deposit("USDT", "1000")
            views.append(view)
        resting = [await v.create_order("BTC/USDT", "buy", "limit", "1", "90") for v in views]
        spare = [await v.create_order("BTC/USDT", "buy", "limit", "1", "80") for v in views]
        assert len({o.id for o in resting + spare}) == 12

        assert (await ex.push_price("BTC/USDT", "95")).calls == 6  # one settle call per shard
        await ex.redis.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": "89"})
        counters = await Worker(ex, WorkerOptions(name="w6", burst=True)).run()
        assert counters.filled == 6
        for view, order, other in zip(views, resting, spare, strict=True):
            assert (await view.fetch_order(order.id)).status == "closed"
            assert (await view.cancel_order(other.id)).status == "canceled"
            assert (await view.fetch_balance_row("BTC")).total == 1
        # retention: every shard's accounts trimmed by one pipeline of calls routed to their masters
        trimmed = await ex.trim_history(now_ms=int(time.time() * 1000) + 8 * 86_400_000)
        assert (trimmed.orders, trimmed.trades, trimmed.more) == (12, 6, False)
        for view in views:
            assert await view.fetch_orders() == []
        for keys in ex.core.shard_keys:
            assert await audit(ex.redis, keys) == []
