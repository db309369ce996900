"""Fees: MAKER_FEE / TAKER_FEE (default COMMISSION), an account's own rate, FEE_ASSET=quote|received, and the
trading-fees read."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from app.engine.audit import audit
from app.engine.errors import BadRequest, InsufficientFunds, InvalidOrder
from app.engine.exchange import Exchange
from app.settings import Settings

D = Decimal
Opener = Callable[..., AbstractAsyncContextManager[Exchange]]


@pytest.fixture
def open_exchange(settings: Settings) -> Opener:
    """``async with open_exchange(maker_fee=...) as ex``: an exchange with these settings, funded, priced."""

    @asynccontextmanager
    async def opened(**overrides: Any) -> AsyncIterator[Exchange]:
        ex = await Exchange.open(msgspec.structs.replace(settings, **overrides))
        try:
            await ex.deposit("USDT", "100000")
            await ex.deposit("BTC", "10")
            await ex.push_price("BTC/USDT", "50000", bid="50000", ask="50000")
            yield ex
        finally:
            await ex.close()

    return opened


async def test_taker_and_maker_fills_pay_their_own_rates(open_exchange: Opener) -> None:
    async with open_exchange(maker_fee=D("0.001"), taker_fee=D("0.002")) as ex:
        taker = await ex.create_order("BTC/USDT", "buy", "market", "0.1")
        t = taker.trades[0]
        assert (t.role, t.fee.rate, t.fee.cost, t.fee.currency) == ("taker", D("0.002"), D("10"), "USDT")
        maker = await ex.create_order("BTC/USDT", "buy", "limit", "0.1", "49000")
        assert (await ex.fetch_balance()).rows["USDT"].used == D("4900") + D("4.9")  # cost + maker fee reserved
        await ex.push_price("BTC/USDT", "48000")
        m = (await ex.fetch_order(maker.id)).trades[0]
        assert (m.role, m.fee.rate, m.fee.cost) == ("maker", D("0.001"), D("4.9"))
        assert (await ex.fetch_balance()).rows["USDT"].free == D("100000") - D("5010") - D("4904.9")
        assert await audit(ex.redis, ex.keys) == []


async def test_maker_and_taker_default_to_commission(open_exchange: Opener) -> None:
    async with open_exchange(commission=D("0.003")) as ex:
        assert (ex.fees.maker, ex.fees.taker) == (D("0.003"), D("0.003"))
        assert (await ex.create_order("BTC/USDT", "sell", "market", "0.1")).fee.cost == D("15")


async def test_an_accounts_own_commission_is_both_its_maker_and_taker_rate(open_exchange: Opener) -> None:
    async with open_exchange(maker_fee=D("0.001"), taker_fee=D("0.002")) as ex:
        await ex.accounts.create("vip", commission="0")
        vip = await ex.for_account("vip")
        await vip.deposit("USDT", "10000")
        assert (await vip.create_order("BTC/USDT", "buy", "market", "0.1")).fee.cost == 0
        fees = await vip.fetch_trading_fees()
        assert (fees["BTC/USDT"].maker, fees["BTC/USDT"].taker) == (0, 0)


async def test_fee_asset_received_charges_a_buy_in_base_and_a_sell_in_quote(open_exchange: Opener) -> None:
    async with open_exchange(commission=D("0.001"), fee_asset="received") as ex:
        buy = await ex.create_order("BTC/USDT", "buy", "market", "0.1")
        assert (buy.cost, buy.fee.cost, buy.fee.currency) == (D("5000"), D("0.0001"), "BTC")
        sell = await ex.create_order("BTC/USDT", "sell", "market", "0.1")
        assert (sell.cost, sell.fee.cost, sell.fee.currency) == (D("5000"), D("5"), "USDT")
        rows = (await ex.fetch_balance()).rows
        assert (rows["BTC"].free, rows["USDT"].free) == (D("10") + D("0.0999") - D("0.1"), D("100000") - D("5"))
        assert (await ex.trade_stats())["BTC/USDT"]["buy"]["basefee"] == D("0.0001")
        assert await audit(ex.redis, ex.keys) == []


async def test_fee_asset_received_maker_buy_reserves_the_cost_and_receives_amount_minus_fee(
    open_exchange: Opener,
) -> None:
    async with open_exchange(commission=D("0.001"), fee_asset="received") as ex:
        order = await ex.create_order("BTC/USDT", "buy", "limit", "1", "40000")
        assert (await ex.fetch_balance()).rows["USDT"].used == D("40000")  # no fee in quote to reserve
        await ex.push_price("BTC/USDT", "39000")
        done = await ex.fetch_order(order.id)
        assert (done.status, done.fee.cost, done.fee.currency, done.trades[0].role) == ("closed", D("0.001"), "BTC",
                                                                                        "maker")  # fmt: skip
        rows = (await ex.fetch_balance()).rows
        assert (rows["BTC"].free, rows["USDT"].total) == (D("10.999"), D("60000"))
        assert await audit(ex.redis, ex.keys) == []


async def test_trading_fees_and_markets_show_the_schedule(open_exchange: Opener) -> None:
    async with open_exchange(maker_fee=D("0.0002"), taker_fee=D("0.0007"), fee_asset="received") as ex:
        fees = await ex.fetch_trading_fees()
        assert list(fees) == ["BTC/USDT"]
        assert (fees["BTC/USDT"].maker, fees["BTC/USDT"].taker, fees["BTC/USDT"].fee_side) == (
            D("0.0002"), D("0.0007"), "get",
        )  # fmt: skip
        market = (await ex.fetch_markets())[0]
        assert (market.maker_fee, market.taker_fee, market.fee_side) == (D("0.0002"), D("0.0007"), "get")


def test_fee_settings_are_read_and_checked() -> None:
    s = Settings.from_env({"MAKER_FEE": "0.0001", "TAKER_FEE": "0.0004", "FEE_ASSET": "Received"})
    assert (s.maker_fee, s.taker_fee, s.fee_asset) == (D("0.0001"), D("0.0004"), "received")
    with pytest.raises(ValueError, match="FEE_ASSET='base' is invalid: must be quote or received"):
        Settings.from_env({"FEE_ASSET": "base"})
    with pytest.raises(ValueError, match="MAKER_FEE='1' is invalid"):
        Settings.from_env({"MAKER_FEE": "1"})


async def test_a_market_buy_by_cost_spends_exactly_that_quote_and_pays_the_fee_on_top(open_exchange: Opener) -> None:
    async with open_exchange(commission=D("0.001")) as ex:
        o = await ex.create_order("BTC/USDT", "buy", "market", cost="1000")
        assert (o.status, o.amount, o.cost, o.fee.cost, o.spend) == ("closed", D("0.02"), D("1000"), D("1"), D("1000"))
        assert (await ex.fetch_balance()).rows["USDT"].free == D("100000") - D("1001")
        await ex.push_price("BTC/USDT", "50010", bid="50010", ask="50010")
        odd = await ex.create_order("BTC/USDT", "buy", "market", cost="1000")  # 1000 / 50010 is no step multiple
        assert odd.amount == D("0.01999600")
        assert odd.cost <= 1000 < odd.cost + D("50010") * D("0.00000001")
        assert await audit(ex.redis, ex.keys) == []


async def test_a_market_sell_by_cost_sells_what_brings_at_most_that_quote(open_exchange: Opener) -> None:
    async with open_exchange(fee_asset="received") as ex:
        o = await ex.create_order("BTC/USDT", "sell", "market", cost="500")
        assert (o.amount, o.cost, o.fee.currency) == (D("0.01"), D("500"), "USDT")


async def test_cost_is_refused_where_it_makes_no_sense_and_changes_nothing(open_exchange: Opener) -> None:
    async with open_exchange() as ex:
        before = await ex.fetch_balance()
        with pytest.raises(BadRequest, match=r"cost \(the quote amount to spend\) is for market orders only"):
            await ex.create_order("BTC/USDT", "buy", "limit", price="40000", cost="100")
        with pytest.raises(BadRequest, match="give amount or cost, not both"):
            await ex.create_order("BTC/USDT", "buy", "market", "0.1", cost="100")
        with pytest.raises(BadRequest, match="cost must be positive"):
            await ex.create_order("BTC/USDT", "buy", "market", cost="0")
        with pytest.raises(InvalidOrder, match="buys less than the minimum amount"):
            await ex.create_order("BTC/USDT", "buy", "market", cost="0.0001")
        with pytest.raises(InsufficientFunds):
            await ex.create_order("BTC/USDT", "buy", "market", cost="100000")  # + the fee is more than is free
        assert (await ex.fetch_balance()).rows == before.rows
        assert await ex.fetch_orders() == []
