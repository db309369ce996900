"""The Lua transitions (``app/store/lua/*.lua``) and one typed wrapper per script.

Scripts are package data, loaded with :mod:`importlib.resources`. A line ``--@include lib/x.lua`` is
replaced by that file, so shared helpers are written once. :meth:`Scripts.load` sends every script to the
server at start-up, so a broken script fails the deploy rather than the first order. Every call goes through
:class:`app.store.transport.Transport`, which re-loads a script a restarted server lost (NOSCRIPT).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from app.store.keys import Keys
from app.store.protocol import Code, Guard, PlaceMode, SettlePhase
from app.store.transport import Call, Script, Transport

_INCLUDE = re.compile(r"^--@include (\S+)$", re.MULTILINE)
NAMES = (
    "place_order", "place_oco", "cancel_order", "deposit", "withdraw", "set_balance", "settle_tick", "settle_batch",
    "reset", "reset_account", "trim_history", "trim_candles", "store_candles",
)  # fmt: skip


def source(name: str) -> str:
    """The full source of ``app/store/lua/<name>.lua`` with its includes expanded."""
    root = resources.files("app.store") / "lua"

    def expand(match: re.Match[str]) -> str:
        path = root.joinpath(*match.group(1).split("/"))
        return f"-- {match.group(1)}\n" + path.read_text(encoding="utf-8")

    return _INCLUDE.sub(expand, (root / f"{name}.lua").read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class PlaceResult:
    code: Code
    record: str


@dataclass(frozen=True, slots=True)
class BalanceResult:
    code: Code
    free: int
    used: int


@dataclass(frozen=True, slots=True)
class SettleStep:
    filled: int
    buy_offset: int
    sell_offset: int
    done: bool
    mode: SettlePhase
    examined: int


@dataclass(frozen=True, slots=True)
class BatchStep:
    """What one settle_batch call did: ``applied`` ticks are done; unless ``done``, the next is under way."""

    applied: int
    filled: int
    examined: int
    done: bool
    mode: SettlePhase | None  # the tick under way's mode; None when done
    buy_offset: int
    sell_offset: int

    def continuation(self) -> SettleStep:
        """The tick under way, as a settle_tick step to continue from."""
        assert self.mode is not None, "a finished batch has no tick under way"
        return SettleStep(0, self.buy_offset, self.sell_offset, False, self.mode, 0)


class Scripts:
    """Every script of one namespace, with its keys and event settings bound."""

    def __init__(
        self,
        transport: Transport,
        keys: Keys,
        *,
        events_maxlen: int,
        tape_maxlen: int = 1000,
        market_maxlen: int = 10_000,
    ) -> None:
        self.transport = transport
        self.keys = keys
        self.maxlen = str(events_maxlen)
        self.book_args = [str(tape_maxlen), str(market_maxlen)]  # the settle calls' caps of the tape and market stream
        self.scripts: dict[str, Script] = {n: Script(n, source(n)) for n in NAMES}
        self._settle_keys: dict[str, list[str]] = {}  # per symbol: the keys never change

    async def load(self) -> None:
        """Load every script now; a script that does not compile raises here."""
        await self.transport.load(self.scripts.values())

    async def _call(self, name: str, keys: list[str], args: list[str], batch: list[Call] | None) -> Any:
        if batch is not None:
            batch.append(self.transport.script_call(self.scripts[name], keys, args))
            return None
        return await self.transport.run(self.scripts[name], keys, args)

    def call(self, name: str, keys: list[str], args: list[str]) -> Call:
        """A call of script ``name`` ready for :meth:`Transport.send` (pipelined with others)."""
        return self.transport.script_call(self.scripts[name], keys, args)

    # balances ----------------------------------------------------------------------------------------
    def _balance_keys(self) -> list[str]:
        return [self.keys.balances, self.keys.ledger, self.keys.events, self.keys.assets]

    async def deposit(self, acct: str, asset: str, minor: int, max_minor: int) -> BalanceResult:
        args = [asset, str(minor), str(max_minor), self.keys.channel, self.maxlen, acct]
        return _balance(await self._call("deposit", self._balance_keys(), args, None))

    async def withdraw(self, acct: str, asset: str, minor: int) -> BalanceResult:
        args = [asset, str(minor), self.keys.channel, self.maxlen, acct]
        return _balance(await self._call("withdraw", self._balance_keys()[:3], args, None))

    async def set_balance(self, acct: str, asset: str, free_minor: int, max_minor: int) -> BalanceResult:
        args = [asset, str(free_minor), str(max_minor), self.keys.channel, self.maxlen, acct]
        return _balance(await self._call("set_balance", self._balance_keys(), args, None))

    # orders ------------------------------------------------------------------------------------------
    async def place_order(
        self,
        *,
        symbol: str,
        side: str,
        mode: PlaceMode,
        record: str,
        debit_asset: str,
        debit: int,
        credit_asset: str = "",
        credit: int = 0,
        guard: Guard = Guard.NONE,
        dry_run: bool = False,
        max_minor: int,
        fill: tuple[str, int, int] = ("", 0, 0),
        trigger: str = "",
        batch: list[Call] | None = None,
    ) -> PlaceResult | None:
        """Run place_order.lua; with a ``batch`` the call is appended to it (to send later) and None returned."""
        k = self.keys
        keys = [
            k.balances, k.orders, k.order_ids, k.open, k.cids, k.order_seq, k.book(symbol, side),
            k.ticker(symbol), k.trades, k.trade_ids, k.trade_seq, k.stats, k.events, k.assets, k.order_index,
            k.trade_index, k.triggers(symbol, trigger or "up"),
        ]  # fmt: skip
        args = [
            mode, record, debit_asset, str(debit), credit_asset, str(credit), guard, "1" if dry_run else "0",
            k.channel, self.maxlen, str(max_minor), fill[0], str(fill[1]), str(fill[2]), k.id_base,
        ]  # fmt: skip
        reply = await self._call("place_order", keys, args, batch)
        if batch is not None:
            return None
        return place_result(reply)

    async def place_oco(
        self, symbol: str, side: str, records: tuple[str, str], debits: tuple[int, int], guards: tuple[str, str],
        trigger: str, *, dry_run: bool = False,
    ) -> tuple[Code, str, str]:  # fmt: skip
        """Run place_oco.lua: (code, limit leg record, stop leg record)."""
        k = self.keys
        keys = [k.balances, k.orders, k.order_ids, k.open, k.order_seq, k.book(symbol, side),
                k.triggers(symbol, trigger), k.ticker(symbol), k.events, k.order_index]  # fmt: skip
        args = [*records, str(debits[0]), str(debits[1]), *guards, "1" if dry_run else "0", k.channel, self.maxlen,
                k.id_base]  # fmt: skip
        code, limit, stop = await self._call("place_oco", keys, args, None)
        return Code(int(code)), limit, stop

    async def cancel_order(self, acct: str, order_id: str, symbol: str, side: str, trigger: str = "") -> PlaceResult:
        k = self.keys
        keys = [k.balances, k.orders, k.open, k.book(symbol, side), k.events, k.order_index,
                k.triggers(symbol, trigger or "up")]  # fmt: skip
        code, payload = await self._call("cancel_order", keys, [order_id, k.channel, self.maxlen, acct], None)
        return PlaceResult(Code(int(code)), payload)

    # ticks -------------------------------------------------------------------------------------------
    def _settle_keys_of(self, symbol: str) -> list[str]:
        """The keys of both settle scripts for ``symbol`` (built once: they never change)."""
        keys = self._settle_keys.get(symbol)
        if keys is None:
            k = self.keys
            # shard > 0 keeps only a ticker copy: its calls never touch the market data, and name their own
            # tag's keys in its place (all keys of a call share one slot)
            ohlc, markets = (
                (k.ohlc(symbol), k.markets) if k.shard == 0 else (f"{k.tag}:ohlc:{symbol}", f"{k.tag}:markets")
            )
            keys = self._settle_keys[symbol] = [
                k.ticker(symbol), ohlc, k.book(symbol, "buy"), k.book(symbol, "sell"), k.orders, k.open,
                k.balances, k.stats, k.trades, k.trade_ids, k.trade_seq, k.events, markets, k.assets,
                k.order_index, k.trade_index,
            ]  # fmt: skip
            # candles (KEYS[17..19]): market data, on shard 0 only; a shard > 0 names its own tag's keys
            if k.shard == 0:
                keys += [k.candles(symbol), k.candles_counted, k.candle_events]
            else:
                keys += [f"{k.tag}:candles:{symbol}", f"{k.tag}:candles:counted", f"{k.tag}:candles:events"]
            # end candles
            keys += [k.triggers(symbol, "up"), k.triggers(symbol, "down")]  # KEYS[20..21]
            # order book and trade tape: the last three keys (lib/book.lua), market data of shard 0 only; a shard
            # > 0 names keys of its own tag, which its settle calls never touch
            keys += (
                [k.depth(symbol), k.market_stream, k.tape(symbol)]
                if k.shard == 0
                else [f"{k.tag}:depth:{symbol}", f"{k.tag}:market", f"{k.tag}:tape:{symbol}"]
            )
        return keys

    def settle_args(
        self,
        symbol: str,
        entry_id: str,
        tick: list[str],
        phase: SettlePhase,
        offsets: tuple[int, int],
        chunk: int,
        market: str,
    ) -> tuple[list[str], list[str]]:
        """Keys and args of one settle_tick call; ``tick`` is ``Tick.settle_values()`` (price ... asks)."""
        keys = self._settle_keys_of(symbol)
        args = [symbol, entry_id, *tick, phase, str(offsets[0]), str(offsets[1]), str(chunk), self.keys.channel,
                self.maxlen, market, self.keys.id_base, *self.book_args]  # fmt: skip
        return keys, args

    def settle_batch_args(
        self, symbol: str, run: list[tuple[str, list[str]]], chunk: int, market: str
    ) -> tuple[list[str], list[str]]:
        """Keys and args of one settle_batch call; ``run`` holds (entry id, settle values) in stream order."""
        args = [symbol, self.keys.channel, self.maxlen, market, str(chunk), self.keys.id_base, *self.book_args]
        for entry_id, values in run:
            args.append(entry_id)
            args.extend(values)
        return self._settle_keys_of(symbol), args

    async def settle_batch(self, keys: list[str], args: list[str]) -> BatchStep:
        """One settle_batch call."""
        return batch_step(await self._call("settle_batch", keys, args, None))

    async def settle_tick(self, keys: list[str], args: list[str]) -> SettleStep:
        """One settle_tick call."""
        return settle_step(await self._call("settle_tick", keys, args, None))

    # reset -------------------------------------------------------------------------------------------
    async def reset_account(self, acct: str, symbols: list[str], chunk: int) -> tuple[bool, int]:
        """One call of reset_account.lua: (done, orders, trades or leftover index members removed)."""
        k = self.keys
        keys = [k.balances, k.assets, k.ledger, k.stats, k.orders, k.order_ids, k.open, k.cids, k.trades,
                k.trade_ids, k.events, k.order_index, k.trade_index]  # fmt: skip
        for sym in symbols:
            keys += [k.book(sym, "buy"), k.book(sym, "sell"), k.triggers(sym, "up"), k.triggers(sym, "down")]
        reply = await self._call("reset_account", keys, [acct, str(chunk), k.channel, self.maxlen, *symbols], None)
        return int(reply[1]) == 1, int(reply[2])

    # retention -------------------------------------------------------------------------------------
    def trim_history(self, acct: str, cutoff_ms: int, keep: int, chunk: int) -> Call:
        """A call of trim_history.lua for one account (pipelined with the others of the shard)."""
        k = self.keys
        keys = [k.orders, k.order_ids, k.order_index, k.cids, k.trades, k.trade_ids, k.trade_index]
        return self.call("trim_history", keys, [acct, str(cutoff_ms), str(keep), str(chunk)])

    def trim_candles(self, symbol: str, cutoffs: tuple[int, int, int], chunk: int) -> Call:
        """A call of trim_candles.lua for one symbol (shard 0; pipelined with the others)."""
        return self.call("trim_candles", [self.keys.candles(symbol)], [str(chunk), *map(str, cutoffs)])

    async def store_candles(self, symbol: str, resolution: str, rows: list[str]) -> int:
        """One store_candles.lua call (rows: 6 values each); returns how many candles it wrote."""
        reply = await self._call("store_candles", [self.keys.candles(symbol)], [resolution, *rows], None)
        return int(reply[1])

    async def reset(self, symbols: list[str]) -> int:
        reply = await self._call("reset", self.keys.account_keys(symbols), [self.keys.channel, self.maxlen], None)
        return int(reply[1])


def settle_step(reply: list[Any]) -> SettleStep:
    code = Code(int(reply[0]))
    if code is not Code.OK:  # settle_tick has no other code; anything else is a bug worth a loud failure
        raise RuntimeError(f"settle_tick returned {code!r}")
    return SettleStep(
        filled=int(reply[1]),
        buy_offset=int(reply[2]),
        sell_offset=int(reply[3]),
        done=int(reply[4]) == 1,
        mode=SettlePhase(reply[5]),
        examined=int(reply[6]),
    )


def batch_step(reply: list[Any]) -> BatchStep:
    code = Code(int(reply[0]))
    if code is not Code.OK:  # like settle_tick, settle_batch has no other code
        raise RuntimeError(f"settle_batch returned {code!r}")
    return BatchStep(
        applied=int(reply[1]),
        filled=int(reply[2]),
        examined=int(reply[3]),
        done=int(reply[4]) == 1,
        mode=SettlePhase(reply[5]) if reply[5] else None,
        buy_offset=int(reply[6]),
        sell_offset=int(reply[7]),
    )


@dataclass(frozen=True, slots=True)
class TrimStep:
    """What one trim_history call removed; ``more`` when it stopped at its chunk."""

    orders: int
    trades: int
    more: bool


def trim_step(reply: list[Any]) -> TrimStep:
    code = Code(int(reply[0]))
    if code is not Code.OK:  # trim_history has no other code
        raise RuntimeError(f"trim_history returned {code!r}")
    return TrimStep(orders=int(reply[1]), trades=int(reply[2]), more=int(reply[3]) == 1)


def place_result(reply: list[Any]) -> PlaceResult:
    return PlaceResult(Code(int(reply[0])), reply[1])


def _balance(reply: list[Any]) -> BalanceResult:
    return BalanceResult(Code(int(reply[0])), int(reply[1]), int(reply[2]))
