"""The Litestar application: ``create_app()`` wires settings, the Exchange, auth, errors and the routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler, Guard

from app import __version__
from app.api.binance import FaultController, binance_router
from app.api.binance.ws import api as binance_api
from app.api.binance.ws import connection as binance_ws
from app.api.binance.ws.streams import MarketStreams
from app.api.common.auth import HEADER, PUBLIC, account_guard
from app.api.common.codec import DecimalSchemaPlugin, ExactRequest, ExactResponse
from app.api.common.deps import DEPENDENCIES
from app.api.common.hub import EventHub
from app.api.dashboard import ROUTER as DASHBOARD
from app.api.dashboard import lifespan as dashboard_lifespan
from app.api.native.accounts import AccountController
from app.api.native.admin import AdminController
from app.api.native.errors import EXCEPTION_HANDLERS
from app.api.native.events import EventController
from app.api.native.market import MarketController
from app.api.native.orders import OrderController, TradeController, TradingFeeController
from app.api.native.overview import OverviewController
from app.api.native.portfolio import BalanceController
from app.api.native.schemas import Liveness
from app.engine import markets as mk
from app.engine import presets
from app.engine.events import Envelope, decode
from app.engine.exchange import Exchange
from app.engine.market_events import MarketEnvelope, decode_market
from app.settings import Settings
from app.store.retry import retrying

log = logging.getLogger(__name__)

SCHEMA_PATH = "/schema"
STARTUP_WAIT_SECONDS = 30.0
DESCRIPTION = """\
MockX: a zero-risk spot exchange for ccxt trading bots. Orders, trades, balances, tickers and markets are
ccxt unified structures; every number is an exact decimal JSON number. Money in request bodies may be a
JSON number or a string. Errors are `{"error": {"code": <ccxt exception name>, "message": <sentence>}}`.
Every route except `GET /livez` needs the `x-api-key` header (unless the server runs with TEST_ENV=true): the
key names the account a request acts on. Routes under `/admin` need the admin key (`ADMIN_API_KEY`, else
`API_KEY`), which acts as the `default` account, or as another one with `account=<name>`.
"""


@get("/livez", opt=PUBLIC, tags=["Health"], cache_control=None)
async def livez() -> Liveness:
    """Liveness for container probes: the process answers. Public; reveals nothing."""
    return Liveness()


@get(["/docs", "/redoc"], include_in_schema=False)
async def docs_redirect(request: ExactRequest) -> Redirect:
    target = "swagger" if request.url.path.rstrip("/").endswith("/docs") else "redoc"
    return Redirect(f"{SCHEMA_PATH}/{target}")


async def _open(settings: Settings) -> Exchange:
    """Open the Exchange, waiting (with backoff) up to 30 s for a Valkey that is still starting."""
    exchange = await retrying(
        lambda: Exchange.open(settings), what="API start-up", max_delay=3.0, give_up_after=STARTUP_WAIT_SECONDS
    )
    assert exchange is not None  # without a stop event, retrying returns only the result or raises
    return exchange


def event_hubs(ex: Exchange, settings: Settings) -> tuple[EventHub[Envelope], EventHub[MarketEnvelope]]:
    """The process's two event hubs: the account events of every shard, and the market data (book diffs and
    candle updates, from streams of their own)."""
    fees = ex.fees
    keys = ex.core.keys

    def account_event(entry_id: str, etype: str, data: str) -> Envelope:
        return decode(entry_id, etype, data, fees)

    events = [k.events for k in ex.core.shard_keys]
    market = [keys.market_stream, keys.candle_events]
    timeout, queue = settings.redis_timeout, settings.events_queue
    return (
        EventHub(ex.redis, ex.url, events, account_event, timeout=timeout, queue=queue),
        EventHub(ex.redis, ex.url, market, decode_market, timeout=timeout, queue=queue),
    )


def create_app(settings: Settings | None = None, exchange: Exchange | None = None) -> Litestar:
    """The MockX API. Pass an open ``exchange`` to share it (the caller closes it); otherwise the app opens
    one from ``settings`` (default: the environment) at start-up and closes it at shutdown.

    Raises :class:`app.settings.SettingsError` outside TEST_ENV when the API key is empty or a placeholder.
    """
    if settings is None:
        settings = exchange.settings if exchange is not None else Settings.from_env()
    settings.require_api_key()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        ex = exchange if exchange is not None else await _open(settings)
        if settings.markets_preset:  # the preset first; MARKETS / MARKETS_FILE override it symbol by symbol
            preset = presets.specs(settings.markets_preset)
            await ex.declare_markets(mk.load_declared(settings.markets, settings.markets_file, preset))
        hub, market_hub = event_hubs(ex, settings)
        app.state.exchange, app.state.hub, app.state.market_hub = ex, hub, market_hub
        app.state.binance_streams = streams = MarketStreams(ex, hub, market_hub)
        try:
            yield
        finally:
            await streams.close()
            await asyncio.gather(hub.close(), market_hub.close())
            if exchange is None:
                await ex.close()

    handlers: list[ControllerRouterHandler] = [
        livez,
        MarketController,
        BalanceController,
        OrderController,
        TradeController,
        TradingFeeController,
        OverviewController,
        AdminController,
        AccountController,
        EventController,
        *binance_ws.HANDLERS,
        *binance_api.HANDLERS,
        FaultController,
        binance_router(settings),
        DASHBOARD,
    ]
    guards: list[Guard] = [account_guard(settings)]
    openapi: OpenAPIConfig | None = None
    if settings.test_env:
        handlers.append(docs_redirect)
        openapi = _openapi_config()

    return Litestar(
        route_handlers=handlers,
        lifespan=[lifespan, dashboard_lifespan],
        dependencies=DEPENDENCIES,
        guards=guards,
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=ExactRequest,
        response_class=ExactResponse,
        plugins=[DecimalSchemaPlugin()],
        openapi_config=openapi,
        logging_config=None,
    )


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="MockX",
        version=__version__,
        description=DESCRIPTION,
        path=SCHEMA_PATH,
        render_plugins=[SwaggerRenderPlugin(path="/swagger"), RedocRenderPlugin(path="/redoc")],
        components=Components(
            security_schemes={"apiKey": SecurityScheme(type="apiKey", name=HEADER, security_scheme_in="header")}
        ),
        security=[{"apiKey": []}],
        use_handler_docstrings=True,
    )
