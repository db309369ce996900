"""`mockx export`: every order or trade still held, oldest first, page after page, as CSV or JSON Lines."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import httpx

from tests.support.cli import Cli
from tests.support.processes import Server


def _trade(api: Server, closed: int, canceled: int) -> None:
    with httpx.Client(base_url=api.url, timeout=10) as http:
        assert http.post("/admin/fund", json={"asset": "USDT", "amount": 1000000}).status_code == 200
        assert http.patch("/admin/tickers/BTC/USDT/price", json={"price": 50000}).status_code == 200
        for _ in range(closed):
            assert http.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.01"}).is_success
        for i in range(canceled):
            body = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.01", "price": "40000",
                    "clientOrderId": f"c{i}"}  # fmt: skip
            order = http.post("/orders", json=body).json()
            assert http.delete(f"/orders/{order['id']}").is_success


def test_export_walks_every_page_oldest_first(cli: Cli, api: Server, tmp_path: Path) -> None:
    _trade(api, closed=5, canceled=2)
    out = tmp_path / "orders.csv"
    result = cli.exits(0, "export", "orders", "--format", "csv", "--page", "2", "-o", str(out))
    assert "7 orders written to" in result.err, str(result)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    assert [r["status"] for r in rows] == ["closed"] * 5 + ["canceled"] * 2
    assert [r["clientOrderId"] for r in rows[5:]] == ["c0", "c1"]
    assert {r["amount"] for r in rows} == {"0.01"}
    assert Decimal(rows[0]["fee"]) == Decimal(rows[0]["cost"]) * Decimal("0.00075")  # the default commission
    assert rows[0]["feeCurrency"] == "USDT"

    lines = cli.ok("export", "trades", "--page", "3").splitlines()
    held = httpx.get(f"{api.url}/trades", timeout=10).text
    assert [json.loads(line, parse_float=Decimal) for line in lines] == json.loads(held, parse_float=Decimal)
    assert len(lines) == 5


def test_export_of_nothing_writes_nothing_and_says_so(cli: Cli) -> None:
    result = cli.exits(0, "export", "trades", "--format", "csv")
    assert result.out.splitlines() == [
        "id,order,timestamp,datetime,symbol,type,side,takerOrMaker,price,amount,cost,fee,feeCurrency"
    ]
    assert "0 trades written" in result.err
