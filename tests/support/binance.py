"""The Binance dialect under a real HTTP server, and unmodified Binance clients pointed at it.

``BinanceSession`` is one exchange (its own namespace) behind uvicorn with authentication on: the default
account's key and secret are :data:`KEY` / :data:`SECRET`. The native API on the same port funds accounts
and sets prices; :func:`ccxt_urls` is what a ccxt user overrides (every ``http`` entry of ``urls['api']``,
and ``urls['test']`` too, so ``set_sandbox_mode`` cannot undo it).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import msgspec

from app.api import create_app
from app.settings import Settings
from tests.support.http import LiveServer

KEY = "binance-test-key-0123456789"
SECRET = "binance-test-secret-0123456789"
SYMBOLS = {"BTC/USDT": "60000", "ETH/USDT": "3000"}
MARKETS = (
    '[{"symbol": "BTC/USDT", "price_tick": "0.01", "amount_step": "0.00001", "min_notional": "5"},'
    ' {"symbol": "ETH/USDT", "price_tick": "0.01", "amount_step": "0.0001", "min_notional": "5"}]'
)


def binance_settings(settings: Settings, **overrides: Any) -> Settings:
    return msgspec.structs.replace(
        settings, test_env=False, api_key=KEY, api_secret=SECRET, markets=MARKETS, **overrides
    )


class Native:
    """The native API of the same server, as the admin."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=10)

    def price(self, symbol: str, price: str, **extra: Any) -> None:
        r = self.http.patch(f"/admin/tickers/{symbol}/price", json={"price": price, **extra})
        assert r.status_code == 200, r.text

    def fund(self, asset: str, amount: str, account: str | None = None) -> None:
        params = {"account": account} if account else {}
        r = self.http.post("/admin/fund", json={"asset": asset, "amount": amount}, params=params)
        assert r.status_code == 200, r.text

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: Any) -> Any:
        r = self.http.post(path, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()


@contextmanager
def binance_server(settings: Settings) -> Iterator[tuple[str, Native]]:
    """A live server with the markets priced and the default account funded with 100 000 USDT and 2 BTC."""
    server = LiveServer(create_app(settings)).start()
    native = Native(server.url)
    try:
        for symbol, price in SYMBOLS.items():
            native.price(symbol, price, bid=str(Decimal(price) - 1), ask=str(Decimal(price) + 1))
        native.fund("USDT", "100000")
        native.fund("BTC", "2")
        yield server.url, native
    finally:
        native.http.close()
        server.stop()


def ccxt_urls(exchange: Any, base: str) -> dict[str, Any]:
    """``urls['api']`` of a ccxt.binance with every http(s) entry moved to ``base`` (paths kept)."""

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("http"):
            parts = urlsplit(value)
            return base + parts.path
        return value

    api = moved(exchange.urls["api"])
    return {"api": api, "test": api}


def signed(secret: str, params: dict[str, Any]) -> str:
    """``params`` with a timestamp, as a query string signed with HMAC-SHA256 (Binance's own example)."""
    query = urlencode({**params, "timestamp": int(time.time() * 1000)})
    return query + "&signature=" + hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


class Raw:
    """Plain HTTP against the dialect: ``signed`` requests put every parameter, signed, in the query."""

    def __init__(self, base: str, key: str = KEY, secret: str = SECRET) -> None:
        self.http = httpx.Client(base_url=base, headers={"X-MBX-APIKEY": key}, timeout=10)
        self.secret = secret

    def public(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def signed(self, method: str, path: str, **params: Any) -> httpx.Response:
        return self.http.request(method, f"{path}?{signed(self.secret, params)}")

    def ok(self, method: str, path: str, **params: Any) -> Any:
        r = self.signed(method, path, **params)
        assert r.status_code == 200, r.text
        return r.json()


def binance_error(r: httpx.Response, code: int, msg: str | None = None, status: int = 400) -> str:
    """Assert ``r`` is Binance's error shape with this code (and message); return the message."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"code", "msg"}, body
    assert body["code"] == code, body
    if msg is not None:
        assert body["msg"] == msg, body
    text: str = body["msg"]
    return text
