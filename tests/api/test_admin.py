"""Admin routes through the real app: prices, balance overwrites, funding, reset, health."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis.asyncio import Redis

from app.settings import Settings
from app.store.keys import Keys
from tests.support.http import error, fund, set_price
from tests.support.money import audit_problems


async def test_set_price_returns_once_its_fills_are_done(client: Any, settings: Settings) -> None:
    await fund(client, "USDT", 1000)
    await set_price(client, "BTC/USDT", 100)
    body = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 1, "price": 95}
    order = (await client.post("/orders", json=body)).json()
    r = await client.patch("/admin/tickers/BTC%2FUSDT/price", json={"price": "94.5", "bid": 94, "ask": 95})
    assert r.status_code == 200, r.text
    applied = r.json()
    assert applied["symbol"] == "BTC/USDT"
    assert applied["filled"] == 1
    assert "-" in applied["entryId"]
    assert applied["ticker"]["last"] == 94.5
    assert applied["ticker"]["bid"] == 94
    assert applied["ticker"]["ask"] == 95
    # no waiting, no worker: the fill is already there
    assert (await client.get(f"/orders/{order['id']}")).json()["status"] == "closed"
    assert (await client.get("/balance/BTC")).json()["total"] == 1
    for spelling in ("BTCUSDT", "BTC-USDT", "BTC/USDT"):
        assert (await set_price(client, spelling, 96))["symbol"] == "BTC/USDT"
    assert await audit_problems(settings) == []


@pytest.mark.parametrize(
    "body",
    [
        {"price": 0},
        {"price": -1},
        {"price": "abc"},
        {"price": "1e400"},
        {"price": 100, "bid": 101, "ask": 99},
        {"price": 100, "volume": 5},
        {},
        {"price": "0.1234567890123456789"},
    ],
)
async def test_bad_prices_are_400_and_publish_nothing(client: Any, settings: Settings, redis: Redis, body: Any) -> None:
    error(await client.patch("/admin/tickers/BTC/USDT/price", json=body), 400, "BadRequest")
    assert await redis.xlen(settings.price_stream) == 0
    assert (await client.get("/tickers")).json() == {}


async def test_set_price_bad_symbol(client: Any) -> None:
    error(await client.patch("/admin/tickers/NOTASYMBOL!/price", json={"price": 1}), 400, "BadSymbol")


async def test_balance_overwrite_both_forms_and_fund(client: Any, settings: Settings) -> None:
    r = await client.patch("/admin/balance/usdt", json={"free": 2500.25})
    assert r.status_code == 200
    assert r.json() == {"asset": "USDT", "free": 2500.25, "used": 0, "total": 2500.25}
    r = await client.post("/admin/edit_balance", json={"asset": "BTC", "free": "1.5"})
    assert r.status_code == 200
    assert r.json()["free"] == 1.5
    r = await client.post("/admin/edit_balance", json={"asset": "BTC", "free": 0})
    assert r.json()["total"] == 0
    r = await client.post("/admin/fund", json={"asset": "usdt", "amount": 100})
    assert r.json() == {"asset": "USDT", "free": 2600.25, "used": 0, "total": 2600.25}
    error(await client.patch("/admin/balance/USDT", json={"free": -1}), 400, "BadRequest")
    error(await client.patch("/admin/balance/USDT", json={"free": 1, "used": 2}), 400, "BadRequest")
    error(await client.post("/admin/edit_balance", json={"asset": "$$$", "free": 1}), 400, "BadRequest")
    error(await client.post("/admin/fund", json={"asset": "USDT"}), 400, "BadRequest")
    error(await client.post("/admin/fund", json={"asset": "USDT", "amount": "1e11"}), 400, "BadRequest")
    assert (await client.get("/balance/USDT")).json()["total"] == 2600.25
    assert await audit_problems(settings) == []


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/admin/data"), ("POST", "/admin/reset")])
async def test_reset_wipes_the_account_but_keeps_prices(client: Any, method: str, path: str) -> None:
    await fund(client, "USDT", 1000)
    await set_price(client, "BTC/USDT", 100)
    await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1})
    r = await client.request(method, path)
    assert r.status_code == 200
    assert r.json()["ok"] is True
    assert (await client.get("/balance/list")).json() == {"assets": []}
    assert (await client.get("/orders")).json() == []
    assert (await client.get("/trades")).json() == []
    assert (await client.get("/tickers/BTCUSDT")).json()["last"] == 100
    assert (await client.get("/overview/trades")).json()["trades"] == 0
    r = await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1})
    error(r, 400, "InsufficientFunds")


async def test_health_ok_with_workers_and_versions(client: Any, settings: Settings, redis: Redis) -> None:
    keys = Keys(settings.namespace)
    await redis.set(keys.heartbeat("worker-a"), json.dumps({"pid": 1, "processed": 5, "healthy": True}), px=10_000)
    await redis.set(keys.heartbeat("worker-b"), "not json", px=10_000)
    r = await client.get("/admin/health")
    assert r.status_code == 200, r.text
    health = r.json()
    assert health["status"] == "ok"
    assert health["problems"] == []
    assert health["valkey"]["reachable"] is True
    assert health["valkey"]["version"]
    assert health["workersAlive"] == 2
    a, b = health["workers"]
    assert a["name"] == "worker-a"
    assert a["heartbeat"] == {"pid": 1, "processed": 5, "healthy": True}
    assert a["healthy"] is True
    assert b["healthy"] is None
    assert 0 < a["ttlMs"] <= 10_000
    assert b["heartbeat"] == {"raw": "not json"}
    assert {"mockx", "python", "litestar"} <= set(health["versions"])
    assert (await client.get("/admin/health?minWorkers=2")).status_code == 200
    r = await client.get("/admin/health?minWorkers=3")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded"
    assert "fewer than the 3" in r.json()["problems"][0]
    error(await client.get("/admin/health?minWorkers=-1"), 400, "BadRequest")
    beat = {"healthy": False, "last_error": "settle_tick failed"}
    await redis.set(keys.heartbeat("worker-a"), json.dumps(beat), px=10_000)
    r = await client.get("/admin/health")
    assert r.status_code == 503
    assert r.json()["problems"] == ["settlement worker worker-a reports itself unhealthy: settle_tick failed"]


async def test_health_degraded_when_ticks_wait_and_no_worker_lives(
    client: Any, settings: Settings, redis: Redis
) -> None:
    await redis.xgroup_create(settings.price_stream, settings.consumer_group, id="$", mkstream=True)
    await redis.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": "1"})
    r = await client.get("/admin/health")
    assert r.status_code == 503
    health = r.json()
    assert health["status"] == "degraded"
    assert health["prices"]["groupExists"] is True
    assert health["prices"]["lag"] == 1
    assert "no settlement worker is alive" in health["problems"][0]
    await redis.set(Keys(settings.namespace).heartbeat("w"), "{}", px=5000)
    assert (await client.get("/admin/health")).status_code == 200
