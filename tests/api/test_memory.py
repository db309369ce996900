"""A store that fills up says so: health turns degraded above 90 % of maxmemory, a refused write says the
store is full and what to do, nothing is half-written, and a reset makes room again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
from litestar.testing import AsyncTestClient

from app.api import create_app
from app.api.native.errors import STORE_FULL
from app.engine.exchange import Exchange
from app.settings import Settings
from app.store.embedded import EmbeddedValkey
from tests.support.http import error, fund, set_price


async def test_a_filling_store_degrades_health_refuses_writes_clearly_and_a_reset_recovers(
    settings: Settings, tmp_path: Path
) -> None:
    valkey = EmbeddedValkey(tmp_path / "own", port=0, persist=False, maxmemory="256mb")
    own = msgspec.structs.replace(settings, redis_url=valkey.start())
    try:
        async with AsyncTestClient(app=create_app(own)) as client, Exchange.connect(own) as ex:
            health = (await client.get("/admin/health")).json()
            assert health["valkey"]["memoryMax"] == 256 * 2**20
            assert 0 < health["valkey"]["memoryPct"] < 90
            await fund(client, "USDT", 1_000_000)
            await set_price(client, "BTC/USDT", 100)
            used = int((await ex.redis.info("memory"))["used_memory"])
            await ex.redis.config_set("maxmemory", used + 600_000)  # room for a few hundred orders
            plan = await ex.plan_order("BTC/USDT", "buy", "limit", "0.01", "50", None, None)
            r = await client.get("/admin/health")
            while r.status_code == 200:
                await ex.place_copies(plan, 50)
                r = await client.get("/admin/health")
            assert r.json()["status"] == "degraded"
            assert any("memory" in p and "% full" in p for p in r.json()["problems"]), r.json()["problems"]

            refused = None
            for _ in range(400):  # fill to the limit: the next write is refused
                r = await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 0.01})
                if r.status_code != 201:
                    refused = r
                    break
            assert refused is not None, "the store never filled up"
            assert error(refused, 503, "ExchangeNotAvailable") == STORE_FULL
            # used memory moves with connection buffers: keep the store well over its limit from here on
            limit = int((await ex.redis.config_get("maxmemory"))["maxmemory"])
            await ex.redis.config_set("maxmemory", int((await ex.redis.info("memory"))["used_memory"]) // 2)
            orders = len((await client.get("/orders", params={"status": "open"})).json())
            before = (await client.get("/balance")).json()["total"]
            funding = await client.post("/admin/fund", json={"asset": "USDT", "amount": 1})
            assert error(funding, 503, "ExchangeNotAvailable") == STORE_FULL
            assert (await client.get("/balance")).json()["total"] == before, "a refused write changes nothing"
            assert len((await client.get("/orders", params={"status": "open"})).json()) == orders

            # a reset of every account (orders, trades and the events they wrote) makes room again
            await ex.redis.config_set("maxmemory", limit)
            assert (await client.delete("/admin/data", params={"all": "true"})).status_code == 200
            for _ in range(50):  # UNLINK frees in the background
                if (health := await client.get("/admin/health")).json()["status"] == "ok":
                    break
                await asyncio.sleep(0.1)
            assert health.json()["status"] == "ok", health.json()
            await fund(client, "USDT", 1000)
            r = await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 0.01})
            assert r.status_code == 201, r.text
    finally:
        valkey.stop()
