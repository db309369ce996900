"""Admin: set a price (and see its fills at once), overwrite or fund balances, reset, health."""

from __future__ import annotations

import platform
import time
from typing import Annotated, Any

import litestar
import msgspec
import redis as redis_py
from litestar import Controller, Response, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter
from redis.exceptions import ResponseError

from app import __version__
from app.api.common.deps import ExchangeDep
from app.api.common.errors import UNAVAILABLE
from app.api.native import ccxt
from app.api.native.errors import responses
from app.api.native.schemas import (
    AssetBalance,
    AssetPath,
    BalanceBody,
    Done,
    EditBalanceBody,
    FundBody,
    Health,
    PriceBody,
    PriceIn,
    PriceSet,
    PriceStreamHealth,
    SymbolPath,
    ValkeyHealth,
    WorkerHealth,
)
from app.engine.exchange import Exchange, normalize_asset

_heartbeat = msgspec.json.Decoder(dict[str, Any])
_MAX_WORKERS_LISTED = 1000


async def _set_price(exchange: Exchange, symbol: str, data: PriceIn) -> PriceSet:
    result = await exchange.push_price(symbol, data.price, bid=data.bid, ask=data.ask)
    return PriceSet(
        symbol=result.symbol,
        entryId=result.entry_id,
        filled=result.filled,
        ticker=ccxt.ticker(await exchange.fetch_ticker(result.symbol)),
    )


async def _set_balance(exchange: Exchange, asset: str, free: object) -> AssetBalance:
    code = normalize_asset(asset)
    row = await exchange.set_balance(code, free)
    return AssetBalance.of(code, row)


async def _reset(exchange: Exchange) -> Done:
    await exchange.reset()
    return Done(ok=True, message="balances, orders, trades and events are wiped; markets and prices stay")


class AdminController(Controller):
    path = "/admin"
    tags = ("Admin",)

    @patch("/tickers/{symbol:str}/price", responses=responses(404))
    async def set_price(self, exchange: ExchangeDep, data: PriceBody, symbol: SymbolPath) -> PriceSet:
        """Publish a tick on the price stream and apply it: returns once the orders it crosses are filled."""
        return await _set_price(exchange, symbol, data)

    @patch("/tickers/{base:str}/{quote:str}/price", include_in_schema=False)
    async def set_price_slash(
        self, exchange: ExchangeDep, base: FromPath[str], quote: FromPath[str], data: PriceBody
    ) -> PriceSet:
        return await _set_price(exchange, f"{base}/{quote}", data)

    @patch("/balance/{asset:str}", responses=responses(404))
    async def patch_balance(self, exchange: ExchangeDep, asset: AssetPath, data: BalanceBody) -> AssetBalance:
        """Overwrite the free balance of an asset (``used`` stays what open orders reserve)."""
        return await _set_balance(exchange, asset, data.free)

    @post("/edit_balance", status_code=200, responses=responses())
    async def edit_balance(self, exchange: ExchangeDep, data: EditBalanceBody) -> AssetBalance:
        """Overwrite or add a balance row: ``{"asset": "USDT", "free": 1000}``."""
        return await _set_balance(exchange, data.asset, data.free)

    @post("/fund", status_code=200, responses=responses())
    async def fund(self, exchange: ExchangeDep, data: FundBody) -> AssetBalance:
        """Credit ``amount`` to the free balance of ``asset``."""
        code = normalize_asset(data.asset)
        row = await exchange.fund(code, data.amount)
        return AssetBalance.of(code, row)

    @delete("/data", status_code=200, responses=responses())
    async def delete_data(self, exchange: ExchangeDep) -> Done:
        """Wipe balances, orders, trades and events (a clean, deterministic slate)."""
        return await _reset(exchange)

    @post("/reset", status_code=200, responses=responses())
    async def reset(self, exchange: ExchangeDep) -> Done:
        """The same as ``DELETE /admin/data``."""
        return await _reset(exchange)

    @get(
        "/health",
        responses={
            **responses(),
            503: ResponseSpec(Health, description="Valkey unreachable, or degraded", generate_examples=False),
        },
    )
    async def health(
        self,
        exchange: ExchangeDep,
        min_workers: Annotated[
            int, QueryParameter(name="minWorkers", ge=0, le=10_000, description="Degraded below this many workers")
        ] = 0,
    ) -> Response[Health]:
        """Valkey reachable, settlement workers alive (from their heartbeats), price backlog, versions.

        503 when Valkey is unreachable, or degraded: ticks wait and no worker is alive, a worker reports
        itself unhealthy, or fewer than ``minWorkers`` workers are alive.
        """
        health = await check_health(exchange, min_workers)
        return Response(health, status_code=200 if health.status == "ok" else 503)


