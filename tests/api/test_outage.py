"""Valkey stops mid-run: every request answers 503 JSON at once; Valkey returns: requests succeed, no restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from app.api import create_app
from app.settings import Settings
from tests.support.http import error, fund, set_price
from tests.support.valkey import RestartableValkey

REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/orders", {"symbol": "BTC/USDT", "side": "buy", "amount": 1}),
    ("POST", "/orders/can_execute", {"symbol": "BTC/USDT", "side": "buy", "amount": 1}),
    ("GET", "/balance", None),
    ("GET", "/orders", None),
    ("GET", "/tickers/BTCUSDT", None),
    ("POST", "/balance/USDT/deposit", {"amount": 1}),
    ("PATCH", "/admin/tickers/BTC/USDT/price", {"price": 101}),
    ("GET", "/overview/assets", None),
]


async def test_valkey_down_is_503_fast_and_recovery_needs_no_restart(settings: Settings, tmp_path: Path) -> None:
    valkey = RestartableValkey(tmp_path / "own")
    own = msgspec.structs.replace(settings, redis_url=valkey.url)
    try:
        async with AsyncTestClient(app=create_app(own)) as client:
            await fund(client, "USDT", 10000)
            await set_price(client, "BTC/USDT", 100)
            assert (await client.post("/orders", json=REQUESTS[0][2])).status_code == 201

            valkey.stop()
            for method, path, body in REQUESTS:
                started = time.monotonic()
                r = await client.request(method, path, json=body)
                assert time.monotonic() - started < 1.0, (method, path)
                assert "Valkey" in error(r, 503, "ExchangeNotAvailable")
            started = time.monotonic()
            r = await client.get("/admin/health")
            assert time.monotonic() - started < 1.0
            assert r.status_code == 503
            assert r.json()["status"] == "unavailable"
            assert r.json()["valkey"]["reachable"] is False
            assert (await client.get("/livez")).status_code == 200  # the process itself is alive

            valkey.restart()  # same port, same data (AOF): the app reconnects by itself
            assert (await client.get("/admin/health")).json()["status"] == "ok"
            assert (await client.get("/balance/USDT")).json()["total"] == 10000 - 100.075
            for method, path, body in REQUESTS:
                r = await client.request(method, path, json=body)
                assert r.status_code in (200, 201), (method, path, r.text)
            assert len((await client.get("/orders")).json()) == 2
    finally:
        valkey.stop()


async def test_no_request_fails_once_valkey_is_back(settings: Settings, tmp_path: Path) -> None:
    """Connections pooled before a crash are stale afterwards: none may fail a request once Valkey is back."""
    valkey = RestartableValkey(tmp_path / "own")
    own = msgspec.structs.replace(settings, redis_url=valkey.url)
    try:
        async with AsyncTestClient(app=create_app(own)) as client:
            await fund(client, "USDT", 10000)
            reads = [client.get(path) for path in ("/balance", "/orders", "/trades", "/overview/assets") * 8]
            assert {r.status_code for r in await asyncio.gather(*reads)} == {200}  # fills the pool
            valkey.restart()  # as a crash-restart of a container: every pooled connection is now dead
            await asyncio.sleep(1.1)  # the pooled connections have been idle a while, as a real restart takes
            again = [client.get(path) for path in ("/balance", "/orders", "/trades", "/overview/assets") * 8]
            again_replies = await asyncio.gather(*again)
            statuses = [r.status_code for r in again_replies]
            assert statuses == [200] * len(statuses), [r.text for r in again_replies if r.status_code != 200]
    finally:
        valkey.stop()
