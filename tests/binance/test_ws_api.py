"""The WebSocket API over a raw socket: framing, signatures over the sorted params as sent (numbers as their
JSON text), errors in REST's codes and words, Ed25519 session logon, and a user data subscription that
carries only its own account's events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.binance import KEY, SECRET, Native

Json = dict[str, Any]


def _payload(params: Json) -> str:
    def text(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    return "&".join(f"{k}={text(v)}" for k, v in sorted(params.items()))


def _signed(params: Json, key: str = KEY, secret: str = SECRET) -> Json:
    params = {**params, "apiKey": key, "timestamp": int(time.time() * 1000)}
    signature = hmac.new(secret.encode(), _payload(params).encode(), hashlib.sha256).hexdigest()
    return {**params, "signature": signature}


async def _ask(ws: Any, request: Json | str) -> Json:
    await ws.send(request if isinstance(request, str) else json.dumps(request))
    while True:
        answer: Json = json.loads(await ws.recv())
        if "subscriptionId" not in answer or "id" in answer:
            return answer


def _url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws-api/v3"


async def test_requests_answer_in_the_rest_words(binance: tuple[str, Native]) -> None:
    base, _ = binance
    async with websockets.connect(_url(base)) as ws:
        pong = await _ask(ws, {"id": 7, "method": "ping"})
        assert (pong["id"], pong["status"], pong["result"]) == (7, 200, {})
        (limit,) = pong["rateLimits"]  # the REST weight counter, as Binance reports it
        assert (limit["rateLimitType"], limit["interval"], limit["limit"]) == ("REQUEST_WEIGHT", "MINUTE", 6000)
        assert (await _ask(ws, {"id": 8, "method": "ping"}))["rateLimits"][0]["count"] > limit["count"]
        book = await _ask(ws, {"id": "b", "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5}})
        assert (book["status"], len(book["result"]["bids"])) == (200, 5)
        # quantity as a JSON number, signed as its text (python-binance does this)
        order = _signed({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                         "price": "50000", "quantity": 0.001})  # fmt: skip
        text = json.dumps({"id": "o1", "method": "order.place", "params": order})
        placed = await _ask(ws, text)
        assert placed["status"] == 200, placed
        assert placed["result"]["status"] == "NEW"
        tampered = {**order, "price": "50001"}
        refused = await _ask(ws, {"id": "o2", "method": "order.place", "params": tampered})
        assert (refused["id"], refused["status"]) == ("o2", 400)
        assert refused["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}
        poor = _signed({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "100"})
        broke = await _ask(ws, {"id": None, "method": "order.place", "params": poor})
        assert broke["error"] == {"code": -2010, "msg": "Account has insufficient balance for requested action."}
        assert broke["id"] is None
        unknown = await _ask(ws, {"id": 1, "method": "order.plac", "params": {}})
        assert (unknown["status"], unknown["error"]["code"]) == (400, -1102)
        garbage = await _ask(ws, "{nope")
        assert (garbage["id"], garbage["error"]["code"]) == (None, -1135)
        stale = _signed({"symbol": "BTCUSDT", "orderId": placed["result"]["orderId"]})
        stale["timestamp"] -= 60_000
        assert (await _ask(ws, {"id": 2, "method": "order.status", "params": stale}))["error"]["code"] == -1021


async def test_user_data_carries_only_its_account(binance: tuple[str, Native]) -> None:
    base, native = binance
    other = native.post("/admin/accounts", {"name": "other", "balances": {"USDT": "1000"}})
    async with websockets.connect(_url(base)) as ws:
        sub = await _ask(ws, {"id": 1, "method": "userDataStream.subscribe.signature",
                              "params": _signed({}, other["apiKey"], other["secret"])})  # fmt: skip
        assert sub["result"] == {"subscriptionId": 0}
        native.post("/orders", {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.001",
                                "price": "50000"})  # the default account's: not on this stream  # fmt: skip
        mine = _signed({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                        "price": "40000", "quantity": "0.001"}, other["apiKey"], other["secret"])  # fmt: skip
        await ws.send(json.dumps({"id": 2, "method": "order.place", "params": mine}))
        events: list[Json] = []
        while len(events) < 2:
            message = json.loads(await ws.recv())
            if "subscriptionId" in message:
                events.append(message["event"])
        report, position = events
        assert (report["e"], report["x"], report["p"]) == ("executionReport", "NEW", "40000.00000000")
        assert position["e"] == "outboundAccountPosition"
        assert {b["a"]: b["f"] for b in position["B"]}["USDT"] == "959.97000000"
        native.fund("USDT", "25.5", account="other")  # a deposit: its delta, then the account's position
        native.fund("USDT", "1")  # the default account's: not on this stream
        flows: list[Json] = []
        while len(flows) < 2:
            message = json.loads(await ws.recv())
            if "subscriptionId" in message:
                flows.append(message["event"])
        assert flows[0] == {"e": "balanceUpdate", "E": flows[0]["E"], "a": "USDT", "d": "25.50000000",
                            "T": flows[0]["T"]}  # fmt: skip
        assert {b["a"]: b["f"] for b in flows[1]["B"]}["USDT"] == "985.47000000"
        assert (await _ask(ws, {"id": 3, "method": "userDataStream.unsubscribe"}))["result"] == {}


async def test_an_oco_list_reports_its_status(binance: tuple[str, Native]) -> None:
    base, native = binance
    async with websockets.connect(_url(base)) as ws:
        await _ask(ws, {"id": 1, "method": "userDataStream.subscribe.signature", "params": _signed({})})
        oco = _signed({"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "aboveType": "LIMIT_MAKER",
                       "abovePrice": "61000", "belowType": "STOP_LOSS", "belowStopPrice": "59000"})  # fmt: skip
        placed = await _ask(ws, {"id": 2, "method": "orderList.place.oco", "params": oco})
        assert placed["status"] == 200, placed
        list_id = placed["result"]["orderListId"]
        native.price("BTC/USDT", "61001", bid="61000", ask="61002")  # the limit leg fills; the stop is canceled
        statuses: list[Json] = []
        while len(statuses) < 2:
            message = json.loads(await ws.recv())
            if message.get("event", {}).get("e") == "listStatus":
                statuses.append(message["event"])
        assert [(s["g"], s["c"], s["l"], s["L"]) for s in statuses] == [
            (list_id, "OCO", "EXEC_STARTED", "EXECUTING"), (list_id, "OCO", "ALL_DONE", "ALL_DONE")]  # fmt: skip
        assert sorted(o["i"] for o in statuses[0]["O"]) == sorted(o["orderId"] for o in placed["result"]["orders"])


async def test_an_ed25519_session_logs_on_once(binance: tuple[str, Native]) -> None:
    base, native = binance
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    ed = native.post("/admin/accounts", {"name": "ed", "balances": {"USDT": "500"}, "ed25519PublicKey": pem})
    params: Json = {"apiKey": ed["apiKey"], "timestamp": int(time.time() * 1000)}
    params["signature"] = base64.b64encode(private.sign(_payload(params).encode())).decode()
    async with websockets.connect(_url(base)) as ws:
        logon = await _ask(ws, {"id": "l", "method": "session.logon", "params": params})
        assert logon["status"] == 200, logon
        account = await _ask(ws, {"id": "a", "method": "account.status", "params": {}})  # no signature now
        assert {b["asset"]: b["free"] for b in account["result"]["balances"]}["USDT"] == "500.00000000"
        sub = await _ask(ws, {"id": "s", "method": "userDataStream.subscribe"})
        assert sub["result"] == {"subscriptionId": 0}
        await _ask(ws, {"id": "x", "method": "session.logout"})
        after = await _ask(ws, {"id": "a2", "method": "account.status", "params": {}})
        assert after["error"]["code"] == -2014  # logged out: a request needs its key and signature again
