"""Accounts are isolated on every route: one account's key never reads, cancels or is charged for another's.

The route walk comes from the app's own route table (a new route is covered by itself): account A's key
visits every route with account B's order id in the path, and nothing of B (its order ids, its client order
id, its balances) may appear; B's order id answers 404 ``OrderNotFound`` exactly like an unknown id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import websockets
from litestar import Litestar
from litestar.testing import AsyncTestClient
from websockets.exceptions import ConnectionClosed

from app.api import create_app
from app.settings import Settings
from tests.support.accounts import ADMIN, as_account, endpoints, make_account
from tests.support.http import LiveServer, error
from tests.support.money import audit_problems
from tests.support.sse import sse, take

B_CID = "b-private-cid"
B_MARK = "7777.125"  # B's USDT, a number nothing of A's ever shows
B_DOGE = "4242.5"  # B's DOGE, the same


@pytest.fixture(params=[1, 3], ids=["one-shard", "three-shards"])
async def secured(auth_settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = msgspec.structs.replace(auth_settings, shards=request.param)
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def _two_accounts(http: Any) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """A (funded, no orders) and B (a resting order, a filled one, DOGE); returns them and B's order ids."""
    a = await make_account(http, "bot-a", balances={"USDT": 1000})
    b = await make_account(http, "bot-b", balances={"USDT": B_MARK, "DOGE": B_DOGE})
    assert (await http.patch("/admin/tickers/BTC/USDT/price", json={"price": 100}, headers=ADMIN)).status_code == 200
    resting = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 1, "price": 90, "clientOrderId": B_CID}
    ids = []
    for body in (resting, {"symbol": "BTC/USDT", "side": "buy", "amount": 1}):
        r = await http.post("/orders", json=body, headers=as_account(b))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return a, b, ids


async def test_a_sees_nothing_of_b_on_any_route(secured: Any) -> None:
    a, b, b_ids = await _two_accounts(secured)
    b_before = (await secured.get("/balance", headers=as_account(b))).json()
    for order_id in [*b_ids, B_CID]:
        sample = {"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "asset": "USDT", "order_id": order_id,
                  "name": "bot-b", "path": "btcusdt@trade"}  # fmt: skip
        for method, path in endpoints(secured.app, sample):
            if method == "WEBSOCKET" or path in ("/events", "/livez"):
                continue  # the event streams: test_events_carry_only_the_callers_account
            r = await secured.request(method, path, headers=as_account(a), json={"amount": 1})
            assert B_CID not in r.text or B_CID in path, (method, path, r.text)  # an error may echo the id asked
            assert "7777" not in r.text, (method, path, r.text)
            assert "DOGE" not in r.text, (method, path, r.text)
            assert "4242" not in r.text, (method, path, r.text)
            assert b["apiKey"] not in r.text, (method, path)
            if path.startswith("/admin"):
                error(r, 403, "PermissionDenied")
            elif path.startswith("/orders/") and path not in ("/orders/can_execute", "/orders/oco"):
                error(r, 404, "OrderNotFound")
    # A's own views are empty of orders and trades; B's are untouched (nothing canceled, nothing charged)
    assert (await secured.get("/orders", headers=as_account(a))).json() == []
    assert (await secured.get("/trades", headers=as_account(a))).json() == []
    b_orders = (await secured.get("/orders", headers=as_account(b))).json()
    assert [(o["id"], o["status"]) for o in b_orders] == [(b_ids[0], "open"), (b_ids[1], "closed")]
    b_after = (await secured.get("/balance", headers=as_account(b))).json()
    assert b_after["free"]["DOGE"] == float(B_DOGE)
    # A's deposits and withdrawals during the walk touched only A
    assert {k: v for k, v in b_after.items() if k not in ("timestamp", "datetime")} == {
        k: v for k, v in b_before.items() if k not in ("timestamp", "datetime")
    }
    assert await audit_problems(secured.app.state.exchange.settings) == []


async def test_an_unknown_id_and_another_accounts_id_answer_alike(secured: Any) -> None:
    a, _, b_ids = await _two_accounts(secured)
    for path in ("/orders/{}", "/orders/{}/cancel"):
        for order_id in (b_ids[0], "999999", B_CID):
            method = "GET" if path == "/orders/{}" else "POST"
            r = await secured.request(method, path.format(order_id), headers=as_account(a))
            message = error(r, 404, "OrderNotFound")
            assert B_CID not in message or order_id == B_CID
    error(await secured.delete(f"/orders/{b_ids[0]}", headers=as_account(a)), 404, "OrderNotFound")


