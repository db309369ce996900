"""`mockx book` and `mockx prints`: the order book side by side, the public trades, --json, --limit."""

from __future__ import annotations

import json

import redis

from app.settings import Settings
from tests.support.cli import Cli, shows
from tests.support.waiting import wait_for


def test_book_and_prints(cli: Cli, settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    try:
        client.xadd(
            settings.price_stream,
            {"symbol": "BTC/USDT", "price": "64000.5", "qty": "0.25",
             "bids": '[["64000.5","1.5"],["64000","0.00000003"]]', "asks": '[["64001","2"]]'},
        )  # fmt: skip
    finally:
        client.close()
    wait_for(lambda: json.loads(cli.ok("book", "BTC/USDT", "--json"))["nonce"] == 1, "the book to be applied")
    book = json.loads(cli.ok("book", "BTCUSDT", "--json"))
    assert book["bids"] == [[64000.5, 1.5], [64000, 3e-8]]
    assert book["asks"] == [[64001, 2]]
    shows(cli.ok("book", "BTC/USDT"), "Bid amount", "Ask", "nonce 1", "64000.5", "0.00000003", "64001")
    assert json.loads(cli.ok("book", "BTC/USDT", "--limit", "1", "--json"))["bids"] == [[64000.5, 1.5]]

    (trade,) = json.loads(cli.ok("prints", "BTC/USDT", "--json"))
    assert (trade["id"], trade["side"], trade["price"], trade["amount"]) == ("1", "sell", 64000.5, 0.25)
    shows(cli.ok("prints", "BTC/USDT"), "sell", "64000.5", "0.25", "16000.125")

    cli.ok("set-price", "ETH/USDT", "2500")
    shows(cli.ok("book", "ETH/USDT"), "2500")
    assert "No public trades of ETH/USDT yet" in cli("prints", "ETH/USDT").err
    shows(cli.fails(1, "book", "DOGE/USDT"), "BadSymbol")
