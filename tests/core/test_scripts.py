"""One test per return code of every Lua script (each script's header lists its codes)."""

from decimal import Decimal

import pytest

from app.engine.audit import audit
from app.engine.errors import BadRequest, DuplicateOrderId, ErrorCode, InsufficientFunds, OrderNotFound
from app.engine.exchange import Exchange
from app.engine.money import MAX_MINOR, MAX_UNITS, to_minor
from app.store.protocol import Code
from app.store.records import OrderRecord, order_decoder, record_encoder

D = Decimal


async def snapshot(ex: Exchange) -> dict[str, object]:
    """Everything a refused call must leave untouched."""
    k = ex.keys
    return {
        "balances": await ex.redis.hgetall(k.balances),
        "orders": await ex.redis.hgetall(k.orders),
        "events": await ex.redis.xlen(k.events),
        "seq": await ex.redis.get(k.order_seq),
        "cids": await ex.redis.hgetall(k.cids),
    }


# deposit.lua ---------------------------------------------------------------------------------------


async def test_deposit_ok(exchange: Exchange) -> None:
    row = await exchange.deposit("USDT", "100.5")
    assert (row.free, row.used, row.total) == (D("100.5"), 0, D("100.5"))
    assert await audit(exchange.redis, exchange.keys) == []


async def test_deposit_balance_limit(exchange: Exchange) -> None:
    await exchange.deposit("USDT", MAX_UNITS)
    before = await snapshot(exchange)
    with pytest.raises(BadRequest, match="largest supported"):
        await exchange.deposit("USDT", "0.00000001")
    assert await snapshot(exchange) == before


# withdraw.lua --------------------------------------------------------------------------------------


async def test_withdraw_ok(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "10")
    row = await exchange.withdraw("USDT", "2.5")
    assert row.free == D("7.5")
    assert (await exchange.ledger())["USDT"] == {"deposited": D(10), "withdrawn": D("2.5")}


async def test_withdraw_insufficient_funds(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "10")
    before = await snapshot(exchange)
    with pytest.raises(InsufficientFunds, match=r"only 10 USDT is free"):
        await exchange.withdraw("USDT", "10.00000001")
    assert await snapshot(exchange) == before


# set_balance.lua -----------------------------------------------------------------------------------


async def test_set_balance_ok_books_the_difference(exchange: Exchange) -> None:
    await exchange.deposit("BTC", "1")
    assert (await exchange.set_balance("BTC", "0.25")).free == D("0.25")
    assert (await exchange.set_balance("BTC", "3")).free == D("3")
    assert (await exchange.ledger())["BTC"] == {"deposited": D("3.75"), "withdrawn": D("0.75")}
    assert await audit(exchange.redis, exchange.keys) == []


async def test_set_balance_to_same_value_writes_no_event(exchange: Exchange) -> None:
    await exchange.set_balance("BTC", "1")
    events = await exchange.redis.xlen(exchange.keys.events)
    await exchange.set_balance("BTC", "1")
    assert await exchange.redis.xlen(exchange.keys.events) == events


