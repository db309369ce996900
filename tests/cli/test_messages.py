"""What the CLI says to a user who types something wrong, or looks at old prices: clear words, the documented
exit codes (2 for usage), common options before or after the command.
"""

from __future__ import annotations

import json
import time

import pytest
import redis

from app.settings import Settings
from tests.support.cli import Cli, shows
from tests.support.ports import free_port
from tests.support.waiting import wait_for


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("order", "BTC/USDT", "buy", "-1"), "amount"),
        (("can-execute", "BTC/USDT", "sell", "-0.5"), "amount"),
        (("fund", "USDT", "-5"), "amount"),
        (("withdraw", "USDT", "-1e3"), "amount"),
        (("set-price", "BTC/USDT", "-1"), "price"),
        (("order", "BTC/USDT", "buy", "1", "--price", "-2"), "price"),
    ],
)
def test_a_negative_number_is_not_an_unknown_option(cli: Cli, args: tuple[str, ...], name: str) -> None:
    said = cli.fails(2, *args)
    shows(said, f"{name} must be positive")
    assert "No such option" not in said


def test_an_unknown_option_is_still_named(cli: Cli) -> None:
    shows(cli.fails(2, "order", "BTC/USDT", "buy", "-1", "--pirce", "5"), "No such option", "--pirce", "--price")
    shows(cli.fails(2, "order", "BTC/USDT", "buy", "1", "--pirce", "5"), "No such option", "--price")


def test_a_limit_order_without_a_price_is_a_usage_error(cli: Cli) -> None:
    shows(cli.fails(2, "order", "BTC/USDT", "buy", "0.1", "--type", "limit"), "needs --price")


def test_a_count_that_is_not_a_number_says_so(cli: Cli) -> None:
    for option in ("--tail", "--limit"):
        said = cli.fails(2, "orders", option, "abc")
        shows(said, "whole number", "'abc'")
        assert "integer range" not in said
    shows(cli.fails(2, "trades", "--limit", "0"), "at least 1")


def test_the_common_options_come_before_the_command_too(cli: Cli) -> None:
    cli.ok("fund", "USDT", "100")
    assert json.loads(cli.ok("--json", "balance"))["total"] == {"USDT": 100}
    assert json.loads(cli.ok("--api-key", "anything", "balance", "--json"))["total"] == {"USDT": 100}
    nowhere = f"http://127.0.0.1:{free_port()}"
    shows(cli.fails(3, "--url", nowhere, "balance"), nowhere)  # the typed --url beats MOCKX_URL
    shows(cli.fails(3, "--url", "http://127.0.0.1:1", "balance", "--url", nowhere), nowhere)  # after it wins


def test_tickers_show_how_old_each_price_is(cli: Cli, settings: Settings) -> None:
    cli.ok("set-price", "ETH/USDT", "3000")
    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    try:  # a price from a feed that stopped twelve minutes ago
        then = int(time.time() * 1000) - 12 * 60_000 - 5_000
        client.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": "50000", "ts": str(then)})
    finally:
        client.close()
    wait_for(lambda: "BTC/USDT" in json.loads(cli.ok("tickers", "--json")), "the old tick to be applied")
    table = cli.ok("tickers")
    shows(table, "Age", "12 min ago", "just now")
    shows(cli.ok("ticker", "BTC/USDT"), "12 min ago")
