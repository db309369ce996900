"""The Python face of MockX: one async ``Exchange`` that the API, the workers and back-tests all call.

Python validates and prices (exact Decimal); one Lua script per transition moves the money and changes
state atomically, and writes the events. Open one with::

    async with Exchange.connect() as ex:        # embedded Valkey unless REDIS_URL is set
        await ex.deposit("USDT", Decimal("1000"))
        await ex.push_price("BTC/USDT", Decimal("50000"))
        order = await ex.create_order("BTC/USDT", "buy", "market", Decimal("0.01"))

The facade is thin: each responsibility is a part of its own — :class:`MarketData` (markets, tickers),
:class:`Balances`, :class:`Orders` (planning by :mod:`app.engine.planner`), :class:`Settlement` (ticks)
— over one shared :class:`Core` (the store client, keys, scripts, settings). Every public method of the
parts is a method of the facade.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from app.engine import markets as mk
from app.engine.accounts import AccountRef, Accounts
from app.engine.balances import Balances
from app.engine.book import Book
from app.engine.candles import Candles
from app.engine.core import Core, Part
from app.engine.history import History
from app.engine.inputs import normalize_asset, normalize_status
from app.engine.market_data import MarketData
from app.engine.models import FeeSchedule
from app.engine.orders import Orders
from app.engine.planner import OrderPlan
from app.engine.retention import Retention
from app.engine.settlement import Settlement, SettleResult
from app.settings import Settings
from app.store.embedded import EmbeddedValkey
from app.store.transport import Transport

__all__ = ["Exchange", "OrderPlan", "SettleResult", "normalize_asset", "normalize_status"]

log = logging.getLogger(__name__)


class Exchange(Part):
    """One account on one exchange (the ``default`` account unless :meth:`as_account` says otherwise).

    Cheap to construct; share one per process. Markets, prices and settlement are the exchange's; balances
    and orders are the account's. As a :class:`Part` it shows the store client, settings, keys and scripts
    of the account's shard.
    """

    def __init__(
        self,
        transport: Transport,
        settings: Settings,
        *,
        embedded: EmbeddedValkey | None = None,
        account: AccountRef | None = None,
        shared: Exchange | None = None,
    ) -> None:
        self.account = account or AccountRef()
        self._embedded = embedded
        self._owner = shared is None
        self.core: Core
        self.markets: MarketData
        self.settlement: Settlement
        self.accounts: Accounts
        self.book: Book
        if shared is not None:  # a view of another account on the same exchange
            self.core, self.markets, self.settlement = shared.core, shared.markets, shared.settlement
            self.accounts, self.book = shared.accounts, shared.book
        else:
            self.core = Core(transport, settings)
            self.markets = MarketData(self.core)
            self.settlement = Settlement(self.core, self.markets)
            self.book = Book(self.core, self.markets)
            self.accounts = Accounts(self.core)
        core = self.core
        super().__init__(core, self.account.shard)
        self.balances = Balances(core, self.account)
        self.orders = Orders(core, self.markets, self.account)
        self.history = History(core, self.markets, self.account)
        # markets and tickers
        self.declare_markets = self.markets.declare_markets
        self.market_records = self.markets.market_records
        self.fetch_markets = self.markets.fetch_markets
        self.symbol = self.markets.symbol
        self.fetch_ticker = self.markets.fetch_ticker
        self.fetch_tickers = self.markets.fetch_tickers
        # order book and public trades
        self.order_book = self.book.order_book
        self.public_trades = self.book.public_trades
        self.book_diffs = self.book.book_diffs
        # balances
        self.deposit = self.fund = self.balances.deposit
        self.withdraw = self.balances.withdraw
        self.set_balance = self.balances.set_balance
        self.fetch_balance = self.balances.fetch_balance
        self.fetch_balance_row = self.balances.fetch_balance_row
        self.ledger = self.balances.ledger
        self.trade_stats = self.balances.trade_stats
        # orders
        self.create_order = self.orders.create_order
        self.can_execute = self.orders.can_execute
        self.plan_order = self.orders.plan_order
        self.place_plan = self.orders.place_plan
        self.place_copies = self.orders.place_copies
        self.cancel_order = self.orders.cancel_order
        self.fetch_order = self.orders.fetch_order
        self.fetch_trading_fees = self.orders.fetch_trading_fees
        self.create_oco = self.orders.create_oco
        self.fetch_orders = self.history.fetch_orders
        self.fetch_orders_page = self.history.fetch_orders_page
        self.fetch_my_trades = self.history.fetch_my_trades
        self.fetch_my_trades_page = self.history.fetch_my_trades_page
        # prices and settlement
        self.push_price = self.settlement.push_price
        self.apply_tick = self.settlement.apply_tick
        self.finish_tick = self.settlement.finish_tick
        self.settle_call_args = self.settlement.settle_call_args
        self.settle_batch_call_args = self.settlement.settle_batch_call_args
        self.sweep = self.settlement.sweep
        # retention
        self.trim_history = Retention(core).trim
        candles = Candles(core, self.markets)
        self.fetch_ohlcv = candles.fetch_ohlcv
        self.trim_candles = candles.trim
        self.backfill_candles = candles.backfill

    @property
    def fees(self) -> FeeSchedule:
        """The exchange's fee schedule (MAKER_FEE, TAKER_FEE, FEE_ASSET); an account's own is its orders'."""
        return self.core.fees

    @property
    def fee_rate(self) -> Decimal:
        """The exchange's taker rate (what every fill paid before maker and taker rates): prefer :attr:`fees`,
        or ``fetch_trading_fees()`` for the account's own."""
        return self.core.fees.taker

    # lifecycle -----------------------------------------------------------------------------------------
    @classmethod
    async def open(cls, settings: Settings | None = None, *, throwaway: bool = False) -> Exchange:
        """Connect (starting the embedded Valkey if no URL is set), load scripts and declared markets.

        With ``throwaway`` and no URL, the embedded Valkey is a private one in a temporary directory, without
        persistence, deleted at :meth:`close` (a back-test's own world).
        """
        settings = settings or Settings.from_env()
        embedded = None
        url = settings.redis_url
        if url is None:
            data_dir = Path(tempfile.mkdtemp(prefix="mockx-")) if throwaway else settings.data_dir
            embedded = EmbeddedValkey(data_dir, persist=not throwaway, scratch=throwaway, maxmemory=settings.maxmemory)
            url = embedded.start()
        try:
            transport = await Transport.open(
                url, socket_timeout=settings.redis_timeout, max_connections=settings.redis_max_connections
            )
        except BaseException:
            if embedded is not None:
                embedded.stop()
            raise
        ex = cls(transport, settings, embedded=embedded)
        try:
            await ex.scripts.load()
            await ex.declare_markets(mk.load_declared(settings.markets, settings.markets_file))
        except BaseException:
            await ex.close()
            raise
        return ex

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, settings: Settings | None = None, *, attach: bool = False, **overrides: Any
    ) -> AsyncIterator[Exchange]:
        """``async with Exchange.connect(namespace="backtest") as ex:`` — open, use, close: a back-test's way in.

        ``overrides`` replace fields of the settings (default: read from the environment), e.g. a
        ``namespace`` of its own; the price stream follows the namespace (``<namespace>:prices``) unless
        ``price_stream`` is given or was set explicitly. Without ``REDIS_URL`` the exchange runs on a
        throw-away embedded Valkey of its own, whatever ``MOCKX_DATA_DIR`` says, so a back-test never touches
        the state of a running ``mockx up``; ``attach=True`` uses the data directory's Valkey instead.
        """
        base = settings or Settings.from_env()
        namespace = overrides.get("namespace")
        if namespace and "price_stream" not in overrides and base.price_stream == f"{base.namespace}:prices":
            overrides["price_stream"] = f"{namespace}:prices"
        ex = await cls.open(msgspec.structs.replace(base, **overrides) if overrides else base, throwaway=not attach)
        try:
            yield ex
        finally:
            await ex.close()

    async def close(self) -> None:
        if not self._owner:  # a view: the exchange it shares owns the connection
            return
        await self.transport.aclose()
        if self._embedded is not None:
            self._embedded.stop()

    async def __aenter__(self) -> Exchange:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """Where the state lives (the embedded server's URL, or REDIS_URL)."""
        if self._embedded is not None:
            return self._embedded.url
        return self.settings.redis_url or ""

    def as_account(self, account: AccountRef) -> Exchange:
        """The same exchange acting on ``account`` (shares the connection; closing it closes nothing)."""
        if account == self.account:
            return self
        return Exchange(self.core.transport, self.core.settings, account=account, shared=self)

    async def for_account(self, name: str) -> Exchange:
        """The same exchange acting on the account named ``name``; raises AccountNotFound."""
        return self.as_account(await self.accounts.ref(name))

    # admin ---------------------------------------------------------------------------------------------
    async def reset(self) -> None:
        """Wipe this account's balances, orders and trades (other accounts, markets and prices stay), in chunks
        of ``SETTLE_CHUNK`` orders (at least 100, so a tiny chunk does not make a reset crawl): no Lua call
        runs long."""
        symbols = sorted(await self.markets.market_records())
        chunk = max(self.settings.settle_chunk, 100)
        while not (await self.scripts.reset_account(self.account.name, symbols, chunk))[0]:
            pass

    async def reset_all(self) -> None:
        """Wipe every account's balances, orders, trades and the events, in one atomic step per shard."""
        symbols = list(await self.markets.market_records())
        for scripts in self.core.shard_scripts:
            await scripts.reset(symbols)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())
