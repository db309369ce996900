"""The account valued in ``CASH_ASSET``: per-asset value, trade statistics and capital (equity, flows, profit).

Values are exact products of a balance and the last price of ``<ASSET>/<CASH_ASSET>``; an asset with no
such market is listed under ``unpriced`` and left out of the totals rather than guessed.

Each figure has a pure function over what the exchange reports (:func:`value_assets`, :func:`summarize_trades`,
:func:`compute_capital`) and an async one that reads it from an :class:`Exchange` (:func:`valuation`,
:func:`trade_statistics`, :func:`capital`), so a back-test can value its portfolio without HTTP::

    async with Exchange.connect() as ex:
        print((await valuation(ex)).total_value)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import msgspec

from app.engine.exchange import Exchange
from app.engine.markets import split_symbol
from app.engine.models import Balance, Ticker
from app.engine.money import CTX, tidy

ZERO = Decimal(0)

#: ``Exchange.trade_stats()``: ``{symbol: {side: {count, maker, base, quote, fee}}}``.
RawTradeStats = Mapping[str, Mapping[str, Mapping[str, Decimal]]]
#: ``Exchange.ledger()``: ``{asset: {deposited, withdrawn}}``.
RawLedger = Mapping[str, Mapping[str, Decimal]]


class AssetValue(msgspec.Struct, frozen=True, kw_only=True):
    """One held asset: its balance, its price in the cash asset (None: no market) and its value."""

    asset: str
    free: Decimal
    used: Decimal
    total: Decimal
    price: Decimal | None
    value: Decimal | None


class Valuation(msgspec.Struct, frozen=True, kw_only=True):
    """Every asset with a non-zero total, valued in ``cash_asset``; ``total_value`` leaves out ``unpriced``."""

    cash_asset: str
    assets: list[AssetValue]
    total_value: Decimal
    unpriced: list[str]


class SideStats(msgspec.Struct, frozen=True, kw_only=True):
    """Fills on one side of one symbol: how many (maker + taker), filled base and quote, fees (in quote)."""

    count: int
    maker: int
    taker: int
    base: Decimal
    quote: Decimal
    fee: Decimal


class SymbolStats(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    base: str
    quote: str
    buy: SideStats
    sell: SideStats


class QuoteTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Filled volume and fees of every symbol quoted in ``quote``."""

    quote: str
    volume: Decimal
    fees: Decimal


class TradeStats(msgspec.Struct, frozen=True, kw_only=True):
    """Fill counts (maker/taker, buys/sells), per quote asset and per symbol (sorted by name)."""

    trades: int
    buys: int
    sells: int
    makers: int
    takers: int
    by_quote: list[QuoteTotals]
    by_symbol: list[SymbolStats]


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """Money of one asset that crossed the account boundary, and its price in the cash asset (None: no market)."""

    asset: str
    deposited: Decimal
    withdrawn: Decimal
    price: Decimal | None


class Capital(msgspec.Struct, frozen=True, kw_only=True):
    """Equity and the money that crossed the account boundary, valued in ``cash_asset`` at current prices.

    ``profit = equity - net_deposits``; ``profit_pct`` is its share of ``net_deposits`` (4 decimals), None
    unless more came in than went out. ``fees`` are the fees paid on symbols quoted in ``cash_asset``.
    """

    cash_asset: str
    equity: Decimal
    deposits: Decimal
    withdrawals: Decimal
    net_deposits: Decimal
    profit: Decimal
    profit_pct: Decimal | None
    fees: Decimal
    ledger: list[LedgerEntry]
    unpriced: list[str]


# pure ------------------------------------------------------------------------------------------------
def prices_in(cash: str, tickers: Mapping[str, Ticker]) -> dict[str, Decimal]:
    """The last price in ``cash`` of every asset quoted in it, and 1 for ``cash`` itself."""
    prices = {cash: Decimal(1)}
    for symbol, ticker in tickers.items():
        base, quote = split_symbol(symbol)
        if quote == cash:
            prices[base] = ticker.last
    return prices


def value_of(amount: Decimal, price: Decimal | None) -> Decimal | None:
    """``amount * price`` exactly, or None without a price."""
    return None if price is None else tidy(CTX.multiply(amount, price))


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    total = ZERO
    for v in values:
        total = CTX.add(total, v)
    return tidy(total)


def value_assets(cash: str, balance: Balance, prices: Mapping[str, Decimal]) -> Valuation:
    """Per asset with a non-zero total: the balance, its price and value in ``cash``; and the total value."""
    rows = [
        AssetValue(
            asset=a,
            free=r.free,
            used=r.used,
            total=r.total,
            price=prices.get(a),
            value=value_of(r.total, prices.get(a)),
        )
        for a, r in balance.rows.items()
        if r.total != 0
    ]
    return Valuation(
        cash_asset=cash,
        assets=rows,
        total_value=exact_sum(r.value for r in rows if r.value is not None),
        unpriced=[r.asset for r in rows if r.price is None],
    )


