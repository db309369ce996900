"""The fuzz test of "what a newcomer and a fuzzer hit": every hostile input class at every body field, query
parameter and id of every native route, found by walking the app's route table (a new route is covered by
itself). Each request must get a 4xx JSON error in the native shape, and change nothing.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
from litestar import Litestar
from litestar.routes import HTTPRoute

from app.api.native.request import NativeRequest
from app.engine.exchange import Exchange
from tests.support.hostile import (
    BAD_CURSORS,
    BAD_IDS,
    BAD_NUMBERS,
    DEEP_JSON,
    DEEP_OBJECT,
    duplicate_first_key,
    state,
)
from tests.support.http import LiveServer, fund, set_price

SAMPLE_PATH = {
    "symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "asset": "USDT", "order_id": "1", "name": "fz-nobody",
}  # fmt: skip
#: Valid bodies per field name (the fuzz replaces one field at a time, so the rest must be valid).
SAMPLE_FIELD: dict[str, Any] = {
    "symbol": "BTC/USDT", "side": "buy", "amount": 0.01, "type": "limit", "price": 40000,
    "clientOrderId": "fz", "timeInForce": "GTC", "asset": "USDT", "free": 5, "bid": 39999, "ask": 40001,
    "name": "fz-new", "balances": {"USDT": "1"}, "commission": "0.001", "ed25519PublicKey": None,
    "cost": None, "triggerPrice": None, "stopPrice": None, "stopLossPrice": None, "takeProfitPrice": None,
    "postOnly": None, "stopLimitPrice": None,
}  # fmt: skip
#: Values no parameter takes: Unicode or full-width digits, whitespace or control characters in them.
HOSTILE = [
    v for v in dict.fromkeys(BAD_NUMBERS + BAD_IDS + BAD_CURSORS)
    if v and (not v.isascii() or any(c.isspace() or not c.isprintable() for c in v))
]  # fmt: skip
MONEY_FIELDS = {"amount", "price", "free", "bid", "ask", "cost", "triggerPrice", "stopPrice", "stopLossPrice",
                "takeProfitPrice", "stopLimitPrice"}  # fmt: skip
CURSORS = {"since"}
SKIP_QUERY = {"minWorkers"}  # answered 503 "degraded" on purpose by a valid value; still checked below
DEPENDENCIES = {"exchange", "shared", "caller", "hub", "last_event_id", "request"}  # injected, not query parameters


def _routes(app: Litestar) -> list[tuple[str, str, Any]]:
    """Every (method, path template, handler) of the native dialect (its requests are NativeRequests)."""
    out = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and not route.path.startswith("/schema"):
            for method, (handler, _) in sorted(route.route_handler_map.items()):
                if method != "OPTIONS" and issubclass(handler.resolve_request_class(), NativeRequest):
                    out.append((method, route.path, handler))
    return out


def _path(template: str, **values: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: quote(values.get(m.group(1), SAMPLE_PATH[m.group(1)]), safe=""), template)


def _body_type(handler: Any) -> type[msgspec.Struct] | None:
    data = handler.parsed_fn_signature.parameters.get("data")
    return data.annotation if data is not None else None


def _query(handler: Any) -> list[str]:
    names = []
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name in ("data", "self") or name in SAMPLE_PATH or name in DEPENDENCIES:
            continue
        kwarg = field.kwarg_definition
        names.append(getattr(kwarg, "query", None) or getattr(kwarg, "name", None) or name)
    return names


def _check(r: httpx.Response, what: str) -> None:
    if r.status_code == 200 and r.url.path == "/orders/can_execute":  # a dry run answers its refusals
        assert r.json()["ok"] is False, (what, r.text)
        assert r.json()["code"], (what, r.text)
        return
    assert 400 <= r.status_code < 500, (what, r.status_code, r.text[:300])
    body = r.json()
    assert list(body) == ["error"], (what, body)
    assert set(body["error"]) == {"code", "message"}, (what, body)
    assert body["error"]["message"], (what, body)


async def test_hostile_input_at_every_native_route_is_4xx_and_changes_nothing(
    live: LiveServer, exchange: Exchange
) -> None:
    app: Litestar = live.server.config.app  # type: ignore[assignment]
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as api:
        await fund(api, "USDT", 100000)
        await fund(api, "BTC", 10)
        await set_price(api, "BTC/USDT", 40000)
        body = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 0.01, "price": 39000}
        assert (await api.post("/orders", json=body)).status_code == 201
        before = await state(exchange)
        sent = 0
        for method, template, handler in _routes(app):
            body_type = _body_type(handler)
            if body_type is not None:
                fields = [f.encode_name for f in msgspec.inspect.type_info(body_type).fields]  # type: ignore[attr-defined]
                valid = {name: SAMPLE_FIELD[name] for name in fields}
                url = _path(template)
                raws = [DEEP_JSON, DEEP_OBJECT, duplicate_first_key(valid)]
                for raw in raws:
                    r = await api.request(method, url, content=raw, headers={"content-type": "application/json"})
                    _check(r, f"{method} {template} {raw[:20]!r}")
                form = await api.request(method, url, data={k: str(v) for k, v in valid.items()})
                assert form.status_code == 415, (method, template, form.text)
                _check(form, f"{method} {template} form")
                for name in fields:
                    for value in [v for v in BAD_NUMBERS if v] if name in MONEY_FIELDS else HOSTILE:
                        r = await api.request(method, url, json={**valid, name: value})
                        _check(r, f"{method} {template} {name}={value!r}")
                        sent += 1
            for name in _query(handler):
                for value in dict.fromkeys(
                    HOSTILE + (BAD_CURSORS if name in CURSORS and template == "/events" else [])
                ):
                    url = _path(template)
                    if template == "/events":  # refused before any stream starts
                        async with api.stream("GET", url, params={name: value}) as r:
                            assert r.status_code != 200, (name, value)
                            await r.aread()
                    else:
                        r = await api.request(method, url, params={name: value}, json=None)
                    if name in SKIP_QUERY and r.status_code == 503:
                        continue
                    _check(r, f"{method} {template}?{name}={value!r}")
                    sent += 1
            if "{order_id:" in template:
                for value in BAD_IDS:
                    r = await api.request(method, _path(template, order_id=value))
                    _check(r, f"{method} {template} id={value!r}")
                    sent += 1
        assert sent > 400, sent
        assert {t for _, t, _ in _routes(app)} >= {"/orders", "/admin/fund", "/events", "/orders/{order_id:str}"}
        assert await state(exchange) == before
