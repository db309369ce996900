"""The dashboard's routes without a browser: the page and its files are public and only what is shipped; the
equity curve, whoami and health follow the API's rules for keys and accounts; the files are in the wheel."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app.api import create_app
from app.api.dashboard.routes import FILES, STATIC
from app.settings import Settings
from tests.support.http import API_KEY, error

ROOT = Path(__file__).resolve().parents[2]
VENDOR = STATIC / "vendor" / "lightweight-charts"
ADMIN = {"x-api-key": API_KEY}


@pytest.fixture
async def secured(settings: Settings) -> AsyncIterator[Any]:
    auth = msgspec.structs.replace(settings, test_env=False, api_key=API_KEY)
    async with AsyncTestClient(app=create_app(auth)) as c:
        yield c


async def _account(client: Any, name: str) -> dict[str, str]:
    r = await client.post("/admin/accounts", json={"name": name, "balances": {"USDT": "1000"}}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"x-api-key": r.json()["apiKey"]}


async def test_the_page_and_its_files_are_public_and_only_what_is_shipped(secured: Any) -> None:
    r = await secured.get("/ui")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert "script-src 'self'" in csp  # no inline script, nothing from elsewhere
    for src in re.findall(r'(?:src|href)="(/ui/[^"]+)"', r.text):
        assert (await secured.get(src)).status_code == 200, src
    r = await secured.get("/ui/static/js/app.js")
    assert r.headers["content-type"].startswith("text/javascript")
    assert (await secured.get("/ui/static/css/dashboard.css")).headers["content-type"].startswith("text/css")
    for path in ("/ui/static/js/nope.js", "/ui/static/../routes.py", "/ui/static/%2e%2e/routes.py", "/ui/static/"):
        assert (await secured.get(path)).status_code == 404, path
    assert "/static/index.html" not in FILES


async def test_the_dashboards_own_routes_need_the_key_and_follow_the_account_rules(secured: Any) -> None:
    for path in ("/ui/api/whoami", "/ui/api/equity", "/ui/api/health"):
        error(await secured.get(path), 401, "AuthenticationError")
        error(await secured.get(path, headers={"x-api-key": "wrong"}), 401, "AuthenticationError")
    bot = await _account(secured, "bot-1")
    await _account(secured, "bot-2")
    admin = (await secured.get("/ui/api/whoami", headers=ADMIN)).json()
    assert admin == {
        "account": "default",
        "admin": True,
        "accounts": ["default", "bot-1", "bot-2"],
        "cashAsset": "USDT",
    }
    own = (await secured.get("/ui/api/whoami", headers=bot)).json()
    assert own == {"account": "bot-1", "admin": False, "accounts": [], "cashAsset": "USDT"}
    error(await secured.get("/ui/api/health", headers=bot), 403, "PermissionDenied")
    health = await secured.get("/ui/api/health", headers=ADMIN)
    assert health.status_code == 200
    assert health.json()["valkey"]["reachable"] is True
    curve = (await secured.get("/ui/api/equity", headers=bot)).json()
    assert curve["account"] == "bot-1"
    assert [(p["equity"], p["netDeposits"]) for p in curve["points"]] == [(1000, 1000)]
    assert (await secured.get("/ui/api/equity?account=bot-1", headers=ADMIN)).json()["account"] == "bot-1"
    error(await secured.get("/ui/api/equity?account=bot-2", headers=bot), 403, "PermissionDenied")
    unknown = await secured.get("/balance?account=nobody", headers=ADMIN)  # as every account route answers it
    assert (await secured.get("/ui/api/equity?account=nobody", headers=ADMIN)).json() == unknown.json()
    assert unknown.status_code >= 400


def test_the_vendored_chart_library_is_pinned_with_its_licence() -> None:
    library = (VENDOR / "lightweight-charts.standalone.production.js").read_text(encoding="utf-8")
    assert "TradingView Lightweight Charts™ v5.2.1" in library[:300]
    assert 'function Qr(){return"5.2.1"}' in library  # the build's own version()
    assert "Apache License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")
    assert "TradingView, Inc." in (VENDOR / "NOTICE").read_text(encoding="utf-8")
    note = (VENDOR / "README.md").read_text(encoding="utf-8")
    assert "lightweight-charts@5.2.1" in note
    assert "sha512-" in note
    urls = set(re.findall(r"https?://[^\"'\s)?]*", library))  # an SVG namespace, its licence, the attribution link
    assert urls == {
        "http://www.w3.org/2000/svg",
        "https://www.apache.org/licenses/LICENSE-2.0",
        "https://www.tradingview.com/",
    }


def test_the_wheel_ships_every_static_file(tmp_path: Path) -> None:
    """The files are package data: a wheel built from the tree holds each of them (pip builds it, no upload)."""
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)]
    done = subprocess.run(build, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("mockx-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("app/api/dashboard/static/")}
    expected = {
        f"app/api/dashboard/{p.relative_to(STATIC.parent).as_posix()}" for p in STATIC.rglob("*") if p.is_file()
    }
    assert shipped == expected
