"""The dashboard in a real headless Chromium against a real stack (Valkey, the app under uvicorn).

Each test acts as a bot would, through the API (``stack.http``), and checks what the open page shows without
a reload; fills come from ticks (the admin's set-price, which returns once its fills are done). Every test
ends with no error in the browser console, and every request the page made went to the server itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.support.http import API_KEY
from tests.ui.conftest import Dashboard, Stack


def _market(stack: Stack) -> None:
    http = stack.http
    http.post("/admin/fund", json={"asset": "USDT", "amount": "100000"}).raise_for_status()
    http.patch("/admin/tickers/BTC/USDT/price", json={"price": "50000"}).raise_for_status()
    http.patch("/admin/tickers/ETH/USDT/price", json={"price": "3000"}).raise_for_status()
    http.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.5"}).raise_for_status()


def _plain(text: str) -> str:
    return text.replace(",", "").split(" ")[0]


def _cells(board: Dashboard, selector: str) -> list[list[str]]:
    rows: list[list[str]] = board.page.eval_on_selector_all(
        f"{selector} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return rows


def _limit(stack: Stack, side: str, amount: str, price: str) -> dict[str, Any]:
    body = {"symbol": "BTC/USDT", "side": side, "type": "limit", "amount": amount, "price": price}
    r = stack.http.post("/orders", json=body)
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


def _clean(board: Dashboard, stack: Stack) -> None:
    """No error in the console; every request went to the server (the page works offline)."""
    assert not board.errors, board.console
    origin = urlsplit(stack.url).netloc
    others = [u for u in board.requests if urlsplit(u).netloc != origin and not u.startswith("data:")]
    assert not others, others


def test_balances_and_capital_match_the_api(dashboard: Any, stack: Stack) -> None:
    _market(stack)
    board = dashboard(stack.url)
    expect(board.page.locator("#stream-status")).to_have_attribute("data-state", "live")
    expect(board.page.locator("#balances tbody tr")).to_have_count(2)
    assets = stack.http.get("/overview/assets").json()
    shown = {row[0]: [_plain(c) for c in row[1:]] for row in _cells(board, "#balances")}
    expected = {
        a["asset"]: [str(Decimal(str(a[k]))) for k in ("free", "used", "total", "price", "value")]
        for a in assets["assets"]
    }
    assert {k: [str(Decimal(x)) for x in v] for k, v in shown.items()} == expected
    balance = stack.http.get("/balance").json()
    assert Decimal(shown["BTC"][2]) == Decimal(str(balance["total"]["BTC"])) == Decimal("0.5")
    capital = stack.http.get("/overview/capital").json()
    assert board.page.get_attribute("#cap-equity", "data-exact") == str(capital["equity"])
    assert Decimal(_plain(board.page.inner_text("#cap-equity"))) == Decimal(str(capital["equity"])).quantize(
        Decimal("0.01")
    )
    expect(board.page.locator("#cap-net")).to_have_text("100,000.00 USDT")
    expect(board.page.locator("#health-status")).to_have_text("ok")
    expect(board.page.locator("#fills tbody tr")).to_have_count(1)
    assert _cells(board, "#fills")[0][-1] == "taker"
    expect(board.page.locator("#candle-chart")).to_have_attribute("data-markers", "1")
    board.shot("balances")
    _clean(board, stack)


def test_an_order_appears_live_and_is_canceled_from_the_page(dashboard: Any, stack: Stack) -> None:
    _market(stack)
    board = dashboard(stack.url)
    page = board.page
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.noReload = true")
    order = _limit(stack, "buy", "0.01", "49000")
    row = page.locator(f'#orders tr[data-order-id="{order["id"]}"]')
    expect(row).to_be_visible()
    expect(page.locator("#candle-chart")).to_have_attribute("data-price-lines", "1")
    expect(page.locator("#balances tbody tr[data-asset=USDT] td").nth(2)).to_have_text("490.3675")  # reserved
    board.shot("order-open")
    label = f"Cancel order {order['id']}"
    reached = []
    for _ in range(40):  # from the top of the page, the Tab key alone reaches the order's Cancel button
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.getAttribute('aria-label')"))
        if (reached[-1] or "").startswith(label):
            break
    assert (reached[-1] or "").startswith(label), reached
    assert {"account-select", "symbol-select", "timeframe-select"} <= set(reached), reached
    page.keyboard.press("Enter")  # the keyboard is enough
    expect(row).to_have_count(0)
    expect(page.locator("#orders-empty")).to_be_visible()
    expect(page.locator("#candle-chart")).to_have_attribute("data-price-lines", "0")
    assert stack.http.get(f"/orders/{order['id']}").json()["status"] == "canceled"
    assert page.evaluate("window.noReload") is True
    _clean(board, stack)


def test_a_tick_fills_an_order_the_marker_and_the_equity_follow(dashboard: Any, stack: Stack) -> None:
    _market(stack)
    board = dashboard(stack.url)
    page = board.page
    chart, curve = page.locator("#candle-chart"), page.locator("#equity-chart")
    expect(chart).to_have_attribute("data-markers", "1")
    expect(curve).to_have_attribute("data-flows", "1")  # the first funding
    before = Decimal(curve.get_attribute("data-equity") or "0")
    order = _limit(stack, "buy", "0.1", "49000")
    expect(page.locator(f'#orders tr[data-order-id="{order["id"]}"]')).to_be_visible()
    stack.http.patch("/admin/tickers/BTC/USDT/price", json={"price": "48000"}).raise_for_status()  # crosses it
    expect(page.locator(f'#orders tr[data-order-id="{order["id"]}"]')).to_have_count(0)
    expect(chart).to_have_attribute("data-markers", "2")
    fill = _cells(board, "#fills")[0]
    assert [fill[2], _plain(fill[3]), fill[-1]] == ["buy", "49000", "maker"], fill
    equity = stack.http.get("/overview/capital").json()["equity"]
    expect(curve).to_have_attribute("data-equity", str(equity))
    assert Decimal(str(equity)) < before  # bought at 49000, now worth 48000
    expect(page.locator("#candle-notes")).to_contain_text("buy fill 0.1 at 49000 (maker")
    stack.http.post("/admin/fund", json={"asset": "USDT", "amount": "5000"}).raise_for_status()
    expect(curve).to_have_attribute("data-flows", "2")  # the deposit is marked, not counted as profit
    expect(page.locator("#equity-notes")).to_contain_text("deposit of 5000 USDT")
    expect(page.locator("#cap-net")).to_have_text("105,000.00 USDT")
    board.shot("filled")
    _clean(board, stack)


def test_after_a_disconnect_the_stream_resumes_from_the_last_event(dashboard: Any, stack: Stack) -> None:
    _market(stack)
    board = dashboard(stack.url)
    page = board.page
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.noReload = true")
    last = page.evaluate("window.mockxStream.lastId")
    assert last
    page.evaluate("window.mockxStream.interrupt()")
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "reconnecting")
    order = _limit(stack, "sell", "0.2", "52000")  # while the page is away
    expect(page.locator("#stream-status")).to_have_text(f"live (resumed after {last})")
    expect(page.locator(f'#orders tr[data-order-id="{order["id"]}"]')).to_be_visible()
    assert page.evaluate("window.mockxStream.lastId") != last  # the missed events came through the stream
    assert page.evaluate("window.noReload") is True
    _clean(board, stack)


def test_events_trimmed_while_away_are_said_so_and_the_page_is_read_again(dashboard: Any, small_stack: Stack) -> None:
    stack = small_stack
    _market(stack)
    board = dashboard(stack.url)
    page = board.page
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.mockxStream.stop()")
    for _ in range(250):  # far more events than the capped stream keeps
        stack.http.post("/admin/fund", json={"asset": "ETH", "amount": "0.01"}).raise_for_status()
    page.evaluate("window.mockxStream.start()")
    expect(page.locator("#stream-status")).to_contain_text("some events were trimmed while away")
    expect(page.locator("#balances tbody tr[data-asset=ETH] td").nth(3)).to_have_text("2.5")
    _clean(board, stack)


def test_the_key_is_asked_once_and_a_wrong_one_is_said_so(dashboard: Any, secured_stack: Stack) -> None:
    stack = secured_stack
    _market(stack)
    board = dashboard(stack.url)
    page = board.page
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#main")).to_be_hidden()
    page.fill("#auth-key", "not-the-key")
    page.keyboard.press("Enter")
    expect(page.locator("#auth-error")).to_contain_text("The server refused this API key: invalid x-api-key")
    board.shot("wrong-key")
    refused = [e for e in board.errors if "401" in e]
    assert refused, board.console
    assert refused == board.errors, board.console  # only the refused request itself
    board.errors.clear()
    page.fill("#auth-key", API_KEY)
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_visible()
    expect(page.locator("#balances tbody tr")).to_have_count(2)
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "live")
    assert page.evaluate("sessionStorage.getItem('mockx.apiKey')") == API_KEY
    assert page.evaluate("document.cookie") == ""
    assert all(API_KEY not in url for url in board.requests)
    page.reload()  # kept for the session: not asked again
    expect(page.locator("#main")).to_be_visible()
    expect(page.locator("#auth")).to_be_hidden()
    expect(page.locator("#balances tbody tr")).to_have_count(2)
    _clean(board, stack)


def test_the_admin_switches_accounts(dashboard: Any, stack: Stack) -> None:
    _market(stack)
    body = {"name": "bot-1", "balances": {"USDT": "2500", "ETH": "2"}}
    stack.http.post("/admin/accounts", json=body).raise_for_status()
    board = dashboard(stack.url)
    page = board.page
    expect(page.locator("#balances tbody tr")).to_have_count(2)
    stack.http.post("/admin/accounts", json={"name": "bot-2"}).raise_for_status()  # made after the page opened
    page.focus("#account-select")
    expect(page.locator("#account-select option")).to_have_text(["default", "bot-1", "bot-2"])
    page.select_option("#account-select", "bot-1")
    expect(page.locator("#who")).to_have_text("admin key, acting on bot-1")
    expect(page.locator("#balances tbody tr[data-asset=ETH]")).to_be_visible()
    expect(page.locator("#cap-equity")).to_have_text("8,500.00 USDT")  # 2500 + 2 × 3000
    expect(page.locator("#fills-empty")).to_be_visible()
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "live")
    stack.http.post("/orders?account=bot-1", json={"symbol": "ETH/USDT", "side": "sell", "amount": "1"})
    expect(page.locator("#fills tbody tr")).to_have_count(1)
    board.shot("bot-1")
    _clean(board, stack)
