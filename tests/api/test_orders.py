"""Orders and trades through the real app: the seed README's workflow, every success and failure path."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from app.api import create_app
from app.settings import Settings
from tests.support.http import LiveServer, error, fund, set_price
from tests.support.money import audit_problems

# The "Example workflow" of the earlier MockExchange README, character for character.
SEED_WORKFLOW = """\
# fund the account with 100 000 USDT
auth='-H "x-api-key:my-secret"'
curl -X POST $auth -H "Content-Type: application/json" \\
    -d '{"asset":"USDT","amount":100000}' \\
    http://localhost:8000/admin/fund

# get initial balance
curl $auth http://localhost:8000/balance

# dry-run a 0.05 BTC market buy
data='{"symbol":"BTC/USDT","side":"buy","amount":0.05}'
curl -X POST $auth -H "Content-Type: application/json" \\
    -d "$data" http://localhost:8000/orders/can_execute

# execute the order for real
curl -X POST $auth -H "Content-Type: application/json" \\
    -d "$data" http://localhost:8000/orders
"""


def _json_stream(text: str) -> list[Any]:
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        value, i = decoder.raw_decode(text, i)
        out.append(value)
    return out


# The seed's `auth='-H "x-api-key:my-secret"'` expands, unquoted, to the two words -H and
# "x-api-key:my-secret" with the double quotes kept, a header name no HTTP server accepts. This `curl`
# removes those literal quotes, which is what the seed's author meant; every line of the seed runs as written.
CURL_SHIM = """\
curl() {
  local args=() a
  for a in "$@"; do a="${a#\\"}"; args+=("${a%\\"}"); done
  command curl -sS --fail-with-body "${args[@]}"
}
"""


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_seed_readme_workflow_runs_verbatim(settings: Settings) -> None:
    secured = msgspec.structs.replace(settings, test_env=False, api_key="my-secret")
    server = LiveServer(create_app(secured)).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, headers={"x-api-key": "my-secret"}) as http:
            await set_price(http, "BTC/USDT", 50000)  # the seed assumed a running price feed
        script = CURL_SHIM + SEED_WORKFLOW.replace("http://localhost:8000", server.url)
        done = await asyncio.to_thread(
            subprocess.run, ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True
        )
    finally:
        server.stop()
    funded, balance, dry_run, order = _json_stream(done.stdout)
    assert funded == {"asset": "USDT", "free": 100000, "used": 0, "total": 100000}
    assert balance["USDT"] == {"free": 100000, "used": 0, "total": 100000}
    assert balance["free"] == {"USDT": 100000}
    assert dry_run == {"ok": True, "reason": None, "code": None}
    assert order["status"] == "closed"
    assert order["side"] == "buy"
    assert order["type"] == "market"
    assert order["amount"] == 0.05
    assert order["filled"] == 0.05
    assert order["remaining"] == 0
    assert order["price"] == 50000
    assert order["cost"] == 2500
    assert order["fee"]["cost"] == 1.875
    assert await audit_problems(settings) == []


async def test_market_buy_is_exact_in_the_json_text(client: Any) -> None:
    await fund(client, "USDT", "1000")
    await set_price(client, "BTC/USDT", "0.1", bid="0.1", ask="0.1")
    r = await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 3})
    assert r.status_code == 201, r.text
    assert '"cost":0.3,' in r.text  # 3 x 0.1, never 0.30000000000000004
    body = r.json()
    assert body["trades"][0]["cost"] == 0.3
    assert body["fee"] == {"currency": "USDT", "cost": 0.000225, "rate": 0.00075}
    balance = (await client.get("/balance/USDT")).json()
    assert Decimal(str(balance["free"])) == Decimal("1000") - Decimal("0.3") - Decimal("0.000225")


async def test_amounts_as_strings_and_long_decimals_are_parsed_exactly(client: Any) -> None:
    await fund(client, "USDT", "100000")
    await set_price(client, "BTC/USDT", 50000)
    r = await client.post("/orders", content=b'{"symbol":"BTC/USDT","side":"buy","amount":0.12345678}', headers=_json())
    assert r.status_code == 201, r.text
    assert '"amount":0.12345678,' in r.text
    r = await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.00000001"})
    assert r.status_code == 201, r.text
    assert '"amount":0.00000001,' in r.text  # plain, never 1E-8
    # 0.1 + 0.2 as a float would be 0.30000000000000004: more than 8 decimals, refused, not rounded
    r = await client.post(
        "/orders", content=b'{"symbol":"BTC/USDT","side":"buy","amount":0.30000000000000004}', headers=_json()
    )
    assert "0.30000000000000004" in error(r, 400, "InvalidOrder")


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}


async def test_limit_order_rests_then_fills_on_a_price(client: Any, settings: Settings) -> None:
    await fund(client, "USDT", 10000)
    await set_price(client, "ETH-USDT", 2000)
    r = await client.post(
        "/orders",
        json={"symbol": "ETHUSDT", "side": "buy", "type": "limit", "amount": 1, "price": 1900, "clientOrderId": "c-1"},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "open"
    assert order["symbol"] == "ETH/USDT"
    assert order["clientOrderId"] == "c-1"
    usdt = (await client.get("/balance/USDT")).json()
    assert usdt == {"asset": "USDT", "free": 8098.575, "used": 1901.425, "total": 10000}
    applied = await set_price(client, "ETH/USDT", 1899)
    assert applied["filled"] == 1
    filled = (await client.get(f"/orders/{order['id']}")).json()
    assert filled["status"] == "closed"
    assert filled["price"] == 1900
    assert filled["average"] == 1900
    assert (await client.get("/orders/c-1")).json()["id"] == order["id"]  # by clientOrderId
    assert await audit_problems(settings) == []


async def test_can_execute_is_a_dry_run(client: Any, settings: Settings) -> None:
    await fund(client, "USDT", 100)
    await set_price(client, "BTC/USDT", 50000)
    before = (await client.get("/balance")).json()
    ok = await client.post("/orders/can_execute", json={"symbol": "BTC/USDT", "side": "buy", "amount": 0.001})
    assert ok.status_code == 200
    assert ok.json() == {"ok": True, "reason": None, "code": None}
    no = await client.post("/orders/can_execute", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1})
    assert no.status_code == 200
    assert no.json()["ok"] is False
    assert no.json()["code"] == "InsufficientFunds"
    assert "USDT" in no.json()["reason"]
    bad = await client.post("/orders/can_execute", json={"symbol": "NOPE", "side": "buy", "amount": 1})
    assert bad.json()["ok"] is False
    assert bad.json()["code"] == "BadSymbol"
    after = (await client.get("/balance")).json()
    assert {k: v for k, v in after.items() if k not in ("timestamp", "datetime")} == {
        k: v for k, v in before.items() if k not in ("timestamp", "datetime")
    }
    assert (await client.get("/orders")).json() == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 10}, 400, "InsufficientFunds"),
        ({"symbol": "BTC/USDT", "side": "hold", "amount": 1}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": -1}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 0}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": "abc"}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": True}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": None}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": "NaN"}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": "1e400"}, 400, "InvalidOrder"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 1, "type": "stop"}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 1, "type": "limit"}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 1, "type": "limit", "price": "1e400"}, 400, "InvalidOrder"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 1, "type": "limit", "price": -5}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 1, "leverage": 10}, 400, "BadRequest"),
        ({"symbol": "DOGE/USDT", "side": "buy", "amount": 1}, 400, "BadSymbol"),
        ({"symbol": "not a symbol", "side": "buy", "amount": 1}, 400, "BadSymbol"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 1, "clientOrderId": "has space"}, 400, "BadRequest"),
        ({"side": "buy", "amount": 1}, 400, "BadRequest"),
        ({"symbol": "BTC/USDT", "side": "buy", "amount": 1, "timeInForce": "PO"}, 400, "InvalidOrder"),
    ],
)
async def test_bad_orders_are_4xx_and_change_nothing(
    client: Any, settings: Settings, body: dict[str, Any], status: int, code: str
) -> None:
    await fund(client, "USDT", 100)
    await set_price(client, "BTC/USDT", 50000)
    error(await client.post("/orders", json=body), status, code)
    assert (await client.get("/orders")).json() == []
    assert (await client.get("/balance/USDT")).json()["free"] == 100
    assert await audit_problems(settings) == []


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"[]", b"null", b"42", b"\xff\xfe"],  # a well-formed 1e999999 is out of range: InvalidOrder
)
async def test_malformed_bodies_are_400(client: Any, raw: bytes) -> None:
    error(await client.post("/orders", content=raw, headers=_json()), 400, "BadRequest")


async def test_duplicate_client_order_id_is_409(client: Any) -> None:
    await fund(client, "USDT", 1000)
    await set_price(client, "BTC/USDT", 100)
    body = {"symbol": "BTC/USDT", "side": "buy", "amount": 1, "clientOrderId": "same"}
    assert (await client.post("/orders", json=body)).status_code == 201
    error(await client.post("/orders", json=body), 409, "DuplicateOrderId")


async def test_list_orders_filters_and_aliases(client: Any) -> None:
    await fund(client, "USDT", 100000)
    await set_price(client, "BTC/USDT", 100)
    await set_price(client, "ETH/USDT", 10)
    market = await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1})
    limit = await client.post(
        "/orders", json={"symbol": "ETH/USDT", "side": "buy", "type": "limit", "amount": 1, "price": 5}
    )
    ids = [market.json()["id"], limit.json()["id"]]

    async def listed(query: str) -> list[str]:
        r = await client.get(f"/orders{query}")
        assert r.status_code == 200, r.text
        return [o["id"] for o in r.json()]

    assert await listed("") == ids
    assert await listed("?status=filled") == ids[:1]  # older word for closed
    assert await listed("?status=closed") == ids[:1]
    assert await listed("?status=new") == ids[1:]
    assert await listed("?status=open&symbol=ETHUSDT") == ids[1:]
    assert await listed("?symbol=BTC-USDT&side=buy") == ids[:1]
    assert await listed("?side=sell") == []
    assert await listed("?tail=1") == ids[1:]
    assert await listed("?limit=1") == ids[1:]
    assert await listed("?since=0") == ids
    assert await listed("?since=99999999999999") == []
    error(await client.get("/orders?status=weird"), 400, "BadRequest")
    error(await client.get("/orders?side=up"), 400, "BadRequest")
    error(await client.get("/orders?limit=0"), 400, "BadRequest")
    error(await client.get("/orders?limit=abc"), 400, "BadRequest")
    error(await client.get("/orders?limit=1&tail=2"), 400, "BadRequest")
    error(await client.get("/orders?symbol=%%%"), 400, "BadSymbol")
    error(await client.get("/orders?since=-5"), 400, "BadRequest")


async def test_cancel_both_forms_and_not_found(client: Any, settings: Settings) -> None:
    await fund(client, "USDT", 1000)
    await set_price(client, "BTC/USDT", 100)
    body = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 1, "price": 50}
    first = (await client.post("/orders", json=body)).json()
    second = (await client.post("/orders", json={**body, "clientOrderId": "to-cancel"})).json()
    r = await client.post(f"/orders/{first['id']}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "canceled"
    r = await client.delete("/orders/to-cancel")
    assert r.status_code == 200
    assert r.json()["id"] == second["id"]
    assert r.json()["status"] == "canceled"
    assert (await client.get("/balance/USDT")).json() == {"asset": "USDT", "free": 1000, "used": 0, "total": 1000}
    assert "not open" in error(await client.post(f"/orders/{first['id']}/cancel"), 404, "OrderNotFound")
    error(await client.delete("/orders/999999"), 404, "OrderNotFound")
    error(await client.get("/orders/999999"), 404, "OrderNotFound")
    error(await client.get("/orders/" + "x" * 80), 404, "OrderNotFound")
    assert await audit_problems(settings) == []


async def test_trades_in_ccxt_shape_with_filters(client: Any) -> None:
    await fund(client, "USDT", 100000)
    await set_price(client, "BTC/USDT", 100)
    await set_price(client, "ETH/USDT", 10)
    o1 = (await client.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1})).json()
    await client.post("/orders", json={"symbol": "ETH/USDT", "side": "buy", "amount": 2})
    trades = (await client.get("/trades")).json()
    assert [t["symbol"] for t in trades] == ["BTC/USDT", "ETH/USDT"]
    t = trades[0]
    assert t["order"] == o1["id"]
    assert t["takerOrMaker"] == "taker"
    assert t["side"] == "buy"
    assert t["price"] == 100
    assert t["amount"] == 1
    assert t["cost"] == 100
    assert t["fee"] == {"currency": "USDT", "cost": 0.075, "rate": 0.00075}
    assert t["fees"] == [t["fee"]]
    assert [x["symbol"] for x in (await client.get("/trades?symbol=ETHUSDT")).json()] == ["ETH/USDT"]
    assert [x["symbol"] for x in (await client.get("/trades?limit=1")).json()] == ["ETH/USDT"]
    error(await client.get("/trades?limit=-1"), 400, "BadRequest")
    error(await client.get("/trades?symbol=???"), 400, "BadSymbol")
