"""Portfolio: the ccxt balance, one asset's row, deposits and withdrawals."""

from __future__ import annotations

from typing import Any

from litestar import get, post

from app.api.common.deps import ExchangeDep
from app.api.native import ccxt
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.api.native.schemas import AmountBody, AssetBalance, AssetList, AssetPath
from app.engine.exchange import normalize_asset


class BalanceController(NativeController):
    path = "/balance"
    tags = ("Portfolio",)

    @get("/", responses=responses())
    async def balance(self, exchange: ExchangeDep) -> dict[str, Any]:
        """The whole account in ccxt's balance shape: ``free``/``used``/``total`` maps and a row per asset."""
        return ccxt.balance(await exchange.fetch_balance())

    @get("/list", responses=responses())
    async def assets(self, exchange: ExchangeDep) -> AssetList:
        """The assets held (total above zero), sorted."""
        balance = await exchange.fetch_balance()
        return AssetList(assets=[a for a, row in balance.rows.items() if row.total > 0])

    @get("/{asset:str}", responses=responses(404))
    async def asset(self, exchange: ExchangeDep, asset: AssetPath) -> AssetBalance:
        """One asset's free, used (reserved by open orders) and total; zero for an asset never held."""
        code = normalize_asset(asset)
        return AssetBalance.of(code, await exchange.fetch_balance_row(code))

    @post("/{asset:str}/deposit", status_code=200, responses=responses(404))
    async def deposit(self, exchange: ExchangeDep, asset: AssetPath, data: AmountBody) -> AssetBalance:
        """Credit ``amount`` to the free balance; returns the new row."""
        code = normalize_asset(asset)
        return AssetBalance.of(code, await exchange.deposit(code, data.amount))

    @post("/{asset:str}/withdrawal", status_code=200, responses=responses(404))
    async def withdrawal(self, exchange: ExchangeDep, asset: AssetPath, data: AmountBody) -> AssetBalance:
        """Take ``amount`` from the free balance (InsufficientFunds if less is free); returns the new row."""
        code = normalize_asset(asset)
        return AssetBalance.of(code, await exchange.withdraw(code, data.amount))