def side_stats(stats: Mapping[str, Decimal]) -> SideStats:
    """One side of ``Exchange.trade_stats()``; what was never counted is zero."""
    count, maker = int(stats.get("count", 0)), int(stats.get("maker", 0))
    return SideStats(
        count=count,
        maker=maker,
        taker=count - maker,
        base=stats.get("base", ZERO),
        quote=stats.get("quote", ZERO),
        fee=stats.get("fee", ZERO),
    )


def summarize_trades(stats: RawTradeStats) -> TradeStats:
    """Counts (maker/taker), filled volume in base and quote and fees; per symbol and side, and per quote."""
    symbols: list[SymbolStats] = []
    by_quote: dict[str, tuple[list[Decimal], list[Decimal]]] = {}
    for symbol in sorted(stats):
        base, quote = split_symbol(symbol)
        buy, sell = side_stats(stats[symbol].get("buy", {})), side_stats(stats[symbol].get("sell", {}))
        symbols.append(SymbolStats(symbol=symbol, base=base, quote=quote, buy=buy, sell=sell))
        volume, fees = by_quote.setdefault(quote, ([], []))
        volume += [buy.quote, sell.quote]
        fees += [buy.fee, sell.fee]
    sides = [s for row in symbols for s in (row.buy, row.sell)]
    return TradeStats(
        trades=sum(s.count for s in sides),
        buys=sum(row.buy.count for row in symbols),
        sells=sum(row.sell.count for row in symbols),
        makers=sum(s.maker for s in sides),
        takers=sum(s.taker for s in sides),
        by_quote=[
            QuoteTotals(quote=q, volume=exact_sum(v), fees=exact_sum(f)) for q, (v, f) in sorted(by_quote.items())
        ],
        by_symbol=symbols,
    )


def compute_capital(
    cash: str, balance: Balance, ledger: RawLedger, stats: RawTradeStats, prices: Mapping[str, Decimal]
) -> Capital:
    """Equity, deposits and withdrawals (valued at ``prices``), profit/loss and the fees paid in ``cash``."""
    held = [a for a, r in balance.rows.items() if r.total != 0]
    equity = exact_sum(v for a in held if (v := value_of(balance.rows[a].total, prices.get(a))) is not None)
    rows = [
        LedgerEntry(asset=a, deposited=ledger[a]["deposited"], withdrawn=ledger[a]["withdrawn"], price=prices.get(a))
        for a in sorted(ledger)
    ]
    deposits = exact_sum(v for r in rows if (v := value_of(r.deposited, r.price)) is not None)
    withdrawals = exact_sum(v for r in rows if (v := value_of(r.withdrawn, r.price)) is not None)
    net = tidy(CTX.subtract(deposits, withdrawals))
    profit = tidy(CTX.subtract(equity, net))
    pct = tidy(CTX.divide(CTX.multiply(profit, 100), net).quantize(Decimal("0.0001"), context=CTX)) if net > 0 else None
    fees = exact_sum(
        side["fee"]
        for symbol, per_side in stats.items()
        if split_symbol(symbol)[1] == cash
        for side in per_side.values()
        if "fee" in side
    )
    return Capital(
        cash_asset=cash,
        equity=equity,
        deposits=deposits,
        withdrawals=withdrawals,
        net_deposits=net,
        profit=profit,
        profit_pct=pct,
        fees=fees,
        ledger=rows,
        unpriced=sorted({a for a in [*held, *ledger] if a not in prices}),
    )


# from an exchange ------------------------------------------------------------------------------------
async def cash_prices(exchange: Exchange) -> dict[str, Decimal]:
    """The last price in the exchange's cash asset of every asset quoted in it (and 1 for the cash asset)."""
    return prices_in(exchange.settings.cash_asset, await exchange.fetch_tickers())


async def valuation(exchange: Exchange) -> Valuation:
    """The account's assets valued in ``CASH_ASSET`` at the last prices."""
    balance = await exchange.fetch_balance()
    return value_assets(exchange.settings.cash_asset, balance, await cash_prices(exchange))


async def trade_statistics(exchange: Exchange) -> TradeStats:
    """The account's fill statistics."""
    return summarize_trades(await exchange.trade_stats())


async def capital(exchange: Exchange) -> Capital:
    """The account's equity, deposits, withdrawals, profit and fees in ``CASH_ASSET`` at the last prices."""
    balance = await exchange.fetch_balance()
    ledger = await exchange.ledger()
    stats = await exchange.trade_stats()
    return compute_capital(exchange.settings.cash_asset, balance, ledger, stats, await cash_prices(exchange))
