"""Admin: set a price (and see its fills at once), overwrite or fund balances, reset, health.

Every route here needs the admin key. Balances and reset act on the ``default`` account, or on the account
``account=<name>`` names; ``all=true`` resets every account.
"""

from __future__ import annotations

from typing import Annotated

import litestar
from litestar import Response, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from app.api.common.auth import admin_guard
from app.api.common.deps import ExchangeDep, SharedDep
from app.api.native import ccxt
from app.api.native.errors import responses
from app.api.native.request import NativeController
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
from app.engine.health import HealthReport, StreamBacklog, check_health


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


EveryAccount = Annotated[
    bool, QueryParameter(name="all", description="Every account's balances, orders and trades, and the events")
]


async def _reset(exchange: Exchange, every_account: bool) -> Done:
    if every_account:
        await exchange.reset_all()
        return Done(ok=True, message="every account's balances, orders and trades and the events are wiped")
    await exchange.reset()
    name = exchange.account.name
    return Done(ok=True, message=f"account {name!r}: balances, orders and trades are wiped; markets and prices stay")


class AdminController(NativeController):
    path = "/admin"
    tags = ("Admin",)
    guards = (admin_guard,)

    @patch("/tickers/{symbol:str}/price", responses=responses(404))
    async def set_price(self, exchange: SharedDep, data: PriceBody, symbol: SymbolPath) -> PriceSet:
        """Publish a tick on the price stream and apply it: returns once the orders it crosses are filled."""
        return await _set_price(exchange, symbol, data)

    @patch("/tickers/{base:str}/{quote:str}/price", include_in_schema=False)
    async def set_price_slash(
        self, exchange: SharedDep, base: FromPath[str], quote: FromPath[str], data: PriceBody
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

    @delete("/data", status_code=200, responses=responses(404))
    async def delete_data(self, exchange: ExchangeDep, every_account: EveryAccount = False) -> Done:
        """Wipe the default account's (or ``account=<name>``'s) balances, orders and trades; with ``all=true``
        every account's, and the events (a clean, deterministic slate). Markets and prices stay."""
        return await _reset(exchange, every_account)

    @post("/reset", status_code=200, responses=responses(404))
    async def reset(self, exchange: ExchangeDep, every_account: EveryAccount = False) -> Done:
        """The same as ``DELETE /admin/data``."""
        return await _reset(exchange, every_account)

    @get(
        "/health",
        responses={
            **responses(),
            503: ResponseSpec(Health, description="Valkey unreachable, or degraded", generate_examples=False),
        },
    )
    async def health(
        self,
        exchange: SharedDep,
        min_workers: Annotated[
            int, QueryParameter(name="minWorkers", ge=0, le=10_000, description="Degraded below this many workers")
        ] = 0,
    ) -> Response[Health]:
        """Valkey reachable, settlement workers alive (from their heartbeats), price backlog, versions.

        503 when Valkey is unreachable, or degraded: ticks wait and no worker is alive, a worker reports
        itself unhealthy, or fewer than ``minWorkers`` workers are alive.
        """
        report = await check_health(exchange, min_workers)
        return Response(health_response(report), status_code=200 if report.status == "ok" else 503)


def health_response(report: HealthReport) -> Health:
    """The engine's health report in the native dialect (camelCase; the Litestar version among the versions)."""
    v = report.valkey
    versions = {
        "mockx": report.versions["mockx"],
        "python": report.versions["python"],
        "litestar": litestar.__version__.formatted(short=True),
        **report.versions,
    }
    return Health(
        status=report.status,
        valkey=ValkeyHealth(
            reachable=v.reachable,
            latencyMs=v.latency_ms,
            version=v.version,
            error=v.error,
            memoryUsed=v.memory_used,
            memoryMax=v.memory_max,
            memoryPct=v.memory_pct,
        ),
        workersAlive=report.workers_alive,
        workers=[
            WorkerHealth(name=w.name, ttlMs=w.ttl_ms, healthy=w.healthy, heartbeat=w.heartbeat) for w in report.workers
        ],
        prices=None if report.prices is None else _stream_health(report.prices),
        versions=versions,
        problems=report.problems,
    )


def _stream_health(b: StreamBacklog) -> PriceStreamHealth:
    return PriceStreamHealth(
        stream=b.stream, length=b.length, group=b.group, groupExists=b.group_exists, pending=b.pending, lag=b.lag
    )