async def check_health(exchange: Exchange, min_workers: int = 0) -> Health:
    settings = exchange.settings
    versions = {
        "mockx": __version__,
        "python": platform.python_version(),
        "litestar": litestar.__version__.formatted(short=True),
        "redis-py": redis_py.__version__,
    }
    redis = exchange.redis
    started = time.perf_counter()
    try:
        info = await redis.info("server")
        latency = round((time.perf_counter() - started) * 1000, 3)
        version = str(info.get("valkey_version") or info.get("redis_version") or "")
        versions["valkey" if "valkey_version" in info else "redis"] = version
        names = []
        async for key in redis.scan_iter(match=exchange.keys.heartbeat_pattern, count=500):
            names.append(key)
            if len(names) >= _MAX_WORKERS_LISTED:
                break
        async with redis.pipeline(transaction=False) as pipe:
            for key in names:
                pipe.get(key)
                pipe.pttl(key)
            pipe.xlen(settings.price_stream)
            replies = await pipe.execute()
        prices = await _price_stream(exchange, replies[-1])
    except UNAVAILABLE as exc:
        return Health(
            status="unavailable",
            valkey=ValkeyHealth(reachable=False, error=f"{type(exc).__name__}: {exc}"),
            workersAlive=0,
            workers=[],
            prices=None,
            versions=versions,
            problems=["Valkey is not reachable"],
        )
    prefix = exchange.keys.heartbeat("")
    workers = []
    for i, key in enumerate(names):
        raw, ttl = replies[2 * i], replies[2 * i + 1]
        if raw is None:  # expired between SCAN and GET
            continue
        try:
            beat: dict[str, Any] | None = _heartbeat.decode(raw)
        except msgspec.DecodeError:
            beat = {"raw": raw}
        healthy = beat.get("healthy") if beat else None
        workers.append(
            WorkerHealth(
                name=key[len(prefix) :],
                ttlMs=ttl if ttl >= 0 else None,
                healthy=healthy if isinstance(healthy, bool) else None,
                heartbeat=beat,
            )
        )
    problems = [
        f"settlement worker {w.name} reports itself unhealthy: {(w.heartbeat or {}).get('last_error') or 'no detail'}"
        for w in workers
        if w.healthy is False
    ]
    waiting = (prices.lag or 0) + (prices.pending or 0)
    if prices.groupExists and waiting and not workers:
        problems.append(f"{waiting} price ticks wait in {prices.stream} and no settlement worker is alive")
    if len(workers) < min_workers:
        problems.append(f"{len(workers)} settlement workers alive, fewer than the {min_workers} required")
    return Health(
        status="degraded" if problems else "ok",
        valkey=ValkeyHealth(reachable=True, latencyMs=latency, version=version),
        workersAlive=len(workers),
        workers=sorted(workers, key=lambda w: w.name),
        prices=prices,
        versions=versions,
        problems=problems,
    )


async def _price_stream(exchange: Exchange, length: int) -> PriceStreamHealth:
    settings = exchange.settings
    try:
        groups = await exchange.redis.xinfo_groups(settings.price_stream)
    except ResponseError:  # no such stream yet
        groups = []
    group = next((g for g in groups if g.get("name") == settings.consumer_group), None)
    return PriceStreamHealth(
        stream=settings.price_stream,
        length=int(length),
        group=settings.consumer_group,
        groupExists=group is not None,
        pending=int(group["pending"]) if group and group.get("pending") is not None else None,
        lag=int(group["lag"]) if group and group.get("lag") is not None else None,
    )
