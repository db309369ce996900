"""The Python face of MockX: one async ``Exchange`` that the API, the workers and back-tests all call.

Python validates and prices (exact Decimal); one Lua script per transition moves the money and changes
state atomically, and writes the events. Open one with::

    async with Exchange.connect() as ex:        # embedded Valkey unless REDIS_URL is set
        await ex.deposit("USDT", Decimal("1000"))
        await ex.push_price("BTC/USDT", Decimal("50000"))
        order = await ex.create_order("BTC/USDT", "buy", "market", Decimal("0.01"))
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

import msgspec
from redis.asyncio import Redis

from app.engine import markets as mk
from app.engine.errors import (
    BadRequest,
    BadSymbol,
    Code,
    DuplicateOrderId,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    OrderImmediatelyFillable,
    OrderNotFound,
)
from app.engine.models import Balance, BalanceRow, CanExecute, Market, Order, Ticker, Trade, iso8601
from app.engine.money import (
    CTX,
    MAX_MINOR,
    MAX_UNITS,
    MoneyError,
    fee_for,
    from_minor,
    is_multiple,
    parse_decimal,
    plain,
    price_str,
    round_cost,
    tidy,
    to_minor,
)
from app.engine.ticks import Tick
from app.settings import Settings
from app.store.embedded import EmbeddedValkey
from app.store.keys import Keys
from app.store.records import (
    MarketRecord,
    OrderRecord,
    market_decoder,
    order_decoder,
    record_encoder,
    trade_decoder,
)
from app.store.scripts import PlaceResult, Scripts, SettleStep
from app.store.transport import Call, Transport

log = logging.getLogger(__name__)

ORDER_STATUSES = ("open", "closed", "canceled", "expired", "rejected")
STATUS_ALIASES = {
    "new": "open",
    "partially_filled": "open",
    "filled": "closed",
    "cancelled": "canceled",
    "canceled": "canceled",
}
_CLIENT_ID = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")
_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")
_PRICE_RETRIES = 5
_PAGE = 500


def normalize_status(raw: str) -> str:
    """ccxt statuses, and the older words (new, filled, partially_filled, ...) as aliases."""
    status = raw.strip().lower()
    status = STATUS_ALIASES.get(status, status)
    if status not in ORDER_STATUSES:
        words = ", ".join((*ORDER_STATUSES, *STATUS_ALIASES))
        raise BadRequest(f"unknown order status {raw!r}; use one of: {words}")
    return status


def normalize_asset(raw: str) -> str:
    asset = raw.strip().upper()
    if not _ASSET.match(asset):
        raise BadRequest(f"{raw!r} is not an asset code: use 1-20 letters or digits, like USDT")
    return asset


def _amount(value: object, what: str = "amount") -> Decimal:
    try:
        amount = parse_decimal(value, what)
    except MoneyError as exc:
        raise BadRequest(str(exc)) from None
    if amount <= 0:
        raise BadRequest(f"{what} must be positive, got {price_str(amount) if amount else 0}")
    return amount


def _minor(amount: Decimal, what: str) -> int:
    try:
        return to_minor(amount, what)
    except MoneyError as exc:
        raise BadRequest(str(exc)) from None


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """What Python decided for an order, ready for ``place_order.lua``."""

    symbol: str
    side: str
    mode: str  # rest | fill | expire
    record: OrderRecord
    debit_asset: str
    debit: int
    credit_asset: str = ""
    credit: int = 0
    guard: str = ""
    fill: tuple[str, int, int] = ("", 0, 0)


@dataclass(frozen=True, slots=True)
class SettleResult:
    """What one tick did."""

    entry_id: str
    symbol: str
    filled: int
    newest: bool  # whether the tick is now the one the ticker shows
    calls: int
    examined: int


class Exchange:
    """One account on one exchange. Cheap to construct; share one per process."""

    def __init__(self, transport: Transport, settings: Settings, *, embedded: EmbeddedValkey | None = None) -> None:
        self.transport = transport
        self.redis: Redis = transport.redis
        self.settings = settings
        self.keys = Keys(settings.namespace)
        self.scripts = Scripts(transport, self.keys, events_maxlen=settings.events_maxlen)
        self.fee_rate = settings.commission
        self._embedded = embedded
        self._markets: dict[str, MarketRecord] = {}
        self._market_cache: dict[str, str] = {}

    # lifecycle -----------------------------------------------------------------------------------------
    @classmethod
    async def open(cls, settings: Settings | None = None) -> Exchange:
        """Connect (starting the embedded Valkey if no URL is set), load scripts and declared markets."""
        settings = settings or Settings.from_env()
        embedded = None
        url = settings.redis_url
        if url is None:
            embedded = EmbeddedValkey(settings.data_dir)
            url = embedded.start()
        try:
            transport = await Transport.open(
                url, socket_timeout=settings.redis_timeout, max_connections=settings.redis_max_connections
            )
        except BaseException:
            if embedded is not None:
                embedded.stop()
            raise
        ex = cls(transport, settings, embedded=embedded)
        try:
            await ex.scripts.load()
            await ex.declare_markets(mk.load_declared(settings.markets, settings.markets_file))
        except BaseException:
            await ex.close()
            raise
        return ex

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, settings: Settings | None = None, **overrides: Any) -> AsyncIterator[Exchange]:
        """``async with Exchange.connect(namespace="backtest") as ex:`` — open, use, close.

        ``overrides`` replace fields of the settings (default: read from the environment), e.g. a
        ``namespace`` of its own so a back-test never touches the state of a running ``mockx up``.
        """
        base = settings or Settings.from_env()
        ex = await cls.open(msgspec.structs.replace(base, **overrides) if overrides else base)
        try:
            yield ex
        finally:
            await ex.close()

    async def close(self) -> None:
        await self.transport.aclose()
        if self._embedded is not None:
            self._embedded.stop()

    async def __aenter__(self) -> Exchange:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """Where the state lives (the embedded server's URL, or REDIS_URL)."""
        if self._embedded is not None:
            return self._embedded.url
        return self.settings.redis_url or ""

    # markets -------------------------------------------------------------------------------------------
    async def declare_markets(self, records: Iterable[MarketRecord]) -> None:
        records = list(records)
        if records:
            await self.redis.hset(
                self.keys.markets, mapping={m.sym: record_encoder.encode(m).decode() for m in records}
            )
            for m in records:
                self._markets[m.sym] = m
                self._market_cache.pop(m.sym, None)

    async def market_records(self) -> dict[str, MarketRecord]:
        raw = await self.redis.hgetall(self.keys.markets)
        found = {sym: market_decoder.decode(v) for sym, v in raw.items()}
        self._markets.update(found)
        return found

    async def fetch_markets(self) -> list[Market]:
        records = await self.market_records()
        return [Market.from_record(records[s], self.fee_rate, MAX_UNITS) for s in sorted(records)]

    async def symbol(self, raw: str) -> str:
        """Normalize a user's symbol (``BTCUSDT``, ``btc-usdt``...) against the known markets."""
        try:
            return mk.normalize_symbol(raw, set(self._markets))
        except BadSymbol:
            return mk.normalize_symbol(raw, set(await self.market_records()))

    # balances ------------------------------------------------------------------------------------------
    async def deposit(self, asset: str, amount: object) -> BalanceRow:
        asset = normalize_asset(asset)
        minor = _minor(_amount(amount), "amount")
        result = await self.scripts.deposit(asset, minor, MAX_MINOR)
        if result.code is Code.BALANCE_LIMIT:
            raise BadRequest(
                f"depositing {plain(from_minor(minor))} {asset} would take the balance above the largest "
                f"supported value, {plain(MAX_UNITS)} {asset}"
            )
        return _row(result.free, result.used)

    fund = deposit

    async def withdraw(self, asset: str, amount: object) -> BalanceRow:
        asset = normalize_asset(asset)
        minor = _minor(_amount(amount), "amount")
        result = await self.scripts.withdraw(asset, minor)
        if result.code is Code.INSUFFICIENT_FUNDS:
            raise InsufficientFunds(
                f"cannot withdraw {plain(from_minor(minor))} {asset}: "
                f"only {plain(from_minor(result.free))} {asset} is free"
            )
        return _row(result.free, result.used)

    async def set_balance(self, asset: str, free: object) -> BalanceRow:
        """Overwrite the free balance of ``asset`` (``used`` stays what open orders reserve)."""
        asset = normalize_asset(asset)
        try:
            value = parse_decimal(free, "free")
        except MoneyError as exc:
            raise BadRequest(str(exc)) from None
        minor = _minor(value, "free")
        result = await self.scripts.set_balance(asset, minor, MAX_MINOR)
        if result.code is Code.BALANCE_LIMIT:
            raise BadRequest(
                f"{asset} free {plain(value)} plus {plain(from_minor(result.used))} in open orders exceeds the largest "
                f"supported balance, {plain(MAX_UNITS)}"
            )
        return _row(result.free, result.used)

    async def fetch_balance(self) -> Balance:
        raw = await self.redis.hgetall(self.keys.balances)
        assets = sorted({field.rsplit(":", 1)[0] for field in raw})
        rows = {a: _row(int(raw.get(f"{a}:free", 0)), int(raw.get(f"{a}:used", 0))) for a in assets}
        return Balance(timestamp=int(time.time() * 1000), rows=rows)

    async def fetch_balance_row(self, asset: str) -> BalanceRow:
        asset = normalize_asset(asset)
        free, used = await self.redis.hmget(self.keys.balances, [f"{asset}:free", f"{asset}:used"])
        return _row(int(free or 0), int(used or 0))

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

    # orders --------------------------------------------------------------------------------------------
    async def create_order(
        self,
        symbol: str,
        side: str,
        type: str = "market",
        amount: object = None,
        price: object = None,
        *,
        client_order_id: str | None = None,
        time_in_force: str | None = None,
    ) -> Order:
        """Place an order. Market orders and marketable limits fill at once (taker); other limits rest."""
        record, trade = await self._submit(
            (symbol, side, type, amount, price, client_order_id, time_in_force), dry_run=False
        )
        return Order.from_record(order_decoder.decode(record), trade)

    async def can_execute(
        self,
        symbol: str,
        side: str,
        type: str = "market",
        amount: object = None,
        price: object = None,
        *,
        client_order_id: str | None = None,
        time_in_force: str | None = None,
    ) -> CanExecute:
        """Dry run: would this order be accepted now, and if not, why. Nothing changes."""
        try:
            await self._submit((symbol, side, type, amount, price, client_order_id, time_in_force), dry_run=True)
            return CanExecute(ok=True)
        except ExchangeError as exc:
            return CanExecute(ok=False, reason=exc.message, code=exc.code)

    async def place_plan(
        self, plan: OrderPlan, *, dry_run: bool = False, batch: list[Call] | None = None
    ) -> PlaceResult | None:
        """Run place_order.lua for a plan; with a ``batch`` the call is appended to it (bulk loading)."""
        return await self.scripts.place_order(
            symbol=plan.symbol,
            side=plan.side,
            mode=plan.mode,
            record=record_encoder.encode(plan.record).decode(),
            debit_asset=plan.debit_asset,
            debit=plan.debit,
            credit_asset=plan.credit_asset,
            credit=plan.credit,
            guard=plan.guard,
            dry_run=dry_run,
            max_minor=MAX_MINOR,
            fill=plan.fill,
            batch=batch,
        )

    async def _submit(
        self, order: tuple[str, str, str, object, object, str | None, str | None], *, dry_run: bool
    ) -> tuple[str, Any]:
        """Plan and place (or dry-run) an order, re-pricing when the book moved across the limit meanwhile."""
        for _ in range(_PRICE_RETRIES):
            result = await self._place(await self.plan_order(*order), dry_run=dry_run)
            if result is not None:
                return result
        raise ExchangeError("the price kept moving across the limit while placing the order; try again")

    async def _place(self, plan: OrderPlan, *, dry_run: bool) -> tuple[str, Any] | None:
        """Run place_order.lua; None means the price moved (re-plan); errors raise."""
        result = await self.place_plan(plan, dry_run=dry_run)
        assert result is not None
        code = result.code
        if code is Code.OK:
            if dry_run:
                return "", None
            rec = order_decoder.decode(result.record)
            if not rec.tid:
                return result.record, None
            raw_trade = await self.transport.command("HGET", self.keys.trades, rec.tid)
            return result.record, trade_decoder.decode(raw_trade)
        if code is Code.PRICE_MOVED:
            return None
        if code is Code.INSUFFICIENT_FUNDS:
            need = plain(from_minor(plan.debit))
            what = "to reserve" if plan.mode == "rest" else "to pay"
            raise InsufficientFunds(
                f"insufficient {plan.debit_asset}: the order needs {need} {plan.debit_asset} free {what}"
                + (" (cost + fee)" if plan.debit_asset == plan.record.quote else "")
            )
        if code is Code.DUPLICATE_CLIENT_ID:
            raise DuplicateOrderId(f"clientOrderId {plan.record.cid!r} is already used by another order")
        if code is Code.BALANCE_LIMIT:
            raise BadRequest(
                f"the order would take the {plan.credit_asset} balance above the largest supported value, "
                f"{plain(MAX_UNITS)}"
            )
        raise ExchangeError(f"place_order returned {code!r}")  # pragma: no cover - no other code exists

    async def place_copies(self, plan: OrderPlan, count: int, *, batch: int = 2000) -> None:
        """Place ``count`` copies of one planned order in pipelined batches (seeding big books quickly).

        Each copy is a full place_order.lua call (funds checked, reservation made, events written); a
        refused copy is simply not placed.
        """
        for start in range(0, count, batch):
            calls: list[Call] = []
            for _ in range(min(batch, count - start)):
                await self.place_plan(plan, batch=calls)
            for reply in await self.transport.execute(calls):
                if isinstance(reply, Exception):
                    raise reply

    async def plan_order(
        self,
        raw_symbol: str,
        side: str,
        type: str,
        amount_in: object,
        price_in: object,
        client_order_id: str | None,
        time_in_force: str | None,
    ) -> OrderPlan:
        """Validate and price an order against the current ticker, without placing it."""
        side = str(side).strip().lower()
        if side not in ("buy", "sell"):
            raise BadRequest(f"side must be 'buy' or 'sell', got {side!r}")
        type = str(type or "market").strip().lower()
        if type not in ("market", "limit"):
            raise BadRequest(f"type must be 'market' or 'limit', got {type!r}")
        tif = (time_in_force or "GTC").strip().upper()
        if tif not in ("GTC", "IOC", "FOK", "PO"):
            raise BadRequest(f"timeInForce must be GTC, IOC, FOK or PO, got {time_in_force!r}")
        if type == "market" and tif == "PO":
            raise InvalidOrder("a market order cannot be post-only")
        cid = client_order_id or ""
        if cid and not _CLIENT_ID.match(cid):
            raise BadRequest("clientOrderId must be 1-36 characters of letters, digits and . : / _ -")
        if type == "market" and price_in is not None:
            raise BadRequest("a market order takes no price: omit it, or set type to 'limit' for a limit order")
        if amount_in is None:
            raise BadRequest("amount is required")
        amount = _amount(amount_in)
        symbol = await self.symbol(raw_symbol)

        market_raw, tick = await self._market_and_ticker(symbol)
        if market_raw is None:
            raise BadSymbol(f"{symbol} is not traded here: it has no market yet (publish a price for it first)")
        market = market_decoder.decode(market_raw)
        last, bid, ask = tick
        if last is None:
            raise InvalidOrder(f"{symbol} has no price yet: publish a tick before trading it")
        self._check_amount(amount, market)
        amt = _minor(amount, "amount")
        rate = price_str(self.fee_rate)
        record = OrderRecord(
            sym=symbol, base=market.base, quote=market.quote, side=side, type=type, tif=tif,
            amt=str(amt), rate=rate, fcur=market.quote, cid=cid,
        )  # fmt: skip

        limit: Decimal | None = None
        if type == "limit":
            if price_in is None:
                raise BadRequest("price is required for a limit order")
            try:
                limit = parse_decimal(price_in, "price")
                mk.validate_price(limit, market)
            except MoneyError as exc:
                raise InvalidOrder(str(exc)) from None
            if limit > MAX_UNITS:
                raise InvalidOrder(f"price {price_str(limit)} is above the largest supported value {MAX_UNITS}")
            record.px = price_str(limit)

        touch = (ask or last) if side == "buy" else (bid or last)
        marketable = limit is None or (limit >= touch if side == "buy" else limit <= touch)
        if marketable and tif == "PO":
            raise OrderImmediatelyFillable(
                f"post-only {side} at {price_str(limit or touch)} would fill at once against "
                f"{'ask' if side == 'buy' else 'bid'} {price_str(touch)}"
            )

        if marketable:
            cost = round_cost(touch, amount)
            self._check_notional(cost, market)
            fee = fee_for(cost, self.fee_rate)
            fill = (price_str(touch), cost, fee)
            if side == "buy":
                return OrderPlan(symbol, side, "fill", record, market.quote, cost + fee, market.base, amt, fill=fill)
            return OrderPlan(symbol, side, "fill", record, market.base, amt, market.quote, cost - fee, fill=fill)

        assert limit is not None
        cost = round_cost(limit, amount)
        self._check_notional(cost, market)
        if cost > MAX_MINOR:
            raise InvalidOrder(f"the order's value exceeds the largest supported value {plain(MAX_UNITS)}")
        fee = fee_for(cost, self.fee_rate)
        record.mc, record.mf = str(cost), str(fee)
        if tif in ("IOC", "FOK"):
            return OrderPlan(symbol, side, "expire", record, market.quote if side == "buy" else market.base, 0)
        if side == "buy":
            record.ra, record.ca, record.cr = market.quote, market.base, str(amt)
            return OrderPlan(symbol, side, "rest", record, market.quote, cost + fee, guard="ask>")
        record.ra, record.ca, record.cr = market.base, market.quote, str(cost - fee)
        return OrderPlan(symbol, side, "rest", record, market.base, amt, guard="bid<")

    def _check_amount(self, amount: Decimal, market: MarketRecord) -> None:
        step, minimum = Decimal(market.step), Decimal(market.min_amt)
        if amount > MAX_UNITS:
            raise InvalidOrder(f"amount {price_str(amount)} is above the largest supported value {MAX_UNITS}")
        if not is_multiple(amount, step):
            raise InvalidOrder(
                f"amount {price_str(amount)} is not a multiple of the amount step {market.step} of {market.sym}"
            )
        if amount < minimum:
            raise InvalidOrder(f"amount {price_str(amount)} is below the minimum {market.min_amt} of {market.sym}")

    def _check_notional(self, cost_minor: int, market: MarketRecord) -> None:
        if cost_minor <= 0:
            raise InvalidOrder(
                f"the order's value rounds to 0 {market.quote} (below 0.00000001): increase the amount or the price"
            )
        minimum = Decimal(market.min_cost)
        if minimum and from_minor(cost_minor) < minimum:
            raise InvalidOrder(
                f"order value {plain(from_minor(cost_minor))} {market.quote} is below the minimum notional "
                f"{market.min_cost} {market.quote} of {market.sym}"
            )

    async def _market_and_ticker(
        self, symbol: str
    ) -> tuple[str | None, tuple[Decimal | None, Decimal | None, Decimal | None]]:
        market, (last, bid, ask) = await self.transport.pipeline(
            ("HGET", self.keys.markets, symbol), ("HMGET", self.keys.ticker(symbol), "last", "bid", "ask")
        )
        return market, (_dec(last), _dec(bid), _dec(ask))

    async def cancel_order(self, order_id: str) -> Order:
        """Cancel an open order; a closed, canceled or unknown order raises :class:`OrderNotFound`."""
        record = await self._record(order_id)
        result = await self.scripts.cancel_order(record.id, record.sym, record.side)
        if result.code is Code.NOT_FOUND:
            raise OrderNotFound(f"order {order_id!r} does not exist")
        if result.code is Code.NOT_OPEN:
            status = order_decoder.decode(result.record).st
            raise OrderNotFound(f"order {order_id} is {status}, not open: only an open order can be canceled")
        return Order.from_record(order_decoder.decode(result.record))

    async def fetch_order(self, order_id: str) -> Order:
        """An order by id or by clientOrderId."""
        record = await self._record(order_id)
        trade = None
        if record.tid:
            trade = trade_decoder.decode(await self.redis.hget(self.keys.trades, record.tid))
        return Order.from_record(record, trade)

    async def _record(self, order_id: str) -> OrderRecord:
        key = str(order_id).strip()
        if not key or len(key) > 64:
            raise OrderNotFound(f"order {order_id!r} does not exist")
        raw = await self.redis.hget(self.keys.orders, key)
        if raw is None:
            real = await self.redis.hget(self.keys.cids, key)
            raw = await self.redis.hget(self.keys.orders, real) if real else None
        if raw is None:
            raise OrderNotFound(f"order {order_id!r} does not exist")
        return order_decoder.decode(raw)

    async def fetch_orders(
        self,
        *,
        status: str | None = None,
        symbol: str | None = None,
        side: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        """Orders oldest first; ``limit`` keeps the most recent ones. Filters combine."""
        status = normalize_status(status) if status else None
        symbol = await self.symbol(symbol) if symbol else None
        if side is not None and side not in ("buy", "sell"):
            raise BadRequest(f"side must be 'buy' or 'sell', got {side!r}")
        index = self.keys.open if status == "open" else self.keys.order_ids

        def keep(o: OrderRecord) -> bool:
            return (
                (status is None or o.st == status)
                and (symbol is None or o.sym == symbol)
                and (side is None or o.side == side)
                and (since is None or int(o.ts) >= since)
            )

        records = await self._scan(index, self.keys.orders, order_decoder.decode, keep, since, limit)
        tids = [r.tid for r in records if r.tid]
        trades = {}
        if tids:
            raw = await self.redis.hmget(self.keys.trades, tids)
            trades = {t.id: t for t in (trade_decoder.decode(x) for x in raw if x)}
        return [Order.from_record(r, trades.get(r.tid)) for r in records]

    async def fetch_my_trades(
        self, *, symbol: str | None = None, since: int | None = None, limit: int | None = None
    ) -> list[Trade]:
        """The account's fills, oldest first; ``limit`` keeps the most recent ones."""
        symbol = await self.symbol(symbol) if symbol else None

        def keep(t: Any) -> bool:
            return (symbol is None or t.sym == symbol) and (since is None or int(t.ts) >= since)

        records = await self._scan(self.keys.trade_ids, self.keys.trades, trade_decoder.decode, keep, since, limit)
        return [Trade.from_record(t) for t in records]

    async def _scan(
        self, index: str, store: str, decode: Any, keep: Any, since: int | None, limit: int | None
    ) -> list[Any]:
        """Newest-first pages of an id index, filtered, until ``limit`` matches; returned oldest first."""
        if limit is not None and limit <= 0:
            raise BadRequest("limit must be positive")
        found: list[Any] = []
        high = "+inf"
        while limit is None or len(found) < limit:
            ids = await self.redis.zrevrangebyscore(index, high, "-inf", start=0, num=_PAGE)
            if not ids:
                break
            raws = await self.redis.hmget(store, ids)
            older = False
            for raw in raws:
                if raw is None:
                    continue
                rec = decode(raw)
                if since is not None and int(rec.ts) < since:
                    older = True
                if keep(rec):
                    found.append(rec)
                    if limit is not None and len(found) >= limit:
                        break
            if older or len(ids) < _PAGE:
                break
            high = f"({ids[-1]}"
        found.reverse()
        return found

    # market data ---------------------------------------------------------------------------------------
    async def fetch_ticker(self, symbol: str) -> Ticker:
        symbol = await self.symbol(symbol)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.ticker(symbol))
            pipe.hgetall(self.keys.ohlc(symbol))
            raw, ohlc = await pipe.execute()
        if not raw:
            raise BadSymbol(f"{symbol} has no price yet")
        return _ticker(symbol, raw, ohlc)

    async def fetch_tickers(self) -> dict[str, Ticker]:
        symbols = sorted(await self.market_records())
        async with self.redis.pipeline(transaction=False) as pipe:
            for s in symbols:
                pipe.hgetall(self.keys.ticker(s))
                pipe.hgetall(self.keys.ohlc(s))
            replies = await pipe.execute()
        out = {}
        for i, s in enumerate(symbols):
            raw, ohlc = replies[2 * i], replies[2 * i + 1]
            if raw:
                out[s] = _ticker(s, raw, ohlc)
        return out

    # prices --------------------------------------------------------------------------------------------
    async def push_price(
        self,
        symbol: str,
        price: object,
        *,
        bid: object = None,
        ask: object = None,
        ts: int | None = None,
        volume: object = None,
    ) -> SettleResult:
        """Publish a tick on the price stream and apply it now; returns once its fills are done.

        The settlement workers will see the same entry and find nothing left to do (ticks are
        idempotent), so this works with or without workers running.
        """
        from app.engine.ticks import MalformedTick, parse_tick

        fields: dict[str, str] = {"symbol": str(symbol), "price": str(price)}
        for name, value in (("bid", bid), ("ask", ask), ("volume", volume)):
            if value is not None:
                fields[name] = str(value)
        if ts is not None:
            fields["ts"] = str(ts)
        try:
            symbol_norm = await self.symbol(symbol)
            fields["symbol"] = symbol_norm
            parse_tick(fields, "0-0")  # validate before publishing anything
        except MalformedTick as exc:
            raise BadRequest(str(exc)) from None
        entry_id = await self.redis.xadd(
            self.settings.price_stream, fields, maxlen=self.settings.price_stream_maxlen, approximate=True
        )
        return await self.apply_tick(entry_id, parse_tick(fields, entry_id))

    async def apply_tick(self, entry_id: str, tick: Tick) -> SettleResult:
        """Apply one price-stream entry: ticker, then every crossed order, chunk by chunk."""
        step = await self._settle_call(entry_id, tick, "first", (0, 0))
        return await self.finish_tick(entry_id, tick, step)

    async def finish_tick(self, entry_id: str, tick: Tick, first: SettleStep) -> SettleResult:
        """Continue a tick whose first settle call returned ``first`` until every chunk is done."""
        step, calls, filled, examined = first, 1, first.filled, first.examined
        while not step.done:
            step = await self._settle_call(entry_id, tick, step.mode, (step.buy_offset, step.sell_offset))
            calls += 1
            filled += step.filled
            examined += step.examined
        return SettleResult(entry_id, tick.symbol, filled, first.mode == "n", calls, examined)

    def settle_call_args(
        self, entry_id: str, tick: Tick, phase: str, offsets: tuple[int, int], values: list[str] | None = None
    ) -> tuple[list[str], list[str]]:
        """Keys and args of a settle_tick call; ``values`` is ``tick.settle_values()`` if already at hand."""
        return self.scripts.settle_args(
            tick.symbol,
            entry_id,
            values or tick.settle_values(),
            phase,
            offsets,
            self.settings.settle_chunk,
            self._market_json(tick.symbol),
        )

    def settle_batch_call_args(self, symbol: str, run: list[tuple[str, list[str]]]) -> tuple[list[str], list[str]]:
        """Keys and args of a settle_batch call: ``run`` holds (entry id, settle values) of ticks of ``symbol``."""
        return self.scripts.settle_batch_args(symbol, run, self.settings.settle_chunk, self._market_json(symbol))

    def _market_json(self, symbol: str) -> str:
        """The market record a first price registers (only if the symbol has none), encoded once per symbol."""
        encoded = self._market_cache.get(symbol)
        if encoded is None:
            market = self._markets.get(symbol) or mk.default_market(symbol)
            encoded = self._market_cache[symbol] = record_encoder.encode(market).decode()
        return encoded

    async def _settle_call(self, entry_id: str, tick: Tick, phase: str, offsets: tuple[int, int]) -> SettleStep:
        keys, args = self.settle_call_args(entry_id, tick, phase, offsets)
        return await self.scripts.settle_tick(keys, args)

    async def sweep(self) -> int:
        """Re-check every symbol's resting orders against its latest price; returns the fills made."""
        filled = 0
        for symbol in await self.market_records():
            raw = await self.redis.hgetall(self.keys.ticker(symbol))
            if not raw or not raw.get("id"):
                continue
            tick = Tick(
                symbol=symbol,
                price=Decimal(raw["last"]),
                bid=Decimal(raw.get("bid") or raw["last"]),
                ask=Decimal(raw.get("ask") or raw["last"]),
                ts=int(raw.get("ts") or 0),
            )
            step = await self._settle_call(raw["id"], tick, "sweep", (0, 0))
            result = await self.finish_tick(raw["id"], tick, step)
            filled += result.filled
        return filled

    # admin ---------------------------------------------------------------------------------------------
    async def reset(self) -> None:
        """Wipe balances, orders, trades and events in one atomic step (markets and prices stay)."""
        symbols = list(await self.market_records())
        await self.scripts.reset(symbols)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())