async def test_an_account_key_cannot_name_another_account(secured: Any) -> None:
    a, b, _ = await _two_accounts(secured)
    for path in ("/balance", "/orders", "/trades", "/overview/assets", "/events"):
        error(await secured.get(path, params={"account": "bot-b"}, headers=as_account(a)), 403, "PermissionDenied")
        error(await secured.get(path, params={"account": "default"}, headers=as_account(a)), 403, "PermissionDenied")
    error(await secured.get("/events", params={"account": "*"}, headers=as_account(a)), 403, "PermissionDenied")
    r = await secured.get("/balance", params={"account": "bot-a"}, headers=as_account(a))  # its own: fine
    assert r.json()["total"] == {"USDT": 1000}
    assert (await secured.get("/balance", headers=as_account(b))).json()["total"]["DOGE"] == float(B_DOGE)


async def test_the_admin_acts_on_any_account_with_account_param(secured: Any) -> None:
    a, _, b_ids = await _two_accounts(secured)
    on_a = {"account": "bot-a"}
    funded = await secured.post("/admin/fund", params=on_a, json={"asset": "ETH", "amount": 2}, headers=ADMIN)
    assert funded.json()["free"] == 2
    limit = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 1, "price": 80}
    r = await secured.post("/orders", params=on_a, headers=ADMIN, json=limit)
    assert r.status_code == 201, r.text
    a_order = r.json()["id"]
    assert [o["id"] for o in (await secured.get("/orders", headers=as_account(a))).json()] == [a_order]
    assert (await secured.get("/balance", headers=as_account(a))).json()["used"]["USDT"] == 80.06  # with the fee
    got = await secured.get(f"/orders/{b_ids[0]}", params={"account": "bot-b"}, headers=ADMIN)
    assert got.json()["clientOrderId"] == B_CID
    error(await secured.get(f"/orders/{b_ids[0]}", headers=ADMIN), 404, "OrderNotFound")  # not the default's
    assert (await secured.get("/balance", headers=ADMIN)).json()["total"] == {}
    r = await secured.post(f"/orders/{a_order}/cancel", params=on_a, headers=ADMIN)
    assert r.json()["status"] == "canceled"
    error(await secured.get("/balance", params={"account": "nobody"}, headers=ADMIN), 404, "BadRequest")
    error(await secured.get("/balance", params={"account": "bad name"}, headers=ADMIN), 400, "BadRequest")
    # reset one account by name, then every account with all=true
    await secured.post("/admin/fund", json={"asset": "USDT", "amount": 5}, headers=ADMIN)
    assert (await secured.delete("/admin/data", params=on_a, headers=ADMIN)).status_code == 200
    assert (await secured.get("/balance", headers=as_account(a))).json()["total"] == {}
    assert (await secured.get("/balance", headers=ADMIN)).json()["total"] == {"USDT": 5}
    assert (await secured.post("/admin/reset", headers=ADMIN)).status_code == 200  # the default account only
    assert (await secured.get("/balance", headers=ADMIN)).json()["total"] == {}
    assert (await secured.get("/orders", params={"account": "bot-b"}, headers=ADMIN)).json() != []
    assert (await secured.post("/admin/reset", params={"all": "true"}, headers=ADMIN)).status_code == 200
    assert (await secured.get("/orders", params={"account": "bot-b"}, headers=ADMIN)).json() == []
    assert (await secured.get("/balance", params={"account": "bot-b"}, headers=ADMIN)).json()["total"] == {}
    assert (await secured.get("/balance", headers=as_account(a))).status_code == 200  # keys survive a reset
    assert await audit_problems(secured.app.state.exchange.settings) == []


