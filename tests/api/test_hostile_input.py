"""What a newcomer and a fuzzer hit, over real HTTP against a real Valkey: each refused with a clear 4xx in the
native error shape, and nothing changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import pytest

from app.api import create_app
from app.engine.errors import BadRequest
from app.engine.exchange import Exchange
from app.settings import Settings
from tests.support.hostile import BAD_IDS, BAD_NUMBERS, DEEP_JSON, DEEP_OBJECT, state
from tests.support.http import LiveServer, error, fund, set_price

JSON = {"content-type": "application/json"}


@pytest.fixture
async def api(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as c:
        yield c


async def _resting(api: httpx.AsyncClient, cid: str = "abc") -> dict[str, Any]:
    await fund(api, "USDT", 100000)
    await set_price(api, "BTC/USDT", 50000)
    body = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 0.01, "price": 40000, "clientOrderId": cid}
    r = await api.post("/orders", json=body)
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


# item 2 ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", BAD_IDS)
async def test_an_id_with_whitespace_or_control_characters_names_no_order(
    api: httpx.AsyncClient, exchange: Exchange, raw: str
) -> None:
    order = await _resting(api)
    before = await state(exchange)
    for variant in (raw.replace("abc", order["id"]), raw):
        path = quote(variant, safe="")
        error(await api.delete(f"/orders/{path}"), 404, "OrderNotFound")
        error(await api.post(f"/orders/{path}/cancel"), 404, "OrderNotFound")
        error(await api.get(f"/orders/{path}"), 404, "OrderNotFound")
    assert await state(exchange) == before
    assert (await api.get(f"/orders/{order['id']}")).json()["status"] == "open"
    assert (await api.get("/orders/abc")).json()["id"] == order["id"]  # the exact clientOrderId still finds it


@pytest.mark.parametrize("cid", ["abc\n", "abc ", "x" * 37, "ab\x00c", "é"])
async def test_a_client_order_id_is_matched_in_full_when_placing(
    api: httpx.AsyncClient, exchange: Exchange, cid: str
) -> None:
    await fund(api, "USDT", 100000)
    await set_price(api, "BTC/USDT", 50000)
    before = await state(exchange)
    body = {"symbol": "BTC/USDT", "side": "buy", "amount": 0.01, "clientOrderId": cid}
    assert "clientOrderId" in error(await api.post("/orders", json=body), 400, "BadRequest")
    assert await state(exchange) == before


# item 3 ------------------------------------------------------------------------------------------------------
def _money_requests(value: Any) -> list[tuple[str, str, dict[str, Any]]]:
    order = {"symbol": "BTC/USDT", "side": "buy", "amount": 0.01}
    return [
        ("POST", "/orders", {**order, "amount": value}),
        ("POST", "/orders", {**order, "type": "limit", "price": value}),
        ("POST", "/orders/can_execute", {**order, "amount": value}),
        ("POST", "/admin/fund", {"asset": "USDT", "amount": value}),
        ("POST", "/balance/USDT/deposit", {"amount": value}),
        ("POST", "/balance/USDT/withdrawal", {"amount": value}),
        ("PATCH", "/admin/balance/USDT", {"free": value}),
        ("POST", "/admin/edit_balance", {"asset": "USDT", "free": value}),
        ("PATCH", "/admin/tickers/BTC/USDT/price", {"price": value}),
        ("PATCH", "/admin/tickers/BTCUSDT/price", {"price": 50000, "bid": value}),
    ]


@pytest.mark.parametrize("value", BAD_NUMBERS)
async def test_money_is_ascii_decimal_notation_only(api: httpx.AsyncClient, exchange: Exchange, value: str) -> None:
    await _resting(api)
    before = await state(exchange)
    for method, path, body in _money_requests(value):
        r = await api.request(method, path, json=body)
        message = error(r, 400, "BadRequest")
        assert "ASCII decimal notation" in message, (path, message)
        assert "Decimal(" not in message
    assert await state(exchange) == before


@pytest.mark.parametrize("good", ["1e2", "100", "1E+2", "0100", "100.0", 100, 100.0])
async def test_plain_and_exponent_notation_and_json_numbers_are_money(api: httpx.AsyncClient, good: Any) -> None:
    r = await api.post("/admin/fund", json={"asset": "USDT", "amount": good})
    assert r.status_code == 200, r.text
    assert r.json()["free"] == 100
    r = await api.post("/admin/fund", content=b'{"asset": "BTC", "amount": 1e-8}', headers=JSON)
    assert b'"free":0.00000001' in r.content


async def test_a_set_price_off_the_market_tick_is_refused_and_fills_nothing(
    api: httpx.AsyncClient, exchange: Exchange
) -> None:
    await fund(api, "USDT", 100000)
    await set_price(api, "BTC/USDT", "0.00000002")
    for _ in range(3):
        body = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 1, "price": "0.00000001"}
        assert (await api.post("/orders", json=body)).status_code == 201
    before = await state(exchange)
    for extra in ({"price": "1e-9"}, {"price": "0.00000001", "bid": "0.000000005"}, {"price": "0.000000015"}):
        r = await api.patch("/admin/tickers/BTCUSDT/price", json=extra)
        message = error(r, 400, "BadRequest")
        assert "not a multiple of the price tick 0.00000001 of BTC/USDT" in message
    assert await state(exchange) == before
    assert [o["status"] for o in (await api.get("/orders")).json()] == ["open"] * 3


async def test_a_declared_tick_refuses_a_finer_price(settings: Settings) -> None:
    declared = msgspec.structs.replace(settings, markets='[{"symbol": "ETH/USDT", "price_tick": "0.01"}]')
    server = LiveServer(create_app(declared)).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as api:
            error(await api.patch("/admin/tickers/ETHUSDT/price", json={"price": 2500.005}), 400, "BadRequest")
            assert (await api.patch("/admin/tickers/ETHUSDT/price", json={"price": 2500.01})).status_code == 200
    finally:
        server.stop()


# item 5 ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [DEEP_JSON, DEEP_OBJECT, b'{"amount": ' + b"[" * 40 + b"]" * 40 + b"}"])
async def test_deeply_nested_json_is_400_not_500(api: httpx.AsyncClient, exchange: Exchange, raw: bytes) -> None:
    before = await state(exchange)
    for method, path in (("POST", "/orders"), ("POST", "/admin/fund"), ("PATCH", "/admin/tickers/BTCUSDT/price")):
        message = error(await api.request(method, path, content=raw, headers=JSON), 400, "BadRequest")
        assert "deep" in message
    assert await state(exchange) == before


# item 7 ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("types", "hint"), [("trade", ""), ("orders", "did you mean 'order'?"), ("bogus", "")])
async def test_unknown_event_types_are_400_with_the_valid_ones(api: httpx.AsyncClient, types: str, hint: str) -> None:
    message = error(await api.get("/events", params={"types": types}), 400, "BadRequest")
    assert f"{types!r} is not an event type" in message
    assert "order.created" in message
    assert "balance.changed" in message
    assert "order.*" in message
    assert hint in message


# item 8 ------------------------------------------------------------------------------------------------------
async def test_a_repeated_key_is_refused_not_last_one_wins(api: httpx.AsyncClient, exchange: Exchange) -> None:
    await fund(api, "USDT", 100000)
    await fund(api, "BTC", 10)
    await set_price(api, "BTC/USDT", 50000)
    before = await state(exchange)
    raw = b'{"symbol":"BTC/USDT","side":"buy","side":"sell","amount":0.01}'
    assert "repeats the key 'side'" in error(await api.post("/orders", content=raw, headers=JSON), 400, "BadRequest")
    raw = b'{"asset":"USDT","amount":1,"amount":1000}'
    assert "'amount'" in error(await api.post("/admin/fund", content=raw, headers=JSON), 400, "BadRequest")
    assert await state(exchange) == before
    # a ':' inside a string is no key: these are one key each
    body = {"symbol": "BTC/USDT", "side": "buy", "amount": 0.01, "clientOrderId": "a:b:c"}
    assert (await api.post("/orders", json=body)).status_code == 201


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
async def test_a_body_labelled_other_than_json_is_415(
    api: httpx.AsyncClient, exchange: Exchange, content_type: str
) -> None:
    before = await state(exchange)
    raw = b'{"asset":"USDT","amount":1}'
    message = error(
        await api.post("/admin/fund", content=raw, headers={"content-type": content_type}), 415, "BadRequest"
    )
    assert "application/json" in message
    assert await state(exchange) == before
    for label in ("application/json; charset=utf-8", "application/vnd.api+json"):
        assert (await api.post("/admin/fund", content=raw, headers={"content-type": label})).status_code == 200
    assert (await api.post("/admin/fund", content=raw)).status_code == 200  # no label: read as JSON


# item 9 ------------------------------------------------------------------------------------------------------
async def test_health_while_valkey_is_down_shows_no_address_or_client_text(settings: Settings, tmp_path: Any) -> None:
    from app.store.embedded import EmbeddedValkey
    from tests.support.ports import free_port

    port = free_port()
    valkey = EmbeddedValkey(tmp_path / "own", port=port, persist=False)
    valkey.start()
    server = LiveServer(create_app(msgspec.structs.replace(settings, redis_url=valkey.url))).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
            assert (await api.get("/admin/health")).status_code == 200
            valkey.stop()
            for method, path in (("GET", "/admin/health"), ("GET", "/balance"), ("POST", "/admin/fund")):
                r = await api.request(method, path, json={"asset": "USDT", "amount": 1})
                assert r.status_code == 503, r.text
                for leak in (str(port), "127.0.0.1", "localhost", "Error ", "Errno", "Connection refused"):
                    assert leak not in r.text, (path, r.text)
            health = (await api.get("/admin/health")).json()
            assert health["valkey"]["error"].startswith("store unavailable")
    finally:
        server.stop()
        valkey.stop()


# item 13 -----------------------------------------------------------------------------------------------------
async def test_messages_name_the_valid_values_and_no_python_repr(api: httpx.AsyncClient, exchange: Exchange) -> None:
    await set_price(api, "BTC/USDT", 50000)
    message = error(await api.get("/orders", params={"status": "bogus"}), 400, "BadRequest")
    statuses = message.split("use one of: ", 1)[1].split(" (", 1)[0]
    assert statuses.split(", ") == ["open", "closed", "canceled", "expired", "rejected"], message
    assert "cancelled for canceled" in message  # the older spelling, named as an alias, not listed again
    body = {"symbol": "BTC/USDT", "side": "BUY", "amount": 1}
    assert "must be 'buy' or 'sell', got 'BUY'" in error(await api.post("/orders", json=body), 400, "BadRequest")
    body = {"symbol": "BTC/USDT", "side": "buy", "type": "LIMIT", "amount": 1}
    message = error(await api.post("/orders", json=body), 400, "BadRequest")
    assert "body field 'type': must be 'limit' or 'market', got 'LIMIT'" in message
    with pytest.raises(BadRequest) as refused:
        await exchange.deposit("USDT", Decimal("NaN"))
    assert refused.value.message == "amount must be a finite number, got NaN"


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"amount": -1}, "BadRequest"),  # not positive: malformed for an amount
        ({"amount": 0}, "BadRequest"),
        ({"amount": "abc"}, "BadRequest"),
        ({"type": "limit", "amount": 1, "price": -5}, "BadRequest"),
        ({"amount": "1e30"}, "InvalidOrder"),  # well-formed, beyond the largest supported value
        ({"amount": "1e400"}, "InvalidOrder"),  # well-formed, beyond what MockX represents at all
        ({"amount": "1e-30"}, "InvalidOrder"),
        ({"type": "limit", "amount": 1, "price": "1e30"}, "InvalidOrder"),
        ({"type": "limit", "amount": 1, "price": "0.000000001"}, "InvalidOrder"),  # off the tick
    ],
)
async def test_malformed_is_bad_request_out_of_range_is_invalid_order(
    api: httpx.AsyncClient, extra: dict[str, Any], code: str
) -> None:
    await fund(api, "USDT", 100)
    await set_price(api, "BTC/USDT", 50000)
    error(await api.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1, **extra}), 400, code)