def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None


def _row(free: int, used: int) -> BalanceRow:
    return BalanceRow(free=from_minor(free), used=from_minor(used), total=from_minor(free + used))


def _ticker(symbol: str, raw: dict[str, str], ohlc: dict[str, str]) -> Ticker:
    """A ccxt ticker from the ticker hash and the hourly buckets of the last 24 h."""
    last = tidy(Decimal(raw["last"]))
    ts = int(raw.get("ts") or 0)
    newest_hour = ts // 3_600_000
    hours = sorted(
        {int(f.split(":", 1)[0]) for f in ohlc if newest_hour - 23 <= int(f.split(":", 1)[0]) <= newest_hour}
    )
    high = low = open_ = None
    if hours:
        high = max(Decimal(ohlc[f"{h}:h"]) for h in hours)
        low = min(Decimal(ohlc[f"{h}:l"]) for h in hours)
        open_ = tidy(Decimal(ohlc[f"{hours[0]}:o"]))
        high, low = tidy(high), tidy(low)
    change = tidy(last - open_) if open_ is not None else None
    percentage = (
        tidy(CTX.divide(change * 100, open_).quantize(Decimal("0.0001"))) if open_ and change is not None else None
    )
    average = tidy(CTX.divide(open_ + last, 2)) if open_ is not None else None
    return Ticker(
        symbol=symbol,
        timestamp=ts,
        datetime=iso8601(ts),
        high=high,
        low=low,
        bid=_dec_tidy(raw.get("bid")),
        bidVolume=_dec_tidy(raw.get("bidVolume")),
        ask=_dec_tidy(raw.get("ask")),
        askVolume=_dec_tidy(raw.get("askVolume")),
        vwap=None,
        open=open_,
        close=last,
        last=last,
        previousClose=None,
        change=change,
        percentage=percentage,
        average=average,
        baseVolume=_dec_tidy(raw.get("volume")),
        quoteVolume=None,
    )


def _dec_tidy(value: str | None) -> Decimal | None:
    return tidy(Decimal(value)) if value else None
