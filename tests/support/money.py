"""The money invariants: the audit read straight from Valkey, the same checks over a worker's results, state
snapshots to compare runs, and a property machine of random operations that must keep the books balanced.

The machine checks, after each step, against what Valkey holds: no balance is negative; for each asset
``used`` equals exactly what open orders reserve; value is conserved to the last minor unit (total =
deposits - withdrawals + trade flows - fees); books and the open index hold exactly the open orders; the
history indexes (``S:order_index``, ``S:trade_index``) hold exactly the members the order and trade records
give, no stale one and none missing (:func:`index_problems`).
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from app.engine.audit import audit
from app.engine.errors import ExchangeError, OrderNotFound
from app.engine.exchange import Exchange
from app.engine.models import Order
from app.engine.money import CTX, from_minor
from app.settings import Settings
from app.store.embedded import redis_client
from app.store.keys import Keys
from app.store.records import OrderRecord, TradeRecord, order_decoder, trade_decoder
from app.workers.settlement import Worker, WorkerOptions


async def audit_problems(settings: Settings) -> list[str]:
    """The core's money invariants, read straight from Valkey."""
    redis = redis_client(settings.redis_url or "")
    try:
        return await audit(redis, Keys(settings.namespace))
    finally:
        await redis.aclose()


def _member(acct: str, dim: str, ts: str, id_: str) -> str:
    return f"{acct}|{dim}|{int(ts):013d}|{int(id_):016d}"


def order_members(o: OrderRecord) -> set[str]:
    """The ``S:order_index`` members of an order record, derived here on their own (the keyspace doc's rule)."""
    dims = ["all", f"st:{o.st}", f"sym:{o.sym}", f"sym:{o.sym}:{o.st}"]
    found = {_member(o.acct, dim, o.ts, o.id) for dim in dims}
    if o.st != "open":
        found.add(_member(o.acct, "done", o.uts, o.id))
    return found


def trade_members(t: TradeRecord) -> set[str]:
    """The ``S:trade_index`` members of a trade record."""
    return {_member(t.acct, dim, t.ts, t.id) for dim in ("all", f"sym:{t.sym}")}