async def test_delete_data_all_wipes_every_account(secured: Any) -> None:
    a, b, _ = await _two_accounts(secured)
    await secured.post("/admin/fund", json={"asset": "USDT", "amount": 5}, headers=ADMIN)
    assert (await secured.delete("/admin/data", headers=ADMIN)).status_code == 200
    assert (await secured.get("/balance", headers=as_account(b))).json()["total"]["DOGE"] == float(B_DOGE)
    assert (await secured.delete("/admin/data?all=true", headers=ADMIN)).status_code == 200
    for key in (ADMIN, as_account(a), as_account(b)):
        assert (await secured.get("/balance", headers=key)).json()["total"] == {}


async def test_rotated_and_deleted_keys_get_401_at_once(secured: Any) -> None:
    a, b, _ = await _two_accounts(secured)
    assert (await secured.post("/admin/accounts/bot-a/keys", headers=ADMIN)).status_code == 200
    assert (await secured.delete("/admin/accounts/bot-b", headers=ADMIN)).status_code == 200
    for key in (as_account(a), as_account(b)):
        for path in ("/balance", "/orders", "/events", "/tickers"):
            error(await secured.get(path, headers=key), 401, "AuthenticationError")


def _accounts_of(seen: list[dict[str, Any]]) -> set[str | None]:
    return {e["data"]["account"] for e in seen}


async def test_events_carry_only_the_callers_account(live_secured: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_secured.url, timeout=10) as http:
        a, b, _ = await _two_accounts(http)
        await http.post("/admin/fund", json={"asset": "USDT", "amount": 1}, headers=ADMIN)  # a default event
        await http.post("/balance/ETH/deposit", json={"amount": 3}, headers=as_account(a))  # A's last event

        def a_done(seen: list[dict[str, Any]]) -> bool:
            return any(e["event"] == "balance.changed" and "ETH" in e["data"]["data"]["assets"] for e in seen)

        async with http.stream("GET", "/events", params={"since": "all"}, headers=as_account(a)) as stream:
            seen = await take(sse(stream), a_done)
        assert _accounts_of(seen) == {"bot-a", None}
        assert {e["event"] for e in seen if e["data"]["account"] is None} >= {"ticker.updated", "market.created"}
        assert B_CID not in str(seen)

        async with http.stream("GET", "/events", params={"since": "all", "account": "*"}, headers=ADMIN) as stream:
            everything = await take(sse(stream), a_done)
        assert _accounts_of(everything) == {"bot-a", "bot-b", "default", None}

        params = {"since": "all", "types": "balance", "account": "bot-b"}
        async with http.stream("GET", "/events", params=params, headers=ADMIN) as stream:
            of_b = await take(sse(stream), lambda seen: len(seen) >= 2)
        assert _accounts_of(of_b) == {"bot-b"}

        async with http.stream("GET", "/events", params={"since": "all", "types": "balance"}, headers=ADMIN) as stream:
            (default,) = await take(sse(stream), lambda seen: len(seen) >= 1)
        assert default["data"]["account"] == "default"
        error(await http.get("/events", params={"account": "nobody"}, headers=ADMIN), 404, "BadRequest")

        # resuming from any event's id gives exactly the events after it (a cursor spans every shard)
        middle = len(everything) // 2
        resume = {"account": "*"}
        headers = {**ADMIN, "Last-Event-ID": everything[middle]["id"]}
        async with http.stream("GET", "/events", params=resume, headers=headers) as stream:
            rest = await take(sse(stream), a_done)
        assert [e["id"] for e in rest] == [e["id"] for e in everything[middle + 1 :]]

    ws_url = live_secured.url.replace("http", "ws") + "/events/ws?since=all"
    async with websockets.connect(ws_url, additional_headers=as_account(a), open_timeout=5) as ws:
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(len(seen))]
    assert [f["id"] for f in frames] == [e["id"] for e in seen]  # the same events as its SSE stream
    async with websockets.connect(ws_url + "&account=*", additional_headers=as_account(a), open_timeout=5) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    async with websockets.connect(ws_url, additional_headers=as_account(b), open_timeout=5) as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["account"] in ("bot-b", None)


@pytest.fixture(params=[1, 3], ids=["one-shard", "three-shards"])
def live_secured(auth_settings: Settings, request: pytest.FixtureRequest) -> Any:
    """With three shards bot-a and bot-b live on shards 1 and 2: their events come from streams of their own."""
    server = LiveServer(create_app(msgspec.structs.replace(auth_settings, shards=request.param))).start()
    yield server
    server.stop()
