"""Overview: the portfolio valued in ``CASH_ASSET``, trade statistics and capital (equity, flows, profit).

The figures come from :mod:`app.engine.portfolio`; this module only translates them into the native
dialect's camelCase structs of :mod:`app.api.native.schemas`.
"""

from __future__ import annotations

from litestar import get

from app.api.common.deps import ExchangeDep
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.api.native.schemas import (
    AssetsOverview,
    AssetValue,
    CapitalOverview,
    LedgerRow,
    QuoteTotals,
    SideStats,
    SymbolStats,
    TradesOverview,
)
from app.engine import portfolio


def assets_overview(v: portfolio.Valuation) -> AssetsOverview:
    return AssetsOverview(
        cashAsset=v.cash_asset,
        assets=[AssetValue(a.asset, a.free, a.used, a.total, a.price, a.value) for a in v.assets],
        totalValue=v.total_value,
        unpriced=v.unpriced,
    )


def _side(s: portfolio.SideStats) -> SideStats:
    return SideStats(count=s.count, maker=s.maker, taker=s.taker, base=s.base, quote=s.quote, fee=s.fee)


def trades_overview(t: portfolio.TradeStats) -> TradesOverview:
    return TradesOverview(
        trades=t.trades,
        buys=t.buys,
        sells=t.sells,
        makers=t.makers,
        takers=t.takers,
        byQuote=[QuoteTotals(q.quote, q.volume, q.fees) for q in t.by_quote],
        bySymbol=[
            SymbolStats(symbol=s.symbol, base=s.base, quote=s.quote, buy=_side(s.buy), sell=_side(s.sell))
            for s in t.by_symbol
        ],
    )


def capital_overview(c: portfolio.Capital) -> CapitalOverview:
    return CapitalOverview(
        cashAsset=c.cash_asset,
        equity=c.equity,
        deposits=c.deposits,
        withdrawals=c.withdrawals,
        netDeposits=c.net_deposits,
        profit=c.profit,
        profitPct=c.profit_pct,
        fees=c.fees,
        ledger=[LedgerRow(r.asset, r.deposited, r.withdrawn, r.price) for r in c.ledger],
        unpriced=c.unpriced,
    )


class OverviewController(NativeController):
    path = "/overview"
    tags = ("Overview",)

    @get("/assets", responses=responses())
    async def assets(self, exchange: ExchangeDep) -> AssetsOverview:
        """Per asset: free, used, total, price and value in CASH_ASSET; and the total value."""
        return assets_overview(await portfolio.valuation(exchange))

    @get("/trades", responses=responses())
    async def trades(self, exchange: ExchangeDep) -> TradesOverview:
        """Trade statistics: counts (maker/taker), filled volume in base and quote, fees; per symbol and side."""
        return trades_overview(await portfolio.trade_statistics(exchange))

    @get("/capital", responses=responses())
    async def capital(self, exchange: ExchangeDep) -> CapitalOverview:
        """Equity in CASH_ASSET, deposits and withdrawals (valued at current prices), profit/loss and fees."""
        return capital_overview(await portfolio.capital(exchange))
