"""What accounts and shards cost: a tick against 1 / 100 / 1 000 accounts, against 1 / 3 / 6 shards on a
local 3-master Valkey Cluster, and orders/s with 10 accounts trading at once against 1.

Tick cost is Valkey's own time (SLOWLOG, threshold 0) of the settle calls one tick makes, and the calls
it needs: a tick crossing nothing, and one crossing one resting order of every account. Orders/s are engine
calls (no HTTP) from 10 concurrent tasks, each on an account of its own or all on one.

    .venv/bin/python bench/accounts.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import msgspec

from app.engine.accounts import AccountRef
from app.engine.exchange import Exchange
from app.settings import Settings
from app.store.embedded import EmbeddedValkey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.accounts import names_on_every_shard
from tests.support.cluster import ValkeyCluster


def settings(url: str, **changes: object) -> Settings:
    ns = f"bench{uuid.uuid4().hex[:8]}"
    base = Settings(redis_url=url, namespace=ns, price_stream=f"{ns}:prices", test_env=True)
    return msgspec.structs.replace(base, **changes)


async def valkey_ms(ex: Exchange, tick: object) -> tuple[float, int, int]:
    """Valkey's time for the settle calls of one awaited tick (on every node), the calls and the fills."""
    nodes = ex.redis.get_primaries() if hasattr(ex.redis, "get_primaries") else [None]
    for node in nodes:
        await ex.redis.slowlog_reset(**({"target_nodes": node} if node is not None else {}))
    result = await tick  # type: ignore[misc]
    total = 0
    for node in nodes:
        kw = {"target_nodes": node} if node is not None else {}
        entries = await ex.redis.slowlog_get(1000, **kw)
        total += sum(e["duration"] for e in entries if b"EVALSHA" in str(e["command"]).encode())
    return total / 1000, result.calls, result.filled


async def tick_case(url: str, accounts: int, shards: int) -> str:
    async with Exchange.connect(settings(url, shards=shards)) as ex:
        nodes = ex.redis.get_primaries() if hasattr(ex.redis, "get_primaries") else [None]
        for node in nodes:
            kw = {"target_nodes": node} if node is not None else {}
            await ex.redis.config_set("slowlog-log-slower-than", 0, **kw)
            await ex.redis.config_set("slowlog-max-len", 100_000, **kw)
        await ex.push_price("BTC/USDT", "100")
        names = names_on_every_shard(shards, per_shard=max(1, accounts // shards))[:accounts]
        for name in names:
            record = await ex.accounts.create(name)
            view = ex.as_account(AccountRef(name, record.shard))
            await view.deposit("USDT", "100")
            await view.create_order("BTC/USDT", "buy", "limit", "0.5", "90")
        quiet = [await valkey_ms(ex, ex.push_price("BTC/USDT", p)) for p in ("95", "96", "94", "95")]
        quiet_ms = sorted(q[0] for q in quiet)[len(quiet) // 2]
        crossing_ms, calls, filled = await valkey_ms(ex, ex.push_price("BTC/USDT", "89"))
        return (
            f"{accounts:>6} accounts {shards} shard(s): tick crossing nothing {quiet_ms:6.3f} ms in {quiet[0][1]} "
            f"call(s); crossing one order of each: {crossing_ms:7.2f} ms in {calls} calls, {filled} fills"
        )


async def orders_per_second(url: str, accounts: int, tasks: int = 10, seconds: float = 3.0) -> float:
    async with Exchange.connect(settings(url)) as ex:
        await ex.push_price("BTC/USDT", "100")
        views = [ex.as_account(AccountRef(f"t{i % accounts}")) for i in range(tasks)]
        for view in {v.account.name: v for v in views}.values():
            await view.deposit("USDT", "100000000")
        done = 0
        stop = time.perf_counter() + seconds

        async def trade(view: Exchange) -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await view.create_order("BTC/USDT", "buy", "market", "0.01")
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(trade(v) for v in views))
        return done / (time.perf_counter() - start)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedValkey(Path(tmp) / "single", port=0, persist=False)
        url = server.start()
        try:
            print("# one Valkey, one shard: tick cost vs accounts")
            for accounts in (1, 100, 1000):
                print(await tick_case(url, accounts, 1))
            print("# orders/s, 10 concurrent tasks (engine calls, one Valkey)")
            for accounts in (1, 10):
                print(f"{accounts:>3} account(s): {await orders_per_second(url, accounts):7.0f} orders/s")
        finally:
            server.stop()
        with ValkeyCluster(Path(tmp) / "cluster") as cluster:
            print("# a local 3-master Valkey Cluster: tick cost vs shards (100 accounts)")
            for shards in (1, 3, 6):
                print(await tick_case(cluster.url, 100, shards))


if __name__ == "__main__":
    asyncio.run(main())
