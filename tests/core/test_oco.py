"""One-cancels-the-other lists: one reservation for the list, one leg's fill or trigger cancels the other in
the same transition, canceling a leg cancels the list, and a list that makes no sense is refused."""

from decimal import Decimal

import pytest

from app.engine.audit import audit
from app.engine.errors import InsufficientFunds, InvalidOrder, OrderImmediatelyFillable
from app.engine.exchange import Exchange

D = Decimal


@pytest.fixture
async def funded(exchange: Exchange) -> Exchange:
    await exchange.deposit("USDT", "1000")
    await exchange.deposit("BTC", "1")
    await exchange.push_price("BTC/USDT", "100")
    return exchange


async def test_a_sell_list_reserves_its_amount_once(funded: Exchange) -> None:
    oco = await funded.create_oco("BTC/USDT", "sell", "1", "110", "90")  # all of the 1 BTC, once
    limit, stop = oco.orders
    assert (limit.status, stop.status, limit.order_list_id, stop.order_list_id) == ("open", "open", oco.id, oco.id)
    assert (stop.stop_loss_price, stop.type, limit.price) == (D("90"), "market", D("110"))
    rows = (await funded.fetch_balance()).rows
    assert (rows["BTC"].used, rows["BTC"].free) == (D("1"), 0)
    assert await audit(funded.redis, funded.keys) == []


async def test_the_limit_filling_cancels_the_stop_in_the_same_step(funded: Exchange) -> None:
    limit, stop = (await funded.create_oco("BTC/USDT", "sell", "1", "110", "90", "89")).orders
    assert (await funded.push_price("BTC/USDT", "111")).filled == 1
    assert ((await funded.fetch_order(limit.id)).status, (await funded.fetch_order(stop.id)).status) == (
        "closed", "canceled",
    )  # fmt: skip
    assert (await funded.push_price("BTC/USDT", "80")).examined == 0  # the stop left its trigger index
    rows = (await funded.fetch_balance()).rows
    assert (rows["BTC"].total, rows["USDT"].used) == (0, 0)
    assert await audit(funded.redis, funded.keys) == []


async def test_the_stop_triggering_cancels_the_limit_and_keeps_only_its_own_reservation(funded: Exchange) -> None:
    limit, stop = (await funded.create_oco("BTC/USDT", "buy", "1", "90", "110", "120")).orders
    used = (await funded.fetch_balance()).rows["USDT"].used
    assert used == D("120") + D("0.09")  # the larger need: the stop-limit's 120 x 1 + fee
    await funded.push_price("BTC/USDT", "125")  # triggers the buy stop; its limit 120 does not cross 125
    assert ((await funded.fetch_order(limit.id)).status, (await funded.fetch_order(stop.id)).status) == (
        "canceled", "open",
    )  # fmt: skip
    assert await audit(funded.redis, funded.keys) == []
    await funded.push_price("BTC/USDT", "119")
    done = await funded.fetch_order(stop.id)
    assert (done.status, done.average) == ("closed", D("120"))
    rows = (await funded.fetch_balance()).rows
    assert (rows["USDT"].used, rows["USDT"].free, rows["BTC"].free) == (0, D("1000") - D("120.09"), D("2"))
    assert await audit(funded.redis, funded.keys) == []


async def test_the_non_holding_leg_filling_returns_the_rest_of_the_reservation(funded: Exchange) -> None:
    limit, _ = (await funded.create_oco("BTC/USDT", "buy", "1", "90", "110", "120")).orders
    await funded.push_price("BTC/USDT", "89")  # the limit leg (90 x 1 + fee) fills; the list held 120.09
    rows = (await funded.fetch_balance()).rows
    assert (rows["USDT"].used, rows["USDT"].free) == (0, D("1000") - D("90.0675"))
    assert (await funded.fetch_order(limit.id)).status == "closed"
    assert await audit(funded.redis, funded.keys) == []


@pytest.mark.parametrize("leg", [0, 1])
async def test_canceling_a_leg_cancels_the_list(funded: Exchange, leg: int) -> None:
    oco = await funded.create_oco("BTC/USDT", "buy", "1", "90", "110")
    await funded.cancel_order(oco.orders[leg].id)
    assert [(await funded.fetch_order(o.id)).status for o in oco.orders] == ["canceled", "canceled"]
    assert (await funded.fetch_balance()).rows["USDT"] == (await funded.fetch_balance()).rows["USDT"]
    assert (await funded.fetch_balance()).rows["USDT"].used == 0
    assert await audit(funded.redis, funded.keys) == []


async def test_a_list_that_makes_no_sense_is_refused_and_changes_nothing(funded: Exchange) -> None:
    before = await funded.fetch_balance()
    with pytest.raises(InvalidOrder, match="the limit leg of an OCO must rest"):
        await funded.create_oco("BTC/USDT", "sell", "1", "95", "90")  # a sell limit below the market
    with pytest.raises(OrderImmediatelyFillable, match="Stop price would trigger immediately"):
        await funded.create_oco("BTC/USDT", "sell", "1", "110", "105")
    with pytest.raises(InsufficientFunds):
        await funded.create_oco("BTC/USDT", "sell", "2", "110", "90")
    assert (await funded.fetch_balance()).rows == before.rows
    assert await funded.fetch_orders() == []