async def test_set_balance_limit(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    await exchange.create_order("BTC/USDT", "buy", "limit", "1", "50")  # reserves 50.0375 USDT
    before = await snapshot(exchange)
    with pytest.raises(BadRequest, match="exceeds the largest supported balance"):
        await exchange.set_balance("USDT", MAX_UNITS)
    assert await snapshot(exchange) == before


# place_order.lua -----------------------------------------------------------------------------------


async def test_place_ok_rest_reserves_price_times_amount_plus_fee(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    order = await exchange.create_order("BTC/USDT", "buy", "limit", "2", "40")
    assert order.status == "open"
    row = await exchange.fetch_balance_row("USDT")
    assert row.used == D("80.06")  # 80 + 0.075 % fee
    assert row.free == D("919.94")


async def test_place_insufficient_funds(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "80.05")
    await exchange.push_price("BTC/USDT", "100")
    before = await snapshot(exchange)
    with pytest.raises(InsufficientFunds, match=r"needs 80.06 USDT"):
        await exchange.create_order("BTC/USDT", "buy", "limit", "2", "40")
    assert await snapshot(exchange) == before


async def test_place_duplicate_client_order_id(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    first = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "40", client_order_id="bot-1")
    before = await snapshot(exchange)
    with pytest.raises(DuplicateOrderId, match="bot-1"):
        await exchange.create_order("BTC/USDT", "buy", "limit", "1", "41", client_order_id="bot-1")
    assert await snapshot(exchange) == before
    assert (await exchange.fetch_order("bot-1")).id == first.id


async def test_place_price_moved_when_the_book_now_crosses(exchange: Exchange) -> None:
    """Python decided to rest a buy at 40 (ask was 100); the ask fell to 39 before the script ran."""
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "39")
    record = OrderRecord(
        sym="BTC/USDT", base="BTC", quote="USDT", side="buy", type="limit", tif="GTC",
        amt=str(to_minor(D(1))), rate="0.00075", fcur="USDT", px="40", ra="USDT", ca="BTC",
        cr=str(to_minor(D(1))), mc=str(to_minor(D(40))), mf="3000000",
    )  # fmt: skip
    before = await snapshot(exchange)
    result = await exchange.scripts.place_order(
        symbol="BTC/USDT", side="buy", mode="rest", record=record_encoder.encode(record).decode(),
        debit_asset="USDT", debit=4003000000, guard="ask>", max_minor=MAX_MINOR,
    )  # fmt: skip
    assert result.code is Code.PRICE_MOVED
    assert await snapshot(exchange) == before


async def test_place_trigger_price_moved_when_the_last_price_reached_the_trigger(exchange: Exchange) -> None:
    """Python planned a sell stop-loss at 90 (last was 100); the price fell to 89 before the script ran."""
    await exchange.deposit("BTC", "1")
    await exchange.push_price("BTC/USDT", "100")
    plan = await exchange.plan_order("BTC/USDT", "sell", "market", "1", None, None, None, None, {"stopLossPrice": "90"})
    await exchange.push_price("BTC/USDT", "89")
    before = await snapshot(exchange)
    assert (await exchange.place_plan(plan)).code is Code.PRICE_MOVED  # type: ignore[union-attr]
    assert await snapshot(exchange) == before


# place_oco.lua -------------------------------------------------------------------------------------


async def _oco_call(ex: Exchange, amount: str = "1", *, dry_run: bool = False) -> tuple[Code, str, str]:
    limit = await ex.plan_order("BTC/USDT", "sell", "limit", amount, "110", None, "GTC")
    stop = await ex.plan_order("BTC/USDT", "sell", "market", amount, None, None, "GTC", None, {"stopLossPrice": "90"})
    return await ex.scripts.place_oco(
        "BTC/USDT", "sell", (record_encoder.encode(limit.record).decode(), record_encoder.encode(stop.record).decode()),
        (limit.debit, stop.debit), (limit.guard, stop.guard), stop.record.tdir, dry_run=dry_run,
    )  # fmt: skip


async def test_place_oco_ok_stores_both_legs_and_reserves_once(exchange: Exchange) -> None:
    await exchange.deposit("BTC", "1")
    await exchange.push_price("BTC/USDT", "100")
    code, limit, stop = await _oco_call(exchange)
    assert code is Code.OK
    assert (await exchange.fetch_balance_row("BTC")).used == 1
    assert await audit(exchange.redis, exchange.keys) == []
    assert (order_decoder.decode(limit).shr, order_decoder.decode(stop).shr) == ("", "1")  # the limit holds it


async def test_place_oco_insufficient_funds_and_dry_run_change_nothing(exchange: Exchange) -> None:
    await exchange.deposit("BTC", "1")
    await exchange.push_price("BTC/USDT", "100")
    before = await snapshot(exchange)
    assert (await _oco_call(exchange, "2"))[0] is Code.INSUFFICIENT_FUNDS
    assert (await _oco_call(exchange, dry_run=True))[0] is Code.OK
    assert await snapshot(exchange) == before


@pytest.mark.parametrize("moved", ["111", "89"])  # the bid reached the limit; the last price, the trigger
async def test_place_oco_price_moved(exchange: Exchange, moved: str) -> None:
    await exchange.deposit("BTC", "1")
    await exchange.push_price("BTC/USDT", "100")
    limit = await exchange.plan_order("BTC/USDT", "sell", "limit", "1", "110", None, "GTC")
    stop = await exchange.plan_order("BTC/USDT", "sell", "market", "1", None, None, "GTC", None,
                                     {"stopLossPrice": "90"})  # fmt: skip
    await exchange.push_price("BTC/USDT", moved)
    before = await snapshot(exchange)
    code, _, _ = await exchange.scripts.place_oco(
        "BTC/USDT", "sell", (record_encoder.encode(limit.record).decode(), record_encoder.encode(stop.record).decode()),
        (limit.debit, stop.debit), (limit.guard, stop.guard), stop.record.tdir,
    )  # fmt: skip
    assert code is Code.PRICE_MOVED
    assert await snapshot(exchange) == before


async def test_place_balance_limit_on_the_credit_side(exchange: Exchange) -> None:
    await exchange.deposit("BTC", MAX_UNITS)
    await exchange.deposit("USDT", "100")
    await exchange.push_price("BTC/USDT", "1")
    before = await snapshot(exchange)
    with pytest.raises(BadRequest, match="BTC balance above the largest supported value"):
        await exchange.create_order("BTC/USDT", "buy", "market", "1")
    assert await snapshot(exchange) == before


async def test_place_dry_run_changes_nothing(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    before = await snapshot(exchange)
    assert (await exchange.can_execute("BTC/USDT", "buy", "market", "1")).ok
    verdict = await exchange.can_execute("BTC/USDT", "buy", "market", "100")
    assert not verdict.ok
    assert verdict.code is ErrorCode.INSUFFICIENT_FUNDS
    assert await snapshot(exchange) == before


# cancel_order.lua ----------------------------------------------------------------------------------


async def test_cancel_ok_releases_exactly_the_reservation(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    order = await exchange.create_order("BTC/USDT", "buy", "limit", "0.33333333", "33.33")
    canceled = await exchange.cancel_order(order.id)
    assert canceled.status == "canceled"
    row = await exchange.fetch_balance_row("USDT")
    assert (row.free, row.used) == (D(1000), 0)
    assert await audit(exchange.redis, exchange.keys) == []


async def test_cancel_not_found(exchange: Exchange) -> None:
    with pytest.raises(OrderNotFound, match="does not exist"):
        await exchange.cancel_order("424242")


async def test_cancel_not_open(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    filled = await exchange.create_order("BTC/USDT", "buy", "market", "1")
    before = await snapshot(exchange)
    with pytest.raises(OrderNotFound, match="is closed, not open"):
        await exchange.cancel_order(filled.id)
    resting = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "10")
    await exchange.cancel_order(resting.id)
    with pytest.raises(OrderNotFound, match="is canceled, not open"):
        await exchange.cancel_order(resting.id)
    assert (await snapshot(exchange))["balances"] == before["balances"]


# settle_tick.lua -----------------------------------------------------------------------------------


async def test_settle_ok_reports_fills_and_done(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    await exchange.create_order("BTC/USDT", "buy", "limit", "1", "90")
    result = await exchange.push_price("BTC/USDT", "89")
    assert (result.filled, result.newest, result.calls) == (1, True, 1)


# reset.lua -----------------------------------------------------------------------------------------


async def test_reset_ok_wipes_the_account_and_keeps_prices(exchange: Exchange) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    await exchange.create_order("BTC/USDT", "buy", "limit", "1", "90", client_order_id="x")
    await exchange.create_order("BTC/USDT", "buy", "market", "1")
    await exchange.reset()
    assert (await exchange.fetch_balance()).rows == {}
    assert await exchange.fetch_orders() == []
    assert await exchange.fetch_my_trades() == []
    assert await exchange.redis.zcard(exchange.keys.book("BTC/USDT", "buy")) == 0
    entries = await exchange.redis.xrange(exchange.keys.events)
    assert (entries[-1][1]["type"], entries[-1][1]["data"]) == ("exchange.reset", '{"acct":"default"}')
    assert (await exchange.fetch_ticker("BTC/USDT")).last == 100
    # ids are never issued twice, reset or not (bots cache them); clientOrderIds are free again
    await exchange.deposit("USDT", "1000")
    again = await exchange.create_order("BTC/USDT", "buy", "market", "1", client_order_id="x")
    assert (again.id, again.trades[0].id) == ("3", "2")
