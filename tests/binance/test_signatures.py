"""The signature matrix: every client's parameter order and placement, Ed25519, replays, tampering, bad keys.

The signature is checked over the raw query string followed by the raw body, each without ``signature``,
byte for byte as sent: parameters in any order, in the query, the body or both, percent-encoded or not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.binance import KEY, SECRET, Native

FORM = {"Content-Type": "application/x-www-form-urlencoded", "X-MBX-APIKEY": KEY}
ORDER = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000"


def _sig(text: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _now() -> int:
    return int(time.time() * 1000)


def _error(r: httpx.Response, status: int, code: int, msg: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["code"] == code, body
    if msg is not None:
        assert body["msg"] == msg


@pytest.fixture
def http(binance: tuple[str, Native]) -> Any:
    base, _ = binance
    with httpx.Client(base_url=base, timeout=10) as c:
        yield c


def test_ccxt_style_timestamp_first_recv_window_last(http: httpx.Client) -> None:
    query = f"timestamp={_now()}&omitZeroBalances=true&recvWindow=10000"
    r = http.get(f"/api/v3/account?{query}&signature={_sig(query)}", headers={"X-MBX-APIKEY": KEY})
    assert r.status_code == 200, r.text
    body = f"timestamp={_now()}&{ORDER}&newClientOrderId=x-TKT5PX2Fabc&newOrderRespType=FULL&recvWindow=10000"
    r = http.post("/api/v3/order", content=f"{body}&signature={_sig(body)}", headers=FORM)
    assert r.status_code == 200, r.text
    assert r.json()["clientOrderId"] == "x-TKT5PX2Fabc"


def test_python_binance_style_sorted_form_body_labelled_json(http: httpx.Client) -> None:
    body = f"price=50000&quantity=0.001&recvWindow=10000&side=BUY&symbol=BTCUSDT&timeInForce=GTC&timestamp={_now()}&type=LIMIT"  # noqa: E501
    headers = {"Content-Type": "application/json", "X-MBX-APIKEY": KEY}
    r = http.post("/api/v3/order", content=f"{body}&signature={_sig(body)}", headers=headers)
    assert r.status_code == 200, r.text
    order_id = r.json()["orderId"]
    body = f"orderId={order_id}&recvWindow=10000&symbol=BTCUSDT&timestamp={_now()}"
    r = http.request("DELETE", "/api/v3/order", content=f"{body}&signature={_sig(body)}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "CANCELED"


def test_sdk_style_post_in_the_query_without_recv_window(http: httpx.Client) -> None:
    query = f"{ORDER}&timestamp={_now()}"
    r = http.post(f"/api/v3/order?{query}&signature={_sig(query)}", headers={"X-MBX-APIKEY": KEY})
    assert r.status_code == 200, r.text


def test_split_between_query_and_body_signs_their_concatenation(http: httpx.Client) -> None:
    query, body = "symbol=BTCUSDT&side=BUY", f"type=MARKET&quantity=0.001&timestamp={_now()}"
    r = http.post(f"/api/v3/order?{query}", content=f"{body}&signature={_sig(query + body)}", headers=FORM)
    assert r.status_code == 200, r.text
    r = http.post(f"/api/v3/order?{query}", content=f"{body}&signature={_sig(query + '&' + body)}", headers=FORM)
    _error(r, 400, -1022, "Signature for this request is not valid.")


def test_percent_encoded_values_are_signed_as_sent(http: httpx.Client) -> None:
    encoded = quote('["BTCUSDT"]')
    query = f"symbols={encoded}&timestamp={_now()}"
    r = http.get(f"/api/v3/account?{query}&signature={_sig(query)}", headers={"X-MBX-APIKEY": KEY})
    assert r.status_code == 200, r.text
    decoded = f'symbols=["BTCUSDT"]&timestamp={_now()}'
    r = http.get(f"/api/v3/account?{query}&signature={_sig(decoded)}", headers={"X-MBX-APIKEY": KEY})
    _error(r, 400, -1022)


def test_ed25519_account(http: httpx.Client, binance: tuple[str, Native]) -> None:
    _, native = binance
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    created = native.post("/admin/accounts", {"name": "ed", "balances": {"USDT": "123"}, "ed25519PublicKey": pem})
    query = f"timestamp={_now()}&recvWindow=5000"
    signature = quote(base64.b64encode(private.sign(query.encode())).decode(), safe="")
    r = http.get(f"/api/v3/account?{query}&signature={signature}", headers={"X-MBX-APIKEY": created["apiKey"]})
    assert r.status_code == 200, r.text
    assert {b["asset"]: b["free"] for b in r.json()["balances"]}["USDT"] == "123.00000000"
    forged = quote(base64.b64encode(Ed25519PrivateKey.generate().sign(query.encode())).decode(), safe="")
    r = http.get(f"/api/v3/account?{query}&signature={forged}", headers={"X-MBX-APIKEY": created["apiKey"]})
    _error(r, 400, -1022)
    hmac_query = f"timestamp={_now()}"  # its HMAC secret signs as well
    r = http.get(f"/api/v3/account?{hmac_query}&signature={_sig(hmac_query, created['secret'])}",
                 headers={"X-MBX-APIKEY": created["apiKey"]})  # fmt: skip
    assert r.status_code == 200, r.text


def test_replay_outside_recv_window_and_future_timestamps(http: httpx.Client) -> None:
    old = f"timestamp={_now() - 6000}"
    _error(http.get(f"/api/v3/account?{old}&signature={_sig(old)}", headers={"X-MBX-APIKEY": KEY}), 400, -1021,
           "Timestamp for this request is outside of the recvWindow.")  # fmt: skip
    wide = f"timestamp={_now() - 6000}&recvWindow=10000"
    assert http.get(f"/api/v3/account?{wide}&signature={_sig(wide)}", headers={"X-MBX-APIKEY": KEY}).status_code == 200
    ahead = f"timestamp={_now() + 5000}"
    _error(http.get(f"/api/v3/account?{ahead}&signature={_sig(ahead)}", headers={"X-MBX-APIKEY": KEY}), 400, -1021,
           "Timestamp for this request was 1000ms ahead of the server's time.")  # fmt: skip
    too_wide = f"timestamp={_now()}&recvWindow=60001"
    _error(http.get(f"/api/v3/account?{too_wide}&signature={_sig(too_wide)}", headers={"X-MBX-APIKEY": KEY}), 400,
           -1131)  # fmt: skip


def test_tampered_body_is_refused_and_places_nothing(http: httpx.Client, binance: tuple[str, Native]) -> None:
    _, native = binance
    body = f"{ORDER}&timestamp={_now()}"
    tampered = body.replace("quantity=0.001", "quantity=0.002")
    _error(http.post("/api/v3/order", content=f"{tampered}&signature={_sig(body)}", headers=FORM), 400, -1022)
    assert native.get("/orders") == []


def test_keys_and_missing_parts(http: httpx.Client) -> None:
    query = f"timestamp={_now()}"
    signed = f"{query}&signature={_sig(query)}"
    _error(http.get(f"/api/v3/account?{signed}"), 401, -2014, "API-key format invalid.")
    _error(http.get(f"/api/v3/account?{signed}", headers={"X-MBX-APIKEY": "nope"}), 401, -2015,
           "Invalid API-key, IP, or permissions for action.")  # fmt: skip
    _error(http.get(f"/api/v3/account?{query}", headers={"X-MBX-APIKEY": KEY}), 400, -1102,
           "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")  # fmt: skip
    _error(http.get(f"/api/v3/account?signature={_sig('')}", headers={"X-MBX-APIKEY": KEY}), 400, -1102)
    twice = f"{query}&timestamp={_now()}"
    _error(http.get(f"/api/v3/account?{twice}&signature={_sig(twice)}", headers={"X-MBX-APIKEY": KEY}), 400, -1101)


def test_illegal_number_formats(http: httpx.Client) -> None:
    for quantity in ("1e-05", "-1", "0x10", "1,5", "١"):
        body = f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity={quote(quantity)}&timestamp={_now()}"
        r = http.post("/api/v3/order", content=f"{body}&signature={_sig(body)}", headers=FORM)
        _error(r, 400, -1100)
        assert "'quantity'" in r.json()["msg"]
