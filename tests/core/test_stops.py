"""Stop-loss and take-profit orders: trigger directions, refusal of an immediate trigger, reservations, the
same-tick fill, time in force on trigger, the trigger index's cost, and the worker's batched path."""

import asyncio
import json
from decimal import Decimal

import pytest

from app.engine.audit import audit
from app.engine.errors import BadRequest, ErrorCode, InvalidOrder, OrderImmediatelyFillable
from app.engine.exchange import Exchange
from app.engine.models import Order
from app.engine.ticks import parse_tick
from app.workers.settlement import Worker, WorkerOptions

D = Decimal


@pytest.fixture
async def funded(exchange: Exchange) -> Exchange:
    await exchange.deposit("USDT", "100000")
    await exchange.deposit("BTC", "10")
    await exchange.push_price("BTC/USDT", "100")
    return exchange


def consistent(o: Order) -> None:
    assert o.filled + o.remaining == o.amount
    assert o.cost == sum((t.cost for t in o.trades), D(0))
    if o.filled:
        assert o.average == o.cost / o.filled


# (side, kind, trigger, a price that does not trigger it, a price that does): Binance spot's directions
DIRECTIONS = [
    ("sell", "stop_loss_price", "90", "91", "90"),  # a sell stop-loss: the price falls to or below it
    ("sell", "take_profit_price", "110", "109", "110"),  # a sell take-profit: rises to or above it
    ("buy", "stop_loss_price", "110", "109", "111"),  # a buy stop-loss: rises to or above it
    ("buy", "take_profit_price", "90", "91", "89"),  # a buy take-profit: falls to or below it
]


@pytest.mark.parametrize(("side", "kind", "trigger", "miss", "hit"), DIRECTIONS)
async def test_trigger_directions_are_binance_spots(
    funded: Exchange, side: str, kind: str, trigger: str, miss: str, hit: str
) -> None:
    order = await funded.create_order("BTC/USDT", side, "market", "1", **{kind: trigger})
    assert (order.status, order.trigger_price, order.triggered_at) == ("open", D(trigger), None)
    assert (await funded.push_price("BTC/USDT", miss)).filled == 0
    assert (await funded.fetch_order(order.id)).triggered_at is None
    assert (await funded.push_price("BTC/USDT", hit)).filled == 1  # the call that applied the tick filled it
    done = await funded.fetch_order(order.id)
    assert (done.status, done.average, done.trades[0].role) == ("closed", D(trigger), "taker")
    assert done.triggered_at is not None
    consistent(done)
    assert await audit(funded.redis, funded.keys) == []


@pytest.mark.parametrize(("side", "kind", "trigger"), [("sell", "trigger_price", "100"), ("sell", "take_profit_price",
                         "99"), ("buy", "stop_loss_price", "100"), ("buy", "take_profit_price", "101")])  # fmt: skip
async def test_a_trigger_the_price_has_reached_is_refused_and_changes_nothing(
    funded: Exchange, side: str, kind: str, trigger: str
) -> None:
    before = await funded.fetch_balance()
    with pytest.raises(OrderImmediatelyFillable, match="Stop price would trigger immediately"):
        await funded.create_order("BTC/USDT", side, "limit", "1", "100", **{kind: trigger})
    assert (await funded.fetch_balance()).rows == before.rows
    assert await funded.fetch_orders() == []


async def test_funds_are_reserved_at_placement_and_released_on_cancel(funded: Exchange) -> None:
    buy = await funded.create_order("BTC/USDT", "buy", "limit", "2", "121", stop_loss_price="120")
    sell = await funded.create_order("BTC/USDT", "sell", "market", "3", stop_loss_price="80")
    rows = (await funded.fetch_balance()).rows
    assert (rows["USDT"].used, rows["BTC"].used) == (D("242") + D("0.1815"), D("3"))  # limit x amount + fee
    assert await audit(funded.redis, funded.keys) == []
    for o in (buy, sell):
        assert (await funded.cancel_order(o.id)).status == "canceled"
    rows = (await funded.fetch_balance()).rows
    assert (rows["USDT"].used, rows["BTC"].used, rows["USDT"].free) == (0, 0, D("100000"))
    assert (await funded.push_price("BTC/USDT", "70")).examined == 0  # gone from the trigger index
    assert await audit(funded.redis, funded.keys) == []


