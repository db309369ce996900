"""The admin's account routes: create, list, show, rotate, reset, delete, with every status they answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.api import create_app
from app.settings import Settings
from tests.support.accounts import ADMIN, as_account, ed25519_pem, endpoints, make_account
from tests.support.http import API_KEY, error
from tests.support.money import audit_problems


@pytest.fixture
async def secured(auth_settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(auth_settings)) as c:
        yield c


async def test_create_returns_the_key_and_secret_once(secured: Any) -> None:
    pem = ed25519_pem()
    body = await make_account(
        secured, "bot-1", balances={"usdt": "10000", "BTC": 0.5}, commission="0.001", ed25519PublicKey=pem
    )
    assert body["name"] == "bot-1"
    assert len(body["apiKey"]) == 64
    assert len(body["secret"]) == 64
    assert body["apiKey"] != body["secret"]
    assert isinstance(body["createdAt"], int)
    assert body["createdAt"] > 1_600_000_000_000
    assert body["commission"] == 0.001
    assert body["ed25519PublicKey"] == pem
    assert body["balances"] == {
        "USDT": {"asset": "USDT", "free": 10000, "used": 0, "total": 10000},
        "BTC": {"asset": "BTC", "free": 0.5, "used": 0, "total": 0.5},
    }
    # later reads show the key, never the secret
    for r in (
        await secured.get("/admin/accounts", headers=ADMIN),
        await secured.get("/admin/accounts/bot-1", headers=ADMIN),
    ):
        assert r.status_code == 200, r.text
        assert body["secret"] not in r.text
        assert '"secret"' not in r.text
        assert body["apiKey"] in r.text
    shown = (await secured.get("/admin/accounts/bot-1", headers=ADMIN)).json()
    assert shown == {k: v for k, v in body.items() if k not in ("secret", "balances")}
    # the new key acts on the new account
    r = await secured.get("/balance", headers=as_account(body))
    assert r.status_code == 200
    assert r.json()["total"] == {"USDT": 10000, "BTC": 0.5}
    assert (await secured.get("/balance", headers=ADMIN)).json()["total"] == {}
    assert await audit_problems(secured.app.state.exchange.settings) == []


async def test_list_shows_the_default_account_first_with_the_admin_key(secured: Any) -> None:
    await make_account(secured, "zeta")
    await make_account(secured, "alpha")
    r = await secured.get("/admin/accounts", headers=ADMIN)
    assert r.status_code == 200
    listed = r.json()
    assert [a["name"] for a in listed] == ["default", "alpha", "zeta"]
    assert listed[0] == {"name": "default", "apiKey": API_KEY, "createdAt": None, "commission": None,
                         "ed25519PublicKey": None}  # fmt: skip
    assert (await secured.get("/admin/accounts/default", headers=ADMIN)).json() == listed[0]


async def test_duplicates_are_409(secured: Any) -> None:
    await make_account(secured, "bot-1")
    error(await secured.post("/admin/accounts", json={"name": "bot-1"}, headers=ADMIN), 409, "BadRequest")
    error(await secured.post("/admin/accounts", json={"name": "default"}, headers=ADMIN), 409, "BadRequest")


@pytest.mark.parametrize("name", ["", "x" * 65, "bad name", "bad/name", "bät", "a:b", "a|b", 7, None])
async def test_bad_names_are_400(secured: Any, name: Any) -> None:
    error(await secured.post("/admin/accounts", json={"name": name}, headers=ADMIN), 400, "BadRequest")
    assert [a["name"] for a in (await secured.get("/admin/accounts", headers=ADMIN)).json()] == ["default"]


async def test_edge_names_are_fine(secured: Any) -> None:
    for name in ("a", "x" * 64, "A.b_c-9"):
        assert (await make_account(secured, name))["name"] == name
        assert (await secured.get(f"/admin/accounts/{name}", headers=ADMIN)).status_code == 200


@pytest.mark.parametrize(
    "extra",
    [
        {"commission": 1},
        {"commission": "-0.001"},
        {"commission": "NaN"},
        {"balances": {"USDT": -1}},
        {"balances": {"USDT": 0}},
        {"balances": {"USDT": "abc"}},
        {"balances": {"USDT": "0.123456789"}},
        {"balances": {"US DT": 1}},
        {"balances": {"usdt": 1, "USDT": 2}},
        {"ed25519PublicKey": "not a key"},
        {"ed25519PublicKey": ed25519_pem(b"short")},
        {"apiKey": "chosen-by-me"},
        {"secret": "chosen-by-me"},
    ],
)
async def test_bad_bodies_are_400_and_create_nothing(secured: Any, extra: dict[str, Any]) -> None:
    r = await secured.post("/admin/accounts", json={"name": "bot-1", **extra}, headers=ADMIN)
    error(r, 400, "BadRequest")
    error(await secured.get("/admin/accounts/bot-1", headers=ADMIN), 404, "BadRequest")


async def test_show_unknown_is_404_and_bad_name_400(secured: Any) -> None:
    message = error(await secured.get("/admin/accounts/nobody", headers=ADMIN), 404, "BadRequest")
    assert "nobody" in message
    error(await secured.get("/admin/accounts/bad%20name", headers=ADMIN), 400, "BadRequest")


async def test_rotate_returns_a_new_key_and_the_old_one_stops_at_once(secured: Any) -> None:
    old = await make_account(secured, "bot-1", balances={"USDT": 5})
    r = await secured.post("/admin/accounts/bot-1/keys", headers=ADMIN)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["name"] == "bot-1"
    assert new["createdAt"] == old["createdAt"]
    assert new["apiKey"] != old["apiKey"]
    assert new["secret"] != old["secret"]
    assert len(new["secret"]) == 64
    error(await secured.get("/balance", headers=as_account(old)), 401, "AuthenticationError")
    assert (await secured.get("/balance", headers=as_account(new))).json()["total"] == {"USDT": 5}
    assert (await secured.get("/admin/accounts/bot-1", headers=ADMIN)).json()["apiKey"] == new["apiKey"]
    error(await secured.post("/admin/accounts/nobody/keys", headers=ADMIN), 404, "BadRequest")
    error(await secured.post("/admin/accounts/default/keys", headers=ADMIN), 400, "BadRequest")


async def test_reset_wipes_only_that_account(secured: Any) -> None:
    bot = await make_account(secured, "bot-1", balances={"USDT": 100})
    await secured.post("/admin/fund", json={"asset": "USDT", "amount": 7}, headers=ADMIN)
    r = await secured.post("/admin/accounts/bot-1/reset", headers=ADMIN)
    assert r.status_code == 200
    assert r.json()["ok"] is True
    assert (await secured.get("/balance", headers=as_account(bot))).json()["total"] == {}  # the key still works
    assert (await secured.get("/balance", headers=ADMIN)).json()["total"] == {"USDT": 7}
    r = await secured.post("/admin/accounts/default/reset", headers=ADMIN)
    assert r.status_code == 200
    assert (await secured.get("/balance", headers=ADMIN)).json()["total"] == {}
    error(await secured.post("/admin/accounts/nobody/reset", headers=ADMIN), 404, "BadRequest")


async def test_delete_cancels_releases_and_removes_everything(secured: Any) -> None:
    bot = await make_account(secured, "bot-1", balances={"USDT": 1000})
    await secured.patch("/admin/tickers/BTC/USDT/price", json={"price": 100}, headers=ADMIN)
    key = as_account(bot)
    resting = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 1, "price": 90}
    assert (await secured.post("/orders", json=resting, headers=key)).status_code == 201
    assert (
        await secured.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1}, headers=key)
    ).status_code == 201
    r = await secured.delete("/admin/accounts/bot-1", headers=ADMIN)
    assert r.status_code == 200, r.text
    error(await secured.get("/balance", headers=key), 401, "AuthenticationError")
    error(await secured.get("/admin/accounts/bot-1", headers=ADMIN), 404, "BadRequest")
    error(await secured.delete("/admin/accounts/bot-1", headers=ADMIN), 404, "BadRequest")
    error(await secured.delete("/admin/accounts/default", headers=ADMIN), 400, "BadRequest")
    assert await audit_problems(secured.app.state.exchange.settings) == []
    # the name is free again, and the new account starts empty
    again = await make_account(secured, "bot-1")
    assert (await secured.get("/balance", headers=as_account(again))).json()["total"] == {}
    assert (await secured.get("/orders", headers=as_account(again))).json() == []
    assert (await secured.get("/trades", headers=as_account(again))).json() == []


async def test_every_admin_route_is_403_for_an_account_key(secured: Any) -> None:
    bot = await make_account(secured, "bot-1", balances={"USDT": 10})
    other = await make_account(secured, "bot-2")
    sample = {
        "symbol": "BTCUSDT",
        "base": "BTC",
        "quote": "USDT",
        "asset": "USDT",
        "order_id": "1",
        "name": "bot-2",
        "path": "0",
    }
    admin_routes = [(m, p) for m, p in endpoints(secured.app, sample) if p.startswith("/admin")]
    assert len(admin_routes) >= 14, admin_routes
    for method, path in admin_routes:
        r = await secured.request(
            method, path, headers=as_account(bot), json={"name": "bot-3", "asset": "USDT", "amount": 1}
        )
        error(r, 403, "PermissionDenied")
    # nothing changed: bot-2 is still there with its key, bot-3 was not created, bot-1 kept its money
    assert (await secured.get("/balance", headers=as_account(other))).status_code == 200
    assert [a["name"] for a in (await secured.get("/admin/accounts", headers=ADMIN)).json()] == [
        "default",
        "bot-1",
        "bot-2",
    ]
    assert (await secured.get("/balance", headers=as_account(bot))).json()["total"] == {"USDT": 10}


async def test_a_separate_admin_key(auth_settings: Settings) -> None:
    settings = msgspec.structs.replace(auth_settings, admin_api_key="the-admin-key")
    async with AsyncTestClient(app=create_app(settings)) as c:
        admin = {"x-api-key": "the-admin-key"}
        assert (await c.post("/admin/fund", json={"asset": "USDT", "amount": 3}, headers=admin)).status_code == 200
        # API_KEY is the default account's key, but no longer the admin's
        assert (await c.get("/balance", headers={"x-api-key": API_KEY})).json()["total"] == {"USDT": 3}
        error(await c.get("/admin/accounts", headers={"x-api-key": API_KEY}), 403, "PermissionDenied")
        error(await c.get("/balance?account=default", headers={"x-api-key": "nope"}), 401, "AuthenticationError")
        bot = await make_account(c, "bot-1", headers=admin)
        r = await c.get("/balance", params={"account": "bot-1"}, headers=admin)
        assert r.status_code == 200
        assert r.json()["total"] == {}
        error(
            await c.get("/balance", params={"account": "bot-1"}, headers={"x-api-key": API_KEY}),
            403,
            "PermissionDenied",
        )
        assert (await c.get("/balance", headers=as_account(bot))).status_code == 200


async def test_test_env_without_a_key_is_the_admin_and_account_keys_still_count(client: Any) -> None:
    bot = await make_account(client, "bot-1", headers={}, balances={"USDT": 2})
    assert (await client.get("/admin/accounts")).status_code == 200
    assert (await client.get("/balance")).json()["total"] == {}
    assert (await client.get("/balance", headers=as_account(bot))).json()["total"] == {"USDT": 2}
    error(await client.get("/admin/accounts", headers=as_account(bot)), 403, "PermissionDenied")
    error(await client.get("/balance", params={"account": "default"}, headers=as_account(bot)), 403, "PermissionDenied")
