"""The dashboard's routes: the page and its static files (public: the page asks for the key), and the equity
curve (authenticated like every account route; the admin may pass ``account=<name>``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, MediaType, Request, Response, Router, get

from app.api.common.auth import PUBLIC, admin_guard
from app.api.common.deps import CallerDep, ExchangeDep, SharedDep
from app.api.dashboard.equity import EquityBook, EquityCurve
from app.api.native.admin import health_response
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.api.native.schemas import Health
from app.engine.health import check_health

STATIC = Path(str(files("app.api.dashboard") / "static"))
#: Everything the page loads comes from this server: no inline script, no other origin, no framing. Inline
#: styles are allowed: the chart library sets style attributes on the elements it makes (blocked, each is an
#: error in the browser console, which the browser tests check).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@get("/", opt=PUBLIC, include_in_schema=False, media_type=MediaType.HTML)
async def page(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The dashboard page. It says whether the server wants a key (``<meta name="mockx-auth">``: ``required``,
    or ``off`` under TEST_ENV), so the page asks for one before its first request rather than after a 401."""
    auth = b"off" if request.app.state.exchange.settings.test_env else b"required"
    html = (
        (STATIC / "index.html")
        .read_bytes()
        .replace(b'name="mockx-auth" content="AUTH"', b'name="mockx-auth" content="' + auth + b'"')
    )
    return Response(html, media_type=MediaType.HTML, headers=SECURITY_HEADERS)


def _book(request: Request[Any, Any, Any]) -> EquityBook:
    book: EquityBook = request.app.state.equity
    return book


class Whoami(msgspec.Struct, frozen=True):
    """Who the key is: its account, whether it is the admin, and (for the admin) every account's name."""

    account: str
    admin: bool
    accounts: list[str]
    cashAsset: str


class DashboardController(NativeController):
    path = "/api"
    tags = ("Dashboard",)

    @get("/whoami", responses=responses())
    async def whoami(self, shared: SharedDep, caller: CallerDep) -> Whoami:
        """The caller's account and whether its key is the admin's; the admin also gets the account names
        (``default`` first), to switch between them."""
        names = ["default", *[r.name for r in await shared.accounts.records()]] if caller.admin else []
        return Whoami(caller.account.name, caller.admin, list(dict.fromkeys(names)), shared.settings.cash_asset)

    @get("/health", guards=[admin_guard], responses=responses(403))
    async def health(self, shared: SharedDep) -> Health:
        """``GET /admin/health``'s report, always with 200: the page shows a degraded exchange, not an error."""
        return health_response(await check_health(shared, 0))

    @get("/equity", responses=responses(404))
    async def equity(self, exchange: ExchangeDep, request: Request[Any, Any, Any]) -> EquityCurve:
        """The account's equity curve: snapshots this API process keeps while a dashboard watches the account
        (a fresh one now), with the money moved in or out at each (``flow``), oldest first; bounded."""
        return await _book(request).curve(exchange)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """The equity snapshots of this process (after the app's own lifespan has opened the Exchange)."""
    book = EquityBook(app.state.exchange)
    app.state.equity = book
    try:
        yield
    finally:
        await book.close()


#: The media type of each kind of file the page loads (the vendored licence texts have no suffix).
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".md": "text/plain"}


def static_files() -> dict[str, Path]:
    """Every file shipped under ``static/`` but the page itself, by its URL path under ``/ui``."""
    found = (p for p in STATIC.rglob("*") if p.is_file() and p.name != "index.html")
    return {f"/static/{p.relative_to(STATIC).as_posix()}": p for p in sorted(found)}


FILES = static_files()


@get(list(FILES), opt=PUBLIC, include_in_schema=False)
async def static(request: Request[Any, Any, Any]) -> Response[bytes]:
    """One shipped file: only those listed at start-up are routes, so no path reaches outside the package."""
    path = FILES[request.url.path.removeprefix("/ui")]
    media_type = MEDIA_TYPES.get(path.suffix, "text/plain; charset=utf-8")
    return Response(path.read_bytes(), media_type=media_type, headers={"Cache-Control": "no-cache"})


ROUTER = Router(path="/ui", route_handlers=[page, static, DashboardController])