async def test_a_triggered_limit_fills_on_the_same_tick_when_marketable_else_rests(funded: Exchange) -> None:
    marketable = await funded.create_order("BTC/USDT", "sell", "limit", "1", "94", stop_loss_price="95")
    resting = await funded.create_order("BTC/USDT", "sell", "limit", "1", "95", stop_loss_price="96")
    assert (await funded.push_price("BTC/USDT", "94.5")).filled == 1  # both trigger; only 94 <= 94.5 crosses
    m, r = await funded.fetch_order(marketable.id), await funded.fetch_order(resting.id)
    assert (m.status, m.average, m.trades[0].role) == ("closed", D("94"), "maker")
    assert (r.status, r.filled, r.triggered_at is not None) == ("open", 0, True)
    assert (await funded.push_price("BTC/USDT", "96")).filled == 1  # now a plain resting limit
    assert (await funded.fetch_order(resting.id)).status == "closed"
    assert await audit(funded.redis, funded.keys) == []


async def test_time_in_force_decides_a_triggered_limit(funded: Exchange) -> None:
    ioc = await funded.create_order("BTC/USDT", "sell", "limit", "1", "95", stop_loss_price="96", time_in_force="IOC")
    po = await funded.create_order("BTC/USDT", "sell", "limit", "1", "90", stop_loss_price="96", time_in_force="PO")
    fok = await funded.create_order("BTC/USDT", "sell", "limit", "1", "93", stop_loss_price="96", time_in_force="FOK")
    await funded.push_price("BTC/USDT", "92")  # triggers all three; crosses the PO (would take), not IOC / FOK
    assert [(await funded.fetch_order(o.id)).status for o in (ioc, po, fok)] == ["expired", "expired", "expired"]
    assert (await funded.fetch_balance()).rows["BTC"].used == 0
    po_rests = await funded.create_order(
        "BTC/USDT", "sell", "limit", "1", "95", stop_loss_price="91", time_in_force="PO"
    )
    await funded.push_price("BTC/USDT", "91")
    assert (await funded.fetch_order(po_rests.id)).status == "open"  # post-only that does not cross rests
    assert await audit(funded.redis, funded.keys) == []


async def test_a_tick_that_triggers_and_crosses_nothing_examines_no_order(funded: Exchange) -> None:
    for i in range(50):
        await funded.create_order("BTC/USDT", "sell", "market", "0.01", stop_loss_price=str(50 - D(i) / 100))
        await funded.create_order("BTC/USDT", "buy", "market", "0.01", stop_loss_price=str(150 + i))
        await funded.create_order("BTC/USDT", "buy", "limit", "0.01", str(10 + D(i) / 100))
    for price in ("100", "101", "149.99", "99", "50.01"):
        assert (await funded.push_price("BTC/USDT", price)).examined == 0
    hit = await funded.push_price("BTC/USDT", "50")  # triggers exactly one sell stop
    assert (hit.examined, hit.filled) == (2, 1)  # the stop, then that stop again as the market order it became


async def test_trigger_events_come_before_the_fill(funded: Exchange) -> None:
    order = await funded.create_order("BTC/USDT", "sell", "market", "1", stop_loss_price="90")
    await funded.push_price("BTC/USDT", "89")
    entries = await funded.redis.xrange(funded.keys.events)
    types = [f["type"] for _, f in entries if json.loads(f["data"]).get("order", {}).get("id") == order.id]
    assert types == ["order.created", "order.triggered", "order.filled"]


