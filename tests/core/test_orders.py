"""Placing, filling, refusing and finding orders through the Exchange facade."""

from decimal import Decimal

import pytest

from app.engine.audit import audit
from app.engine.errors import BadRequest, BadSymbol, InvalidOrder, OrderImmediatelyFillable, OrderNotFound
from app.engine.exchange import Exchange
from app.engine.markets import MarketSpec, declared_market
from app.engine.models import Order

D = Decimal


def consistent(o: Order) -> None:
    """ccxt's derived fields, exactly."""
    assert o.filled + o.remaining == o.amount
    assert o.cost == sum((t.cost for t in o.trades), D(0)) or not o.trades
    if o.filled:
        assert o.average == o.cost / o.filled
    assert o.fee.cost == sum((t.fee.cost for t in o.trades), D(0)) or not o.trades


@pytest.fixture
async def funded(exchange: Exchange) -> Exchange:
    await exchange.deposit("USDT", "100000")
    await exchange.deposit("BTC", "10")
    await exchange.push_price("BTC/USDT", "50000", bid="49990", ask="50010")
    return exchange


async def test_market_buy_fills_at_the_ask_and_pays_cost_plus_fee(funded: Exchange) -> None:
    o = await funded.create_order("BTC/USDT", "buy", "market", "0.05")
    assert (o.status, o.price, o.average, o.filled, o.cost) == (
        "closed",
        50010,
        50010,
        D("0.05"),
        D("2500.5"),
    )
    assert (o.fee.cost, o.fee.currency) == (D("1.875375"), "USDT")
    assert o.trades[0].role == "taker"
    consistent(o)
    bal = await funded.fetch_balance()
    assert bal.rows["USDT"].free == D("100000") - D("2500.5") - D("1.875375")
    assert bal.rows["BTC"].free == D("10.05")


async def test_market_sell_fills_at_the_bid_and_receives_cost_minus_fee(funded: Exchange) -> None:
    o = await funded.create_order("BTC/USDT", "sell", "market", "0.1")
    assert (o.price, o.cost, o.fee.cost) == (49990, D("4999"), D("3.74925"))
    bal = await funded.fetch_balance()
    assert bal.rows["USDT"].free == D("100000") + D("4999") - D("3.74925")
    assert bal.rows["BTC"].free == D("9.9")


