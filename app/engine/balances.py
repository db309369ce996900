"""An account's money: deposits, withdrawals, balance overwrites, balances, the ledger and fill statistics.

Money moves only in the Lua scripts (``deposit``, ``withdraw``, ``set_balance``); Python checks the input
and turns minor units back into exact decimals.
"""

from __future__ import annotations

import time
from decimal import Decimal

from app.engine.accounts import AccountRef
from app.engine.core import Core, Part
from app.engine.errors import BadRequest, InsufficientFunds
from app.engine.inputs import decimal, minor, normalize_asset, positive
from app.engine.models import Balance, BalanceRow
from app.engine.money import MAX_MINOR, MAX_UNITS, from_minor, plain
from app.store.keys import account_range
from app.store.protocol import Code

_KINDS = ("count", "maker", "base", "quote", "fee", "basefee")  # basefee: fees paid in base (FEE_ASSET=received)


class Balances(Part):
    """The money of one account: moved by the scripts, read back exactly."""

    def __init__(self, core: Core, account: AccountRef) -> None:
        super().__init__(core, account.shard)
        self.acct = account.name

    async def deposit(self, asset: str, amount: object) -> BalanceRow:
        asset = normalize_asset(asset)
        units = minor(positive(amount), "amount")
        result = await self.scripts.deposit(self.acct, asset, units, MAX_MINOR)
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
        result = await self.scripts.withdraw(self.acct, asset, units)
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
        result = await self.scripts.set_balance(self.acct, asset, units, MAX_MINOR)
        if result.code is Code.BALANCE_LIMIT:
            raise BadRequest(
                f"{asset} free {plain(value)} plus {plain(from_minor(result.used))} in open orders exceeds the largest "
                f"supported balance, {plain(MAX_UNITS)}"
            )
        return BalanceRow.of_minor(result.free, result.used)

    async def assets(self) -> list[str]:
        """Every asset the account has a balance row for, sorted."""
        lo, hi = account_range(self.acct)
        return [m.split("|", 1)[1] for m in await self.redis.zrangebylex(self.keys.assets, lo, hi)]

    async def fetch_balance(self) -> Balance:
        assets = await self.assets()
        rows: dict[str, BalanceRow] = {}
        if assets:
            fields = [f"{self.acct}:{a}:{kind}" for a in assets for kind in ("free", "used")]
            values = await self.redis.hmget(self.keys.balances, fields)
            for i, a in enumerate(assets):
                rows[a] = BalanceRow.of_minor(int(values[2 * i] or 0), int(values[2 * i + 1] or 0))
        return Balance(timestamp=int(time.time() * 1000), rows=rows)

    async def fetch_balance_row(self, asset: str) -> BalanceRow:
        asset = normalize_asset(asset)
        fields = [f"{self.acct}:{asset}:free", f"{self.acct}:{asset}:used"]
        free, used = await self.redis.hmget(self.keys.balances, fields)
        return BalanceRow.of_minor(int(free or 0), int(used or 0))

    async def ledger(self) -> dict[str, dict[str, Decimal]]:
        """Money that crossed the account boundary: ``{asset: {deposited, withdrawn}}``."""
        assets = await self.assets()
        out: dict[str, dict[str, Decimal]] = {}
        if not assets:
            return out
        kinds = ("deposited", "withdrawn")
        values = await self.redis.hmget(self.keys.ledger, [f"{self.acct}:{a}:{k}" for a in assets for k in kinds])
        for i, asset in enumerate(assets):
            deposited, withdrawn = values[2 * i], values[2 * i + 1]
            if deposited is not None or withdrawn is not None:
                out[asset] = {"deposited": from_minor(deposited or 0), "withdrawn": from_minor(withdrawn or 0)}
        return out

    async def trade_stats(self) -> dict[str, dict[str, dict[str, Decimal]]]:
        """Fill statistics ``{symbol: {side: {count, maker, base, quote, fee}}}`` (exact)."""
        symbols = sorted(await self.redis.hkeys(self.keys.markets))
        out: dict[str, dict[str, dict[str, Decimal]]] = {}
        if not symbols:
            return out
        fields = [(sym, side, kind) for sym in symbols for side in ("buy", "sell") for kind in _KINDS]
        values = await self.redis.hmget(self.keys.stats, [f"{self.acct}:{s}:{d}:{k}" for s, d, k in fields])
        for (symbol, side, kind), value in zip(fields, values, strict=True):
            if value is not None:
                number = Decimal(int(value)) if kind in ("count", "maker") else from_minor(value)
                out.setdefault(symbol, {}).setdefault(side, {})[kind] = number
        return out
