"""Authentication on every route, docs only under TEST_ENV, and refusing to start with a placeholder key."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import msgspec
import pytest
import websockets
from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute
from litestar.testing import AsyncTestClient
from websockets.exceptions import ConnectionClosed

from app.api import create_app
from app.api.common.auth import WS_CLOSE_UNAUTHORIZED
from app.settings import Settings, SettingsError
from tests.support.http import API_KEY, LiveServer, error

PUBLIC_PATHS = {"/livez"}
#: The Binance dialect's routes authenticate as Binance does (X-MBX-APIKEY, signatures): tests/binance.
BINANCE_PREFIXES = ("/api/", "/sapi/", "/fapi/", "/dapi/")
SAMPLE = {"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "asset": "USDT", "order_id": "1", "name": "bot-1"}


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: SAMPLE[m.group(1)], path)


def _endpoints(app: Litestar) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, from its route table: a new route is covered by itself."""
    out: list[tuple[str, str]] = []
    for route in app.routes:
        if route.path.startswith(BINANCE_PREFIXES):
            continue
        if isinstance(route, HTTPRoute):
            out += [(m, _concrete(route.path)) for m in sorted(route.methods) if m != "OPTIONS"]
        elif isinstance(route, WebSocketRoute):
            out.append(("WEBSOCKET", _concrete(route.path)))
    return out


@pytest.fixture
async def secured(auth_settings: Settings) -> Any:
    async with AsyncTestClient(app=create_app(auth_settings)) as c:
        yield c


async def test_every_route_but_liveness_needs_the_key(secured: Any) -> None:
    endpoints = _endpoints(secured.app)
    assert len(endpoints) >= 28, endpoints
    assert not [p for _, p in endpoints if p.startswith("/schema") or p in ("/docs", "/redoc")]
    for method, path in endpoints:
        if path in PUBLIC_PATHS:
            continue
        if method == "WEBSOCKET":
            continue  # over a real socket, in test_websockets_need_the_key
        for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": ""}, {"X-API-KEY": API_KEY + "x"}):
            r = await secured.request(method, path, headers=headers, json={})
            error(r, 401, "AuthenticationError")


async def test_websockets_need_the_key(auth_settings: Settings) -> None:
    app = create_app(auth_settings)
    paths = [p for m, p in _endpoints(app) if m == "WEBSOCKET"]
    assert paths == ["/events/ws"]
    server = LiveServer(app).start()
    try:
        for path in paths:
            url = server.url.replace("http", "ws") + path
            for headers, reason in (({}, "missing x-api-key"), ({"x-api-key": "wrong"}, "invalid x-api-key")):
                # accepted, then closed with 4401 and the reason: what a WebSocket client can observe
                async with websockets.connect(url, additional_headers=headers, open_timeout=5) as ws:
                    with pytest.raises(ConnectionClosed) as closed:
                        await asyncio.wait_for(ws.recv(), 5)
                assert closed.value.rcvd is not None, closed.value
                assert closed.value.rcvd.code == WS_CLOSE_UNAUTHORIZED == 4401
                assert closed.value.rcvd.reason.startswith(reason)
            async with websockets.connect(url, additional_headers={"x-api-key": API_KEY}, open_timeout=5) as ws:
                assert ws.protocol.state.name == "OPEN"
    finally:
        server.stop()


async def test_the_right_key_opens_every_route(secured: Any) -> None:
    for method, path in _endpoints(secured.app):
        if method in ("WEBSOCKET",) or path == "/events":
            continue
        r = await secured.request(method, path, headers={"x-api-key": API_KEY}, json={})
        assert r.status_code != 401, (method, path, r.text)
    r = await secured.get("/balance", headers={"X-Api-Key": API_KEY})  # header names are case-insensitive
    assert r.status_code == 200


async def test_liveness_is_public_and_reveals_nothing(secured: Any) -> None:
    r = await secured.get("/livez")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert "server" not in {k.lower() for k in r.headers} or "mockx" not in r.headers.get("server", "").lower()


async def test_docs_and_schema_are_off_outside_test_env(secured: Any) -> None:
    for path in ("/docs", "/redoc", "/schema", "/schema/openapi.json", "/schema/swagger"):
        r = await secured.get(path, headers={"x-api-key": API_KEY})
        assert r.status_code == 404, (path, r.status_code)


async def test_test_env_turns_auth_off_and_docs_on(client: Any) -> None:
    assert (await client.get("/balance")).status_code == 200
    r = await client.get("/docs", follow_redirects=False)
    assert r.status_code in (301, 302, 307)
    assert r.headers["location"].endswith("/schema/swagger")
    assert (await client.get("/docs")).status_code == 200
    assert "redoc" in (await client.get("/redoc")).text.lower()
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["apiKey"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    amount = schema["components"]["schemas"]["OrderIn"]["properties"]["amount"]
    assert amount["type"] == "number"  # Decimal is documented as what it is on the wire
    assert schema["components"]["schemas"]["Order"]["properties"]["cost"]["type"] == "number"


@pytest.mark.parametrize("key", ["", "invalid-key"])
def test_refuses_to_start_with_a_placeholder_key(settings: Settings, key: str) -> None:
    with pytest.raises(SettingsError, match="API_KEY"):
        create_app(msgspec.structs.replace(settings, test_env=False, api_key=key))
