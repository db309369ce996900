"""Orders of the account: placing (and dry-running), cancelling, and reading one order (the lists are
:mod:`app.engine.history`).

Python plans an order (:mod:`app.engine.planner`) against the market and the current book; one
``place_order.lua`` call checks the funds and the book again and makes the change atomically. If the
book moved across the limit in between, the order is planned again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.engine.accounts import AccountRef
from app.engine.core import Core, Part
from app.engine.errors import (
    BadRequest,
    BadSymbol,
    DuplicateOrderId,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
)
from app.engine.inputs import order_key
from app.engine.market_data import MarketData
from app.engine.models import CanExecute, FeeSchedule, Order, OrderList, TradingFee
from app.engine.money import MAX_MINOR, MAX_UNITS, from_minor, plain
from app.engine.planner import OrderPlan, Quote, parse_order, plan, plan_oco
from app.store.protocol import Code, PlaceMode
from app.store.records import OrderRecord, market_decoder, order_decoder, record_encoder, trade_decoder
from app.store.scripts import PlaceResult
from app.store.transport import Call

_PRICE_RETRIES = 5
OrderArgs = tuple[str, str, str, object, object, str | None, str | None, object, dict[str, object] | None]


class Orders(Part):
    """Placing, cancelling and reading the account's orders."""

    def __init__(self, core: Core, markets: MarketData, account: AccountRef) -> None:
        super().__init__(core, account.shard)
        self.markets = markets
        self.acct = account.name
        own = Decimal(account.commission) if account.commission else None  # the account's rate: maker and taker
        self.fees = core.fees if own is None else FeeSchedule(maker=own, taker=own, asset=core.fees.asset)

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
        cost: object = None,
        trigger_price: object = None,
        stop_loss_price: object = None,
        take_profit_price: object = None,
    ) -> Order:
        """Place an order. Market orders and marketable limits fill at once (taker); other limits rest.

        A market order with ``cost`` instead of ``amount`` spends at most that much quote on its fill (the
        largest amount-step multiple that fits); the fee is not part of it (as Binance's ``quoteOrderQty``).
        ``trigger_price`` / ``stop_loss_price`` (a stop-loss) or ``take_profit_price`` (a take-profit) make it
        a stop order: it waits, its funds reserved, until the last price reaches the trigger."""
        triggers = _triggers(trigger_price, stop_loss_price, take_profit_price)
        record, trade = await self._submit(
            (symbol, side, type, amount, price, client_order_id, time_in_force, cost, triggers), dry_run=False
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
        cost: object = None,
        trigger_price: object = None,
        stop_loss_price: object = None,
        take_profit_price: object = None,
    ) -> CanExecute:
        """Dry run: would this order be accepted now, and if not, why. Nothing changes."""
        try:
            triggers = _triggers(trigger_price, stop_loss_price, take_profit_price)
            order = (symbol, side, type, amount, price, client_order_id, time_in_force, cost, triggers)
            await self._submit(order, dry_run=True)
            return CanExecute(ok=True)
        except ExchangeError as exc:
            return CanExecute(ok=False, reason=exc.message, code=exc.code)

    async def create_oco(
        self,
        symbol: str,
        side: str,
        amount: object,
        price: object,
        stop_price: object,
        stop_limit_price: object = None,
        *,
        dry_run: bool = False,
    ) -> OrderList:
        """Place a one-cancels-the-other list: a limit order at ``price`` that rests (a sell above the market, a
        buy below it) and a stop-loss triggering at ``stop_price`` (a stop-limit at ``stop_limit_price``, else
        a market stop), one amount. The list reserves once, the larger of the two fills' needs; when one leg
        fills or triggers, the other is canceled in the same transition; canceling a leg cancels the list."""
        for _ in range(_PRICE_RETRIES):
            limit = await self.plan_order(symbol, side, "limit", amount, price, None, "GTC")
            stop_type = "market" if stop_limit_price is None else "limit"
            stop = await self.plan_order(
                symbol, side, stop_type, amount, stop_limit_price, None, "GTC", triggers={"stopLossPrice": stop_price}
            )
            oco = plan_oco(limit, stop)
            code, a, b = await self.scripts.place_oco(
                oco.limit.symbol, oco.limit.side,
                (record_encoder.encode(oco.limit.record).decode(), record_encoder.encode(oco.stop.record).decode()),
                (oco.limit.debit, oco.stop.debit), (oco.limit.guard, oco.stop.guard), oco.stop.record.tdir,
                dry_run=dry_run,
            )  # fmt: skip
            if code is Code.INSUFFICIENT_FUNDS:
                need = plain(from_minor(max(oco.limit.debit, oco.stop.debit)))
                raise InsufficientFunds(
                    f"insufficient {oco.limit.debit_asset}: the order list needs {need} {oco.limit.debit_asset} "
                    "free to reserve (the larger of its two legs' needs)"
                )
            if code is Code.OK:
                orders = [Order.from_record(order_decoder.decode(r)) for r in (a, b) if r]
                return OrderList(id=orders[0].id if orders else "", symbol=oco.limit.symbol, orders=orders)
        raise ExchangeError("the price kept moving across the limit while placing the order list; try again")

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
            trigger=plan.record.tdir,
            batch=batch,
        )

    async def _submit(self, order: OrderArgs, *, dry_run: bool) -> tuple[str, Any]:
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
            return result.record, trade_decoder.decode(raw_trade) if raw_trade else None
        if code is Code.PRICE_MOVED:
            return None
        if code is Code.INSUFFICIENT_FUNDS:
            need = plain(from_minor(plan.debit))
            what = "to reserve" if plan.mode is PlaceMode.REST else "to pay"
            raise InsufficientFunds(
                f"insufficient {plan.debit_asset}: the order needs {need} {plan.debit_asset} free {what}"
                + (" (cost + fee)" if plan.debit_asset == plan.record.fcur else "")
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
        cost: object = None,
        triggers: dict[str, object] | None = None,
    ) -> OrderPlan:
        """Validate and price an order against the current ticker, without placing it."""
        req = parse_order(raw_symbol, side, type, amount_in, price_in, client_order_id, time_in_force, cost, triggers)
        symbol = await self.markets.symbol(raw_symbol)
        market_raw, (last, bid, ask) = await self._market_and_ticker(symbol)
        if market_raw is None:
            raise BadSymbol(f"{symbol} is not traded here: it has no market yet (publish a price for it first)")
        if last is None:
            raise InvalidOrder(f"{symbol} has no price yet: publish a tick before trading it")
        order_plan = plan(req, symbol, market_decoder.decode(market_raw), Quote(last, bid, ask), self.fees)
        order_plan.record.acct = self.acct
        return order_plan

    async def _market_and_ticker(
        self, symbol: str
    ) -> tuple[str | None, tuple[Decimal | None, Decimal | None, Decimal | None]]:
        market, (last, bid, ask) = await self.transport.pipeline(
            ("HGET", self.keys.markets, symbol), ("HMGET", self.keys.ticker(symbol), "last", "bid", "ask")
        )
        return market, (_dec(last), _dec(bid), _dec(ask))

    async def fetch_trading_fees(self) -> dict[str, TradingFee]:
        """The account's maker and taker rates on every market (ccxt's ``fetch_trading_fees``)."""
        symbols = sorted(await self.redis.hkeys(self.keys.markets))
        f = self.fees
        return {s: TradingFee(symbol=s, maker=f.maker, taker=f.taker, fee_side=f.fee_side) for s in symbols}

    async def cancel_order(self, order_id: str) -> Order:
        """Cancel an open order; a closed, canceled or unknown order raises :class:`OrderNotFound`."""
        record = await self._record(order_id)
        trigger = record.tdir or (("up" if record.side == "buy" else "down") if record.oco else "")  # OCO: its stop's
        result = await self.scripts.cancel_order(self.acct, record.id, record.sym, record.side, trigger)
        if result.code is Code.NOT_FOUND:
            raise OrderNotFound(f"order {order_id!r} does not exist")
        if result.code is Code.NOT_OPEN:
            status = order_decoder.decode(result.record).st
            raise OrderNotFound(f"order {order_id} is {status}, not open: only an open order can be canceled")
        return Order.from_record(order_decoder.decode(result.record))

    async def fetch_order(self, order_id: str) -> Order:
        """An order by id or by clientOrderId."""
        record = await self._record(order_id)
        raw = await self.redis.hget(self.keys.trades, record.tid) if record.tid else None
        return Order.from_record(record, trade_decoder.decode(raw) if raw else None)  # its trade may be trimmed

    async def _record(self, order_id: str) -> OrderRecord:
        key = order_key(order_id)  # exactly as given: "abc\n" is not order "abc"
        if key is None:
            raise OrderNotFound(f"order {order_id!r} does not exist")
        raw = await self.redis.hget(self.keys.orders, key) if key.isascii() and key.isdigit() else None
        record = order_decoder.decode(raw) if raw is not None else None
        if record is None or record.acct != self.acct:  # another account's order does not exist for this one
            real = await self.redis.hget(self.keys.cids, f"{self.acct}|{key}")
            raw = await self.redis.hget(self.keys.orders, real) if real else None
            record = order_decoder.decode(raw) if raw is not None else None
        if record is None or record.acct != self.acct:
            raise OrderNotFound(f"order {order_id!r} does not exist")
        return record


def _triggers(trigger_price: object, stop_loss_price: object, take_profit_price: object) -> dict[str, object]:
    """The trigger params given, by their ccxt names (what the planner's messages name)."""
    given = {"triggerPrice": trigger_price, "stopLossPrice": stop_loss_price, "takeProfitPrice": take_profit_price}
    return {name: value for name, value in given.items() if value is not None}


def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None
