"""Whatever a client sends, the dialect answers Binance's JSON error with a 4xx, never a 500; and with
``TEST_ENV=true`` a request without a key acts as the default account (an account's key is still checked)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.settings import Settings
from tests.support.binance import KEY, Native, Raw, binance_error, binance_server, binance_settings


@pytest.mark.parametrize(
    "params",
    [
        {"quantity": "0.000000001"},  # 9 decimals
        {"quantity": "1" * 21},
        {"quantity": ""},
        {"quantity": "0"},
        {"quantity": " 1"},
        {"quantity": "NaN"},
        {"quantity": "Infinity"},
        {"quantity": "99999999999999999999"},
        {"price": "0", "type": "LIMIT", "timeInForce": "GTC"},
        {"price": "1e3", "type": "LIMIT", "timeInForce": "GTC"},
        {"newClientOrderId": "bad id"},
        {"newOrderRespType": "ALL"},
        {"symbol": "BTC/USDT"},
        {"symbol": "X" * 21},
        {"side": ""},
        {"recvWindow": "-1"},
        {"recvWindow": "1e4"},
    ],
)
def test_bad_order_parameters_are_4xx(binance: tuple[str, Native], params: dict[str, str]) -> None:
    raw = Raw(binance[0])
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001", **params}
    r = raw.signed("POST", "/api/v3/order", **order)
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"code", "msg"}


def test_too_much_precision(binance: tuple[str, Native]) -> None:
    raw = Raw(binance[0])
    r = raw.signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.000000001")
    binance_error(r, -1111, "Parameter 'quantity' has too much precision.")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v3/depth", {"symbol": "BTCUSDT", "limit": "0"}),
        ("/api/v3/depth", {"symbol": "BTCUSDT", "limit": "-5"}),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": "x"}),
        ("/api/v3/ticker/24hr", {"symbols": "[BTCUSDT]"}),
        ("/api/v3/ticker/24hr", {"symbols": "[]"}),
        ("/api/v3/ticker/24hr", {"symbols": '["BTCUSDT","BTCUSDT"]'}),
        ("/api/v3/ticker/24hr", {"symbols": "[1]"}),
        ("/api/v3/exchangeInfo", {"symbols": "{}"}),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "fromId": "-1"}),
        ("/api/v3/trades", {"symbol": "\u00e9"}),
    ],
)
def test_bad_public_parameters_are_4xx(binance: tuple[str, Native], path: str, params: dict[str, str]) -> None:
    r = httpx.get(binance[0] + path, params=params)
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"code", "msg"}


def test_bad_signed_list_parameters_are_4xx(binance: tuple[str, Native]) -> None:
    raw = Raw(binance[0])
    for params in ({"startTime": "99999999999999999999"}, {"orderId": "1.5"}, {"limit": "5000"}, {"fromId": "x"}):
        for path in ("/api/v3/allOrders", "/api/v3/myTrades"):
            r = raw.signed("GET", path, symbol="BTCUSDT", **params)
            assert r.status_code in (200, 400), r.text  # limit above the most is capped, as Binance does
    r = httpx.post(binance[0] + "/api/v3/order", content=b"\xff\xfe", headers={"X-MBX-APIKEY": KEY})
    assert r.status_code == 400
    for timestamp in ("abc", "9" * 25, "-1"):
        r = httpx.get(f"{binance[0]}/api/v3/account?timestamp={timestamp}&signature={'0' * 64}",
                      headers={"X-MBX-APIKEY": KEY})  # fmt: skip
        binance_error(r, -1100)


@pytest.fixture
def open_server(settings: Settings) -> Iterator[tuple[str, Native]]:
    import msgspec

    with binance_server(msgspec.structs.replace(binance_settings(settings), test_env=True)) as served:
        yield served


def test_test_env_lets_a_keyless_request_act_as_the_default_account(open_server: tuple[str, Native]) -> None:
    base, _ = open_server
    r = httpx.get(f"{base}/api/v3/account")
    assert r.status_code == 200, r.text
    assert {b["asset"] for b in r.json()["balances"]} == {"BTC", "USDT"}
    binance_error(Raw(base, KEY, "wrong").signed("GET", "/api/v3/account"), -1022)