async def index_problems(redis: Any, keys: Keys) -> list[str]:
    """The history indexes of the shard against the records: exactly the derived members, per index."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hvals(keys.orders)
        pipe.hvals(keys.trades)
        pipe.zrange(keys.order_index, 0, -1)
        pipe.zrange(keys.trade_index, 0, -1)
        pipe.zrange(keys.order_index, 0, -1, withscores=True)
        orders, trades, order_index, trade_index, scored = await pipe.execute()
    want_orders: set[str] = set()
    for raw in orders:
        want_orders |= order_members(order_decoder.decode(raw))
    want_trades: set[str] = set()
    for raw in trades:
        want_trades |= trade_members(trade_decoder.decode(raw))
    problems = []
    for name, held, want in (
        ("order_index", set(order_index), want_orders),
        ("trade_index", set(trade_index), want_trades),
    ):
        if held - want:
            problems.append(f"{name} holds stale members {sorted(held - want)[:5]} ({len(held - want)})")
        if want - held:
            problems.append(f"{name} misses members {sorted(want - held)[:5]} ({len(want - held)})")
    if any(score != 0 for _, score in scored):
        problems.append("order_index has a member with a score other than 0 (lexicographic ranges need 0)")
    return problems


async def money_problems(ex: Exchange) -> list[str]:
    """The money invariants: no negative balance, ``used`` is what open orders reserve, one trade per fill."""
    balances = await ex.redis.hgetall(ex.keys.balances)
    orders = [order_decoder.decode(raw) for raw in (await ex.redis.hgetall(ex.keys.orders)).values()]
    trades = [trade_decoder.decode(raw) for raw in (await ex.redis.hgetall(ex.keys.trades)).values()]
    problems = [f"{field} is negative: {value}" for field, value in balances.items() if int(value) < 0]
    reserved: dict[str, int] = {}  # per balance row `<acct>:<ASSET>`
    for o in orders:
        if o.st == "open" and o.shr != "1":  # shr: an OCO leg its sibling's reservation covers
            row = f"{o.acct}:{o.ra}"
            reserved[row] = reserved.get(row, 0) + int(o.res)
        elif int(o.res) != 0:
            problems.append(f"order {o.id} is {o.st} but still reserves {o.res}")
    rows = {f.rsplit(":", 1)[0] for f in balances} | set(reserved)
    for row in sorted(rows):
        used = int(balances.get(f"{row}:used", 0))
        if used != reserved.get(row, 0):
            problems.append(f"{row} used {used} != reserved by open orders {reserved.get(row, 0)}")
    per_order: dict[str, int] = {}
    for t in trades:
        per_order[t.oid] = per_order.get(t.oid, 0) + 1
    problems += [f"order {oid} has {n} trades" for oid, n in per_order.items() if n != 1]
    closed = {o.id for o in orders if o.st == "closed"}
    if closed != set(per_order):
        problems.append(f"closed orders {sorted(closed)} != orders with a trade {sorted(per_order)}")
    return problems


async def snapshot(ex: Exchange, *, trade_times: bool = True) -> dict[str, Any]:
    """Everything a fill changes, without the wall-clock stamps of orders."""
    orders = {
        o.id: (o.sym, o.side, o.px, o.amt, o.st, o.filled, o.cost, o.fee, o.fpx, o.res)
        for o in (order_decoder.decode(raw) for raw in (await ex.redis.hgetall(ex.keys.orders)).values())
    }
    trades = sorted(
        (t.oid, t.px, t.amt, t.cost, t.fee, t.ts if trade_times else "")
        for t in (trade_decoder.decode(raw) for raw in (await ex.redis.hgetall(ex.keys.trades)).values())
    )
    return {
        "balances": await ex.redis.hgetall(ex.keys.balances),
        "stats": await ex.redis.hgetall(ex.keys.stats),
        "orders": orders,
        "trades": trades,
    }


# --- the property machine -------------------------------------------------------------------------------------------

SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
ASSETS = ("USDT", "BTC", "ETH")
START = {"BTC/USDT": 500, "ETH/USDT": 40, "ETH/BTC": Decimal("0.08")}

amounts = st.integers(min_value=1, max_value=5 * 10**8).map(lambda n: Decimal(n).scaleb(-8))
deposits = st.integers(min_value=1, max_value=10**12).map(lambda n: Decimal(n).scaleb(-6))
factors = st.integers(min_value=50, max_value=150).map(lambda n: Decimal(n) / 100)


def price(symbol: str, factor: Decimal) -> Decimal:
    return (START[symbol] * factor).quantize(Decimal("0.00000001") if symbol == "ETH/BTC" else Decimal("0.01"))


def run_machine(
    url: str, tmp_path: Any, examples: int, *, accounts: int = 1, shards: int = 1, **overrides: Any
) -> None:
    """Random sequences of every operation against the server at ``url``, by ``accounts`` accounts spread
    over ``shards`` shards (``overrides``: more settings, e.g. the fee schedule); the books of every account
    must always balance, and one account's orders do not exist for another."""
    base = Settings(redis_url=url, data_dir=tmp_path, test_env=True, shards=shards, **overrides)
    who = st.integers(0, accounts - 1)

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            ns = f"h{uuid.uuid4().hex[:10]}"
            s = msgspec.structs.replace(base, namespace=ns, price_stream=f"{ns}:prices")
            self.ex: Exchange = self.run(Exchange.open(s))
            self.views = [self.ex] + [
                self.run(self._account(f"acct-{i}")) for i in range(1, accounts)
            ]  # fmt: skip
            self.order_ids: list[tuple[int, str]] = []

        async def _account(self, name: str) -> Exchange:
            await self.ex.accounts.create(name)
            return await self.ex.for_account(name)

        def run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        def attempt(self, coro: Any) -> Any:
            """Refusals are fine (they must change nothing); anything else is a bug."""
            try:
                return self.run(coro)
            except ExchangeError:
                return None

        def teardown(self) -> None:
            self.run(self.ex.close())
            self.loop.close()

        @initialize()
        def prices(self) -> None:
            for symbol in SYMBOLS:
                self.run(self.ex.push_price(symbol, price(symbol, Decimal(1))))

        @rule(i=who, asset=st.sampled_from(ASSETS), amount=deposits)
        def deposit(self, i: int, asset: str, amount: Decimal) -> None:
            self.attempt(self.views[i].deposit(asset, amount))

        @rule(i=who, asset=st.sampled_from(ASSETS), amount=deposits)
        def withdraw(self, i: int, asset: str, amount: Decimal) -> None:
            self.attempt(self.views[i].withdraw(asset, amount))

        @rule(i=who, asset=st.sampled_from(ASSETS), amount=deposits)
        def set_balance(self, i: int, asset: str, amount: Decimal) -> None:
            self.attempt(self.views[i].set_balance(asset, amount))

        @rule(i=who, symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(("buy", "sell")), amount=amounts)
        def market(self, i: int, symbol: str, side: str, amount: Decimal) -> None:
            order = self.attempt(self.views[i].create_order(symbol, side, "market", amount))
            if order is not None:
                assert order.status == "closed"

        @rule(i=who, symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(("buy", "sell")), cost=amounts)
        def market_by_cost(self, i: int, symbol: str, side: str, cost: Decimal) -> None:
            order = self.attempt(self.views[i].create_order(symbol, side, "market", cost=cost * 100))
            if order is not None:
                assert order.status == "closed"
                assert order.cost <= cost * 100

        @rule(
            i=who,
            symbol=st.sampled_from(SYMBOLS),
            side=st.sampled_from(("buy", "sell")),
            amount=amounts,
            factor=factors,
            tif=st.sampled_from(("GTC", "GTC", "IOC", "PO")),
        )
        def limit(self, i: int, symbol: str, side: str, amount: Decimal, factor: Decimal, tif: str) -> None:
            order = self.attempt(
                self.views[i].create_order(symbol, side, "limit", amount, price(symbol, factor), time_in_force=tif)
            )
            if order is not None:
                self.order_ids.append((i, order.id))

        @rule(
            i=who,
            symbol=st.sampled_from(SYMBOLS),
            side=st.sampled_from(("buy", "sell")),
            kind=st.sampled_from(("trigger_price", "stop_loss_price", "take_profit_price")),
            amount=amounts,
            trigger=factors,
            limit=st.one_of(st.none(), factors),
            tif=st.sampled_from(("GTC", "GTC", "IOC", "FOK", "PO")),
        )
        def stop(
            self, i: int, symbol: str, side: str, kind: str, amount: Decimal, trigger: Decimal,
            limit: Decimal | None, tif: str,
        ) -> None:  # fmt: skip
            """A stop-loss / take-profit, limit or market (most are refused: the trigger is on the wrong side)."""
            type_, px = ("market", None) if limit is None else ("limit", price(symbol, limit))
            tif_ = "GTC" if limit is None and tif == "PO" else tif
            order = self.attempt(
                self.views[i].create_order(
                    symbol, side, type_, amount, px, time_in_force=tif_, **{kind: price(symbol, trigger)}
                )
            )
            if order is not None:
                assert (order.status, order.filled) == ("open", 0)
                self.order_ids.append((i, order.id))

        @rule(
            i=who,
            symbol=st.sampled_from(SYMBOLS),
            side=st.sampled_from(("buy", "sell")),
            amount=amounts,
            limit=factors,
            stop=factors,
            stop_limit=st.one_of(st.none(), factors),
        )
        def oco(
            self, i: int, symbol: str, side: str, amount: Decimal, limit: Decimal, stop: Decimal,
            stop_limit: Decimal | None,
        ) -> None:  # fmt: skip
            """A one-cancels-the-other list (refused unless its limit rests and its stop is not reached yet)."""
            stop_px = None if stop_limit is None else price(symbol, stop_limit)
            listed = self.attempt(
                self.views[i].create_oco(symbol, side, amount, price(symbol, limit), price(symbol, stop), stop_px)
            )
            if listed is not None:
                assert [o.status for o in listed.orders] == ["open", "open"]
                self.order_ids += [(i, o.id) for o in listed.orders]

        @rule(data=st.data(), other=st.booleans())
        def cancel(self, data: st.DataObject, other: bool) -> None:
            if not self.order_ids:
                return
            owner, order_id = data.draw(st.sampled_from(self.order_ids))
            if other and accounts > 1:  # another account: the order does not exist for it
                stranger = self.views[(owner + 1) % accounts]
                try:
                    self.run(stranger.cancel_order(order_id))
                except OrderNotFound:
                    return
                raise AssertionError(f"account {(owner + 1) % accounts} canceled order {order_id} of {owner}")
            self.attempt(self.views[owner].cancel_order(order_id))

        @rule(symbol=st.sampled_from(SYMBOLS), factor=factors, spread=st.integers(0, 3))
        def tick(self, symbol: str, factor: Decimal, spread: int) -> None:
            p = price(symbol, factor)
            step = Decimal("0.00000001") if symbol == "ETH/BTC" else Decimal("0.01")
            self.run(self.ex.push_price(symbol, p, bid=p - spread * step, ask=p + spread * step))

        @rule(
            ticks=st.lists(st.tuples(st.sampled_from(SYMBOLS), factors), min_size=1, max_size=12),
            batch=st.integers(1, 8),
        )
        def stream_ticks(self, ticks: list[tuple[str, Decimal]], batch: int) -> None:
            """Ticks published on the stream and drained by a settlement worker (batched runs per symbol)."""
            for symbol, factor in ticks:
                fields = {"symbol": symbol, "price": str(price(symbol, factor))}
                self.run(self.ex.redis.xadd(self.ex.settings.price_stream, fields))
            options = WorkerOptions(name="machine", burst=True, sweep=False, batch=batch)
            counters = self.run(Worker(self.ex, options).run())
            assert (counters.errors, counters.dead) == (0, 0)

        @rule()
        def sweep(self) -> None:
            self.run(self.ex.sweep())

        @rule(i=who, often=st.integers(0, 3))
        def reset(self, i: int, often: int) -> None:
            """An account reset (rarely: it wipes what the other rules built), chunked by reset_account.lua."""
            if often == 0:
                self.run(self.views[i].reset())

        @invariant()
        def books_balance(self) -> None:
            for keys in self.ex.core.shard_keys:
                assert self.run(audit(self.ex.redis, keys)) == []

        @invariant()
        def orders_add_up(self) -> None:
            for keys in self.ex.core.shard_keys:
                trades: dict[str, list[TradeRecord]] = {}
                for raw in self.run(self.ex.redis.hvals(keys.trades)):
                    t = trade_decoder.decode(raw)
                    trades.setdefault(t.oid, []).append(t)
                for raw in self.run(self.ex.redis.hvals(keys.orders)):
                    o = Order.from_record(order_decoder.decode(raw))
                    assert o.filled + o.remaining == o.amount
                    assert o.average == (CTX.divide(o.cost, o.filled) if o.filled else None)
                    if o.id in trades:  # a fill's trade (retention may have trimmed it)
                        assert o.cost == sum((from_minor(t.cost) for t in trades[o.id]), Decimal(0))

        @invariant()
        def history_indexed(self) -> None:
            for keys in self.ex.core.shard_keys:
                assert self.run(index_problems(self.ex.redis, keys)) == []

    Machine.TestCase.settings = settings(
        max_examples=examples,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    Machine.TestCase().runTest()
