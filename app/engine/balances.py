"""An account's money: deposits, withdrawals, balance overwrites, balances, the ledger and fill statistics.

Money moves only in the Lua scripts (``deposit``, ``withdraw``, ``set_balance``); Python checks the input
and turns minor units back into exact decimals.
"""

from __future__ import annotations

import time
from decimal import Decimal

from app.engine.core import Part
from app.engine.errors import BadRequest, InsufficientFunds
from app.engine.inputs import decimal, minor, normalize_asset, positive
from app.engine.models import Balance, BalanceRow
from app.engine.money import MAX_MINOR, MAX_UNITS, from_minor, plain
from app.store.protocol import Code


class Balances(Part):
    """The money of the account: moved by the scripts, read back exactly."""

    async def deposit(self, asset: str, amount: object) -> BalanceRow:
        asset = normalize_asset(asset)
        units = minor(positive(amount), "amount")
        result = await self.scripts.deposit(asset, units, MAX_MINOR)
        if result.code is Code.BALANCE_LIMIT:
            raise BadRequest(
                f"depositing {plain(from_minor(units))} {asset} would take the balance above the largest "
                f"supported value, {plain(MAX_UNITS)} {asset}"
            )
        return BalanceRow.of_minor(result.free, result.used)

    fund = deposit

    async def withdraw(self, asset: str, amount: object) -> BalanceRow:
        asset = normalize_asset(asset)
        units = minor(positive(amount), "amount")
        result = await self.scripts.withdraw(asset, units)
        if result.code is Code.INSUFFICIENT_FUNDS:
            raise InsufficientFunds(
                f"cannot withdraw {plain(from_minor(units))} {asset}: "
                f"only {plain(from_minor(result.free))} {asset} is free"
            )
        return BalanceRow.of_minor(result.free, result.used)

    async def set_balance(self, asset: str, free: object) -> BalanceRow:
        """Overwrite the free balance of ``asset`` (``used`` stays what open orders reserve)."""
        asset = normalize_asset(asset)
        value = decimal(free, "free")
        units = minor(value, "free")
        result = await self.scripts.set_balance(asset, units, MAX_MINOR)
        if result.code is Code.BALANCE_LIMIT:
            raise BadRequest(
                f"{asset} free {plain(value)} plus {plain(from_minor(result.used))} in open orders exceeds the largest "
                f"supported balance, {plain(MAX_UNITS)}"
            )
        return BalanceRow.of_minor(result.free, result.used)

    async def fetch_balance(self) -> Balance:
        raw = await self.redis.hgetall(self.keys.balances)
        assets = sorted({field.rsplit(":", 1)[0] for field in raw})
        rows = {a: BalanceRow.of_minor(int(raw.get(f"{a}:free", 0)), int(raw.get(f"{a}:used", 0))) for a in assets}
        return Balance(timestamp=int(time.time() * 1000), rows=rows)

    async def fetch_balance_row(self, asset: str) -> BalanceRow:
        asset = normalize_asset(asset)
        free, used = await self.redis.hmget(self.keys.balances, [f"{asset}:free", f"{asset}:used"])
        return BalanceRow.of_minor(int(free or 0), int(used or 0))

    async def ledger(self) -> dict[str, dict[str, Decimal]]:
        """Money that crossed the account boundary: ``{asset: {deposited, withdrawn}}``."""
        raw = await self.redis.hgetall(self.keys.ledger)
        out: dict[str, dict[str, Decimal]] = {}
        for field, value in raw.items():
            asset, kind = field.rsplit(":", 1)
            out.setdefault(asset, {"deposited": Decimal(0), "withdrawn": Decimal(0)})[kind] = from_minor(value)
        return out

    async def trade_stats(self) -> dict[str, dict[str, dict[str, Decimal]]]:
        """Fill statistics ``{symbol: {side: {count, maker, base, quote, fee}}}`` (exact)."""
        raw = await self.redis.hgetall(self.keys.stats)
        out: dict[str, dict[str, dict[str, Decimal]]] = {}
        for field, value in raw.items():
            symbol, side, kind = field.rsplit(":", 2)
            number = Decimal(int(value)) if kind in ("count", "maker") else from_minor(value)
            out.setdefault(symbol, {}).setdefault(side, {})[kind] = number
        return out
