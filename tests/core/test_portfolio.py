"""Portfolio valuation, trade statistics and capital straight from the engine (no HTTP), as a back-test uses them."""

from __future__ import annotations

from decimal import Decimal

from app.engine import portfolio
from app.engine.exchange import Exchange
from app.engine.models import Balance, BalanceRow

D = Decimal


async def test_valuation_in_cash_asset_leaves_unpriced_assets_out(exchange: Exchange) -> None:
    await exchange.deposit("USDT", 1000)
    await exchange.deposit("BTC", "0.5")
    await exchange.deposit("XYZ", 3)
    await exchange.push_price("BTC/USDT", "50000.1")
    v = await portfolio.valuation(exchange)
    assert v.cash_asset == "USDT"
    rows = {a.asset: a for a in v.assets}
    assert rows["BTC"] == portfolio.AssetValue(
        asset="BTC", free=D("0.5"), used=D(0), total=D("0.5"), price=D("50000.1"), value=D("25000.05")
    )
    assert rows["USDT"].price == 1
    assert rows["USDT"].value == 1000
    assert (rows["XYZ"].price, rows["XYZ"].value) == (None, None)
    assert v.total_value == D("26000.05")
    assert v.unpriced == ["XYZ"]


async def test_trades_and_capital_of_a_short_session(exchange: Exchange) -> None:
    await exchange.deposit("USDT", 10000)
    await exchange.push_price("BTC/USDT", 100)
    await exchange.create_order("BTC/USDT", "buy", "market", 2)
    await exchange.create_order("BTC/USDT", "sell", "market", 1)
    await exchange.create_order("BTC/USDT", "buy", "limit", 1, 90)
    await exchange.push_price("BTC/USDT", 80)  # the limit fills as maker at 90

    t = await portfolio.trade_statistics(exchange)
    assert (t.trades, t.buys, t.sells, t.makers, t.takers) == (3, 2, 1, 1, 2)
    (sym,) = t.by_symbol
    assert (sym.symbol, sym.base, sym.quote) == ("BTC/USDT", "BTC", "USDT")
    assert (sym.buy.count, sym.buy.maker, sym.buy.taker, sym.buy.base, sym.buy.quote) == (2, 1, 1, D(3), D(290))
    assert sym.sell == portfolio.SideStats(count=1, maker=0, taker=1, base=D(1), quote=D(100), fee=D("0.075"))
    assert t.by_quote == [portfolio.QuoteTotals(quote="USDT", volume=D(390), fees=D("0.2925"))]

    c = await portfolio.capital(exchange)
    # 10000 - 200.15 (buy 2) + 99.925 (sell 1) - 90.0675 (maker buy 1 at 90) = 9809.7075 USDT + 2 BTC @ 80
    assert c.equity == D("9809.7075") + 160
    assert (c.deposits, c.withdrawals, c.net_deposits) == (D(10000), D(0), D(10000))
    assert c.profit == D("-30.2925")
    assert c.profit_pct == D("-0.3029")
    assert c.fees == D("0.2925")
    assert c.ledger == [portfolio.LedgerEntry(asset="USDT", deposited=D(10000), withdrawn=D(0), price=D(1))]
    assert c.unpriced == []
    assert c.equity == (await portfolio.valuation(exchange)).total_value  # one valuation, two views


async def test_capital_values_flows_at_current_prices_and_lists_unpriced(exchange: Exchange) -> None:
    await exchange.deposit("USDT", 500)
    await exchange.deposit("ETH", 2)
    await exchange.deposit("XYZ", 7)
    await exchange.withdraw("USDT", 100)
    await exchange.push_price("ETH/USDT", 2000)
    c = await portfolio.capital(exchange)
    assert c.deposits == 500 + 4000  # ETH valued at today's price; XYZ has none
    assert c.withdrawals == 100
    assert c.net_deposits == 4400
    assert c.equity == 400 + 4000
    assert c.profit == 0
    assert c.profit_pct == 0
    assert c.unpriced == ["XYZ"]
    assert [(r.asset, r.price) for r in c.ledger] == [("ETH", 2000), ("USDT", 1), ("XYZ", None)]


async def test_an_empty_account(exchange: Exchange) -> None:
    assert await portfolio.valuation(exchange) == portfolio.Valuation(
        cash_asset="USDT", assets=[], total_value=D(0), unpriced=[]
    )
    t = await portfolio.trade_statistics(exchange)
    assert (t.trades, t.by_quote, t.by_symbol) == (0, [], [])
    c = await portfolio.capital(exchange)
    assert (c.equity, c.net_deposits, c.profit, c.profit_pct, c.fees) == (D(0), D(0), D(0), None, D(0))


def test_the_pure_functions_need_no_exchange() -> None:
    """What a back-test holds in memory (a balance, prices, raw statistics) is enough to value it."""
    balance = Balance(
        timestamp=0,
        rows={
            "USDT": BalanceRow(free=D("10.5"), used=D(0), total=D("10.5")),
            "BTC": BalanceRow(free=D("0.1"), used=D("0.2"), total=D("0.3")),
            "DUST": BalanceRow(free=D(0), used=D(0), total=D(0)),
        },
    )
    prices = {"USDT": D(1), "BTC": D("30000.01")}
    v = portfolio.value_assets("USDT", balance, prices)
    assert [a.asset for a in v.assets] == ["USDT", "BTC"]  # a zero total is not listed
    assert v.total_value == D("9010.503")
    stats = {
        "ETH/BTC": {"sell": {"count": D(2), "maker": D(2), "base": D(1), "quote": D("0.05"), "fee": D("0.00005")}},
        "BTC/USDT": {"buy": {"count": D(1), "base": D("0.3"), "quote": D("9000"), "fee": D("9")}},
    }
    t = portfolio.summarize_trades(stats)
    assert [s.symbol for s in t.by_symbol] == ["BTC/USDT", "ETH/BTC"]
    assert t.by_symbol[0].sell == portfolio.SideStats(count=0, maker=0, taker=0, base=D(0), quote=D(0), fee=D(0))
    assert [(q.quote, q.volume, q.fees) for q in t.by_quote] == [("BTC", D("0.05"), D("0.00005")), ("USDT", 9000, 9)]
    assert (t.makers, t.takers) == (2, 1)
    ledger = {"USDT": {"deposited": D(9000), "withdrawn": D(0)}}
    c = portfolio.compute_capital("USDT", balance, ledger, stats, prices)
    assert c.profit == D("10.503")
    assert c.profit_pct == D("0.1167")  # 10.503 / 9000, four decimals
    assert c.fees == 9  # only the fees paid in the cash asset
    assert portfolio.compute_capital("USDT", balance, {}, stats, prices).profit_pct is None  # nothing came in


async def test_prices_come_from_the_last_price_of_cash_quoted_markets_only(exchange: Exchange) -> None:
    await exchange.push_price("BTC/USDT", 3)
    await exchange.push_price("ETH/BTC", "0.05")
    assert await portfolio.cash_prices(exchange) == {"USDT": 1, "BTC": 3}
    assert portfolio.prices_in("BTC", await exchange.fetch_tickers()) == {"BTC": 1, "ETH": D("0.05")}
