"""Rate-limit headers and ``RATE_LIMITS=enforce`` (429 -1003 with Retry-After, then 418); faults on demand."""

from __future__ import annotations

import time
from collections.abc import Iterator

import ccxt
import httpx
import msgspec
import pytest

from app.settings import Settings
from tests.support.binance import KEY, SECRET, Native, Raw, binance_error, binance_server, binance_settings, ccxt_urls


@pytest.fixture
def strict(settings: Settings) -> Iterator[tuple[str, Native]]:
    limited = msgspec.structs.replace(
        binance_settings(settings), rate_limits="enforce", rate_limit_weight=50, rate_limit_orders=3
    )
    with binance_server(limited) as served:
        yield served


def test_usage_headers_are_always_reported(binance: tuple[str, Native]) -> None:
    raw = Raw(binance[0])
    first = raw.public("/api/v3/depth", symbol="BTCUSDT")
    second = raw.public("/api/v3/depth", symbol="BTCUSDT")
    assert int(second.headers["x-mbx-used-weight-1m"]) == int(first.headers["x-mbx-used-weight-1m"]) + 5
    placed = raw.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    assert placed.headers["x-mbx-order-count-10s"] == "1"
    assert placed.headers["x-mbx-order-count-1d"] == "1"
    for _ in range(5):  # off by default: nothing is refused
        assert raw.public("/api/v3/exchangeInfo").status_code == 200


def test_enforced_weight_429_then_418(strict: tuple[str, Native]) -> None:
    raw = Raw(strict[0])
    for _ in range(10):  # depth weighs 5: 10 fill the minute's 50
        assert raw.public("/api/v3/depth", symbol="BTCUSDT").status_code == 200
    over = raw.public("/api/v3/depth", symbol="BTCUSDT")
    msg = binance_error(over, -1003, status=429)
    assert msg.startswith("Too much request weight used; current limit is 50 request weight per 1 MINUTE.")
    assert 1 <= int(over.headers["retry-after"]) <= 60
    banned = raw.public("/api/v3/ping")  # kept going after the 429
    assert binance_error(banned, -1003, status=418).startswith("Way too much request weight used; IP banned until")
    assert int(banned.headers["retry-after"]) > 60
    with pytest.raises(ccxt.DDoSProtection):
        ccxt.binance({"apiKey": KEY, "secret": SECRET, "urls": ccxt_urls(ccxt.binance(), strict[0])}).fetch_time()


def test_enforced_order_rate(strict: tuple[str, Native]) -> None:
    raw = Raw(strict[0])
    for _ in range(3):
        assert raw.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET",
                          quantity="0.001").status_code == 200  # fmt: skip
    over = raw.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    assert binance_error(over, -1015, status=429) == "Too many new orders; current limit is 3 orders per 10 SECOND."
    assert "retry-after" in over.headers


def test_faults_on_demand(binance: tuple[str, Native]) -> None:
    base, native = binance
    raw = Raw(base)
    admin = native.http
    fault = {"route": "/api/v3/ticker/price", "symbol": "ETHUSDT", "count": 2, "code": -1007, "status": 408,
             "msg": "Timeout waiting for response"}  # fmt: skip
    armed = admin.post("/admin/faults", json=fault)
    assert armed.status_code == 201, armed.text
    assert raw.public("/api/v3/ticker/price", symbol="BTCUSDT").status_code == 200  # another symbol
    for _ in range(2):
        binance_error(raw.public("/api/v3/ticker/price", symbol="ETHUSDT"), -1007, "Timeout waiting for response",
                      status=408)  # fmt: skip
    assert raw.public("/api/v3/ticker/price", symbol="ETHUSDT").status_code == 200  # spent
    admin.post("/admin/faults", json={"route": "/api/v3/order", "status": 503})
    placed = raw.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    binance_error(placed, -1000, status=503)
    assert native.get("/orders") == []  # the fault came before the order
    admin.post("/admin/faults", json={"route": "/api/v3/time", "delayMs": 300})
    started = time.monotonic()
    assert raw.public("/api/v3/time").status_code == 200
    assert time.monotonic() - started >= 0.3
    admin.post("/admin/faults", json={"route": "/sapi/v1/system/status", "maintenance": True, "count": 1})
    assert raw.public("/sapi/v1/system/status").json() == {"status": 1, "msg": "system maintenance"}
    assert [f["maintenance"] for f in admin.get("/admin/faults").json()] == [True]
    assert len(admin.delete("/admin/faults").json()) == 1
    assert raw.public("/sapi/v1/system/status").json() == {"status": 0, "msg": "normal"}
    refused = httpx.post(f"{base}/admin/faults", json={"route": "/api/v3/time", "delayMs": 1},
                         headers={"x-api-key": "not-admin"})  # fmt: skip
    assert refused.status_code == 401
    assert admin.post("/admin/faults", json={"route": "/api/v3/time"}).status_code == 400