async def test_market_order_falls_back_to_the_last_price(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("ETH/USDT", "2000")
    assert (await exchange.create_order("ETH/USDT", "buy", "market", "0.1")).price == 2000


async def test_no_price_yet_is_a_clear_error_and_stores_nothing(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.declare_markets([declared_market(MarketSpec(symbol="SOL/USDT"))])
    with pytest.raises(InvalidOrder, match="SOL/USDT has no price yet"):
        await exchange.create_order("SOL/USDT", "buy", "market", "1")
    with pytest.raises(BadSymbol, match="DOGE/USDT is not traded here"):
        await exchange.create_order("DOGE/USDT", "buy", "market", "1")
    assert await exchange.fetch_orders() == []


async def test_marketable_limit_fills_at_once_as_taker_at_the_current_price(funded: Exchange) -> None:
    o = await funded.create_order("BTC/USDT", "buy", "limit", "0.01", "51000")
    assert (o.status, o.price, o.average) == ("closed", 51000, 50010)
    assert o.trades[0].role == "taker"
    consistent(o)


async def test_resting_limit_then_tick_fills_at_its_own_limit_as_maker(funded: Exchange) -> None:
    buy = await funded.create_order("BTC/USDT", "buy", "limit", "0.1", "49000")
    sell = await funded.create_order("BTC/USDT", "sell", "limit", "0.2", "51000")
    assert (buy.status, sell.status) == ("open", "open")
    assert (await funded.push_price("BTC/USDT", "48000")).filled == 1
    assert (await funded.push_price("BTC/USDT", "52000")).filled == 1
    buy, sell = await funded.fetch_order(buy.id), await funded.fetch_order(sell.id)
    assert (buy.status, buy.average, buy.trades[0].role) == ("closed", 49000, "maker")
    assert (sell.status, sell.average, sell.cost) == ("closed", 51000, D("10200"))
    consistent(buy)
    consistent(sell)
    assert await audit(funded.redis, funded.keys) == []


async def test_ioc_and_fok_that_cannot_fill_expire_without_moving_money(funded: Exchange) -> None:
    before = await funded.fetch_balance()
    for tif in ("IOC", "FOK"):
        o = await funded.create_order("BTC/USDT", "buy", "limit", "0.1", "40000", time_in_force=tif)
        assert (o.status, o.filled, o.time_in_force) == ("expired", 0, tif)
    assert (await funded.fetch_balance()).rows == before.rows
    filled = await funded.create_order("BTC/USDT", "buy", "limit", "0.1", "60000", time_in_force="IOC")
    assert filled.status == "closed"


async def test_post_only_that_would_take_is_refused(funded: Exchange) -> None:
    with pytest.raises(OrderImmediatelyFillable):
        await funded.create_order("BTC/USDT", "buy", "limit", "0.1", "50010", time_in_force="PO")
    resting = await funded.create_order("BTC/USDT", "buy", "limit", "0.1", "50000", time_in_force="PO")
    assert (resting.status, resting.post_only) == ("open", True)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"side": "hold"}, BadRequest, "side must be"),
        ({"type": "stop"}, BadRequest, "type must be"),
        ({"amount": "-1"}, BadRequest, "must be positive"),
        ({"amount": "0"}, BadRequest, "must be positive"),
        ({"amount": "abc"}, BadRequest, "must be a number"),
        ({"amount": "0.000000001"}, InvalidOrder, "not a multiple of the amount step"),
        ({"amount": "20000000000"}, InvalidOrder, "above the largest supported"),
        ({"type": "limit", "price": None}, BadRequest, "price is required"),
        ({"type": "market", "price": "50000"}, BadRequest, "a market order takes no price"),
        ({"type": "limit", "price": "0"}, BadRequest, "price must be positive"),
        ({"type": "limit", "price": "1.123456789"}, InvalidOrder, "not a multiple of the price tick"),
        ({"type": "limit", "price": "12345678.12345678"}, InvalidOrder, "significant digits"),
        ({"symbol": "BTCUSDT!"}, BadSymbol, "not a symbol"),
        ({"time_in_force": "GTX"}, BadRequest, "timeInForce"),
        ({"client_order_id": "x" * 37}, BadRequest, "clientOrderId"),
    ],
)
async def test_bad_orders_are_refused_and_store_nothing(
    funded: Exchange, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {"symbol": "BTC/USDT", "side": "buy", "type": "market", "amount": "0.01"}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        await funded.create_order(
            str(args.pop("symbol")), str(args.pop("side")), str(args.pop("type")), args.pop("amount"),
            args.pop("price", None), **args,  # type: ignore[arg-type]
        )  # fmt: skip
    assert await funded.fetch_orders() == []


async def test_declared_market_filters_are_enforced(exchange: Exchange) -> None:
    spec = MarketSpec(symbol="BTC/USDT", price_tick="0.01", amount_step="0.00001", min_notional="5")
    await exchange.declare_markets([declared_market(spec)])
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "50000")
    with pytest.raises(InvalidOrder, match=r"amount step 0\.00001"):
        await exchange.create_order("BTC/USDT", "buy", "market", "0.000011")
    with pytest.raises(InvalidOrder, match=r"price tick 0\.01"):
        await exchange.create_order("BTC/USDT", "buy", "limit", "0.001", "40000.001")
    with pytest.raises(InvalidOrder, match="below the minimum notional 5 USDT"):
        await exchange.create_order("BTC/USDT", "buy", "market", "0.00001")
    assert (await exchange.create_order("BTC/USDT", "buy", "market", "0.0001")).status == "closed"
    market = (await exchange.fetch_markets())[0]
    assert (market.price_tick, market.amount_step, market.min_cost) == (
        D("0.01"),
        D("0.00001"),
        5,
    )


