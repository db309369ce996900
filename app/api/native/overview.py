"""Overview: the portfolio valued in ``CASH_ASSET``, trade statistics and capital (equity, flows, profit).

Values are exact products of a balance and the last price of ``<ASSET>/<CASH_ASSET>``; an asset with no
such market is listed under ``unpriced`` and left out of the totals rather than guessed.
"""

from __future__ import annotations

from decimal import Decimal

from litestar import Controller, get

from app.api.common.deps import ExchangeDep
from app.api.native.errors import responses
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
from app.engine.exchange import Exchange
from app.engine.markets import split_symbol
from app.engine.money import CTX, tidy

ZERO = Decimal(0)


async def _prices(exchange: Exchange, cash: str) -> dict[str, Decimal]:
    """The last price in ``cash`` of every asset quoted in it, and 1 for ``cash`` itself."""
    prices = {cash: Decimal(1)}
    for symbol, ticker in (await exchange.fetch_tickers()).items():
        base, quote = split_symbol(symbol)
        if quote == cash:
            prices[base] = ticker.last
    return prices


def _value(amount: Decimal, price: Decimal | None) -> Decimal | None:
    return None if price is None else tidy(CTX.multiply(amount, price))


def _sum(values: list[Decimal]) -> Decimal:
    total = ZERO
    for v in values:
        total = CTX.add(total, v)
    return tidy(total)


def _side(stats: dict[str, Decimal]) -> SideStats:
    count, maker = int(stats.get("count", 0)), int(stats.get("maker", 0))
    return SideStats(
        count=count,
        maker=maker,
        taker=count - maker,
        base=stats.get("base", ZERO),
        quote=stats.get("quote", ZERO),
        fee=stats.get("fee", ZERO),
    )


class OverviewController(Controller):
    path = "/overview"
    tags = ("Overview",)

    @get("/assets", responses=responses())
    async def assets(self, exchange: ExchangeDep) -> AssetsOverview:
        """Per asset: free, used, total, price and value in CASH_ASSET; and the total value."""
        cash = exchange.settings.cash_asset
        balance = await exchange.fetch_balance()
        prices = await _prices(exchange, cash)
        rows = [
            AssetValue(a, r.free, r.used, r.total, prices.get(a), _value(r.total, prices.get(a)))
            for a, r in balance.rows.items()
            if r.total != 0
        ]
        return AssetsOverview(
            cashAsset=cash,
            assets=rows,
            totalValue=_sum([r.value for r in rows if r.value is not None]),
            unpriced=[r.asset for r in rows if r.price is None],
        )

    @get("/trades", responses=responses())
    async def trades(self, exchange: ExchangeDep) -> TradesOverview:
        """Trade statistics: counts (maker/taker), filled volume in base and quote, fees; per symbol and side."""
        stats = await exchange.trade_stats()
        symbols: list[SymbolStats] = []
        by_quote: dict[str, tuple[list[Decimal], list[Decimal]]] = {}
        for symbol in sorted(stats):
            base, quote = split_symbol(symbol)
            buy, sell = _side(stats[symbol].get("buy", {})), _side(stats[symbol].get("sell", {}))
            symbols.append(SymbolStats(symbol=symbol, base=base, quote=quote, buy=buy, sell=sell))
            volume, fees = by_quote.setdefault(quote, ([], []))
            volume += [buy.quote, sell.quote]
            fees += [buy.fee, sell.fee]
        sides = [s for row in symbols for s in (row.buy, row.sell)]
        return TradesOverview(
            trades=sum(s.count for s in sides),
            buys=sum(row.buy.count for row in symbols),
            sells=sum(row.sell.count for row in symbols),
            makers=sum(s.maker for s in sides),
            takers=sum(s.taker for s in sides),
            byQuote=[QuoteTotals(q, _sum(v), _sum(f)) for q, (v, f) in sorted(by_quote.items())],
            bySymbol=symbols,
        )

    @get("/capital", responses=responses())
    async def capital(self, exchange: ExchangeDep) -> CapitalOverview:
        """Equity in CASH_ASSET, deposits and withdrawals (valued at current prices), profit/loss and fees."""
        cash = exchange.settings.cash_asset
        balance = await exchange.fetch_balance()
        ledger = await exchange.ledger()
        stats = await exchange.trade_stats()
        prices = await _prices(exchange, cash)
        held = [a for a, r in balance.rows.items() if r.total != 0]
        equity = _sum([v for a in held if (v := _value(balance.rows[a].total, prices.get(a))) is not None])
        rows = [LedgerRow(a, ledger[a]["deposited"], ledger[a]["withdrawn"], prices.get(a)) for a in sorted(ledger)]
        deposits = _sum([v for r in rows if (v := _value(r.deposited, r.price)) is not None])
        withdrawals = _sum([v for r in rows if (v := _value(r.withdrawn, r.price)) is not None])
        net = tidy(CTX.subtract(deposits, withdrawals))
        profit = tidy(CTX.subtract(equity, net))
        pct = (
            tidy(CTX.divide(CTX.multiply(profit, 100), net).quantize(Decimal("0.0001"), context=CTX))
            if net > 0
            else None
        )
        fees = _sum(
            [
                side["fee"]
                for symbol, per_side in stats.items()
                if split_symbol(symbol)[1] == cash
                for side in per_side.values()
                if "fee" in side
            ]
        )
        unpriced = sorted({a for a in [*held, *ledger] if a not in prices})
        return CapitalOverview(
            cashAsset=cash,
            equity=equity,
            deposits=deposits,
            withdrawals=withdrawals,
            netDeposits=net,
            profit=profit,
            profitPct=pct,
            fees=fees,
            ledger=rows,
            unpriced=unpriced,
        )