async def test_a_worker_triggers_stops_in_its_batched_runs(funded: Exchange) -> None:
    stop = await funded.create_order("BTC/USDT", "sell", "limit", "1", "85", stop_loss_price="90")
    take = await funded.create_order("BTC/USDT", "buy", "market", "1", take_profit_price="80")
    for price in ("99", "95", "88", "84", "79", "101"):
        await funded.redis.xadd(funded.settings.price_stream, {"symbol": "BTC/USDT", "price": price})
    counters = await Worker(funded, WorkerOptions(name="w", burst=True, sweep=False, batch=8)).run()
    assert (counters.errors, counters.dead) == (0, 0)
    s, t = await funded.fetch_order(stop.id), await funded.fetch_order(take.id)
    assert (s.status, s.average, t.status, t.average) == ("closed", D("85"), "closed", D("80"))
    assert await audit(funded.redis, funded.keys) == []


async def test_bad_stop_orders_are_refused(funded: Exchange) -> None:
    with pytest.raises(BadRequest, match="give at most one of triggerPrice, stopLossPrice, takeProfitPrice"):
        await funded.create_order("BTC/USDT", "sell", "market", "1", stop_loss_price="90", take_profit_price="110")
    with pytest.raises(BadRequest, match="takes an amount, not cost"):
        await funded.create_order("BTC/USDT", "buy", "market", cost="100", stop_loss_price="110")
    with pytest.raises(BadRequest, match="price is required"):
        await funded.create_order("BTC/USDT", "sell", "limit", "1", stop_loss_price="90")
    with pytest.raises(BadRequest, match="triggerPrice must be positive"):
        await funded.create_order("BTC/USDT", "sell", "market", "1", trigger_price="-1")
    await funded.declare_markets([])
    assert await funded.fetch_orders() == []
    with pytest.raises(InvalidOrder):
        await funded.create_order("BTC/USDT", "sell", "market", "1", trigger_price="1e30")


async def test_a_stale_tick_triggers_nothing_and_never_fills_a_stop_triggered_after_it(funded: Exchange) -> None:
    """Two workers: the older tick (at 95) lands after a newer one (at 89) that triggered the stop."""
    await funded.push_price("BTC/USDT", "92")
    stop = await funded.create_order("BTC/USDT", "sell", "limit", "1", "89.5", stop_loss_price="90")
    other = await funded.create_order("BTC/USDT", "sell", "market", "1", take_profit_price="94")
    old = {"symbol": "BTC/USDT", "price": "95"}
    old_entry = await funded.redis.xadd(funded.settings.price_stream, old)
    await asyncio.sleep(0.002)
    new = {"symbol": "BTC/USDT", "price": "89"}
    new_entry = await funded.redis.xadd(funded.settings.price_stream, new)
    await funded.apply_tick(new_entry, parse_tick(new, new_entry))  # triggers the stop; 89.5 does not cross 89
    assert (await funded.fetch_order(stop.id)).triggered_at is not None
    late = await funded.apply_tick(old_entry, parse_tick(old, old_entry))  # 95 crosses 89.5, reaches 94: stale
    assert (late.filled, late.newest) == (0, False)
    assert [(await funded.fetch_order(o.id)).status for o in (stop, other)] == ["open", "open"]
    assert (await funded.fetch_order(other.id)).triggered_at is None
    assert await audit(funded.redis, funded.keys) == []


async def test_can_execute_dry_runs_a_stop_order(funded: Exchange) -> None:
    assert (await funded.can_execute("BTC/USDT", "sell", "market", "1", stop_loss_price="90")).ok
    verdict = await funded.can_execute("BTC/USDT", "sell", "market", "1", stop_loss_price="100")
    assert (verdict.ok, verdict.code) == (False, ErrorCode.ORDER_IMMEDIATELY_FILLABLE)
    assert not (await funded.can_execute("BTC/USDT", "sell", "market", "11", stop_loss_price="90")).ok
    assert await funded.fetch_orders() == []