async def test_symbols_are_accepted_in_every_common_form(funded: Exchange) -> None:
    for form in ("BTCUSDT", "btc-usdt", "BTC_USDT", "btc/usdt"):
        assert (await funded.create_order(form, "buy", "market", "0.001")).symbol == "BTC/USDT"
        assert (await funded.fetch_ticker(form)).symbol == "BTC/USDT"


async def test_fetch_orders_filters_statuses_aliases_and_limit(funded: Exchange) -> None:
    closed = await funded.create_order("BTC/USDT", "buy", "market", "0.01")
    open_ = await funded.create_order("BTC/USDT", "buy", "limit", "0.01", "40000")
    canceled = await funded.create_order("BTC/USDT", "sell", "limit", "0.01", "60000")
    await funded.cancel_order(canceled.id)
    ids = lambda orders: [o.id for o in orders]  # noqa: E731
    assert ids(await funded.fetch_orders()) == [closed.id, open_.id, canceled.id]
    assert ids(await funded.fetch_orders(status="filled")) == [closed.id]
    assert ids(await funded.fetch_orders(status="new")) == [open_.id]
    assert ids(await funded.fetch_orders(status="partially_filled")) == [open_.id]
    assert ids(await funded.fetch_orders(status="canceled")) == [canceled.id]
    assert ids(await funded.fetch_orders(side="sell")) == [canceled.id]
    assert ids(await funded.fetch_orders(limit=2)) == [open_.id, canceled.id]
    expected_since = [o.id for o in (closed, open_, canceled) if o.timestamp >= open_.timestamp]
    assert ids(await funded.fetch_orders(since=open_.timestamp)) == expected_since
    assert await funded.fetch_orders(since=canceled.timestamp + 10_000) == []
    with pytest.raises(BadRequest, match="unknown order status"):
        await funded.fetch_orders(status="done")
    trades = await funded.fetch_my_trades()
    assert [t.order_id for t in trades] == [closed.id]


async def test_fetch_order_by_id_and_client_id_and_unknown(funded: Exchange) -> None:
    o = await funded.create_order("BTC/USDT", "buy", "market", "0.01", client_order_id="mybot-7")
    assert (await funded.fetch_order(o.id)).client_order_id == "mybot-7"
    assert (await funded.fetch_order("mybot-7")).id == o.id
    with pytest.raises(OrderNotFound):
        await funded.fetch_order("nope")


async def test_every_transition_writes_its_events(funded: Exchange) -> None:
    start = (await funded.redis.xrevrange(funded.keys.events, count=1))[0][0]
    o = await funded.create_order("BTC/USDT", "buy", "limit", "0.01", "40000")
    await funded.cancel_order(o.id)
    await funded.create_order("BTC/USDT", "buy", "market", "0.01")
    await funded.create_order("BTC/USDT", "buy", "limit", "0.01", "1", time_in_force="IOC")
    entries = await funded.redis.xrange(funded.keys.events, f"({start}")
    assert [f["type"] for _, f in entries] == [
        "order.created", "balance.changed",
        "order.canceled", "balance.changed",
        "order.created", "order.filled", "balance.changed",
        "order.created", "order.expired",
    ]  # fmt: skip


async def test_an_order_worth_less_than_one_minor_unit_is_refused(exchange: Exchange) -> None:
    await exchange.deposit("ETH", "1")
    await exchange.push_price("ETH/BTC", "0.05")
    with pytest.raises(InvalidOrder, match="rounds to 0 BTC"):
        await exchange.create_order("ETH/BTC", "sell", "market", "0.00000001")
    with pytest.raises(InvalidOrder, match="rounds to 0 BTC"):
        await exchange.create_order("ETH/BTC", "buy", "limit", "0.00000002", "0.01")


async def test_balances_touched_only_by_fills_read_back_whole(exchange: Exchange) -> None:
    """A fill credits `free` of an asset never deposited: every balance call still sees free and used."""
    await exchange.deposit("BTC", "1")
    await exchange.push_price("BTC/USDT", "100")
    await exchange.create_order("BTC/USDT", "sell", "market", "0.5")
    row = await exchange.withdraw("USDT", "1")
    assert (row.used, row.free) == (0, D("48.9625"))
    assert (await exchange.deposit("USDT", "1")).used == 0
