"""Every route of the Binance dialect but the public market data needs a key (and a signature) of its own."""

from __future__ import annotations

from litestar.routes import HTTPRoute

from app.api import create_app
from app.settings import Settings
from tests.support.binance import Native, binance_error, binance_settings

#: Binance's public (NONE security) routes, and the ones MockX keeps public because clients call them unsigned.
PUBLIC = {
    "ping", "time", "exchangeInfo", "depth", "trades", "historicalTrades", "aggTrades", "klines", "uiKlines",
    "avgPrice", "ticker/24hr", "ticker/tradingDay", "ticker", "ticker/price", "ticker/bookTicker",
    "system/status", "margin/allPairs", "margin/isolated/allPairs", "spot/delist-schedule",
}  # fmt: skip


def _dialect_routes(settings: Settings) -> list[tuple[str, str]]:
    app = create_app(binance_settings(settings))
    out = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith(("/api/", "/sapi/", "/fapi/", "/dapi/")):
            out += [(m, route.path) for m in sorted(route.methods) if m not in ("OPTIONS", "HEAD")]
    return out


def test_every_private_route_refuses_a_missing_or_unknown_key(binance: tuple[str, Native], settings: Settings) -> None:
    base, native = binance
    routes = _dialect_routes(settings)
    private = [(m, p) for m, p in routes if p.split("/", 3)[3] not in PUBLIC and "exchangeInfo" not in p]
    assert len(private) >= 20, private
    for method, path in private:
        binance_error(native.http.request(method, base + path, headers={"x-api-key": ""}), -2014, status=401)
        r = native.http.request(method, base + path, headers={"X-MBX-APIKEY": "unknown"})
        binance_error(r, -2015, status=401)
