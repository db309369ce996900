"""The price-stream contract: what parse_tick accepts, in which canonical form, and what it refuses."""

import re
from decimal import Decimal

import pytest

from app.engine.ticks import SETTLE_VALUES, MalformedTick, parse_tick
from app.store.scripts import source


@pytest.mark.parametrize(
    ("price", "canonical"),
    [
        ("64000.5", "64000.5"),
        ("064000.50", "64000.5"),
        ("1e3", "1000"),
        ("1E-8", "0.00000001"),
        ("0.00000001", "0.00000001"),
        ("10000000000", "10000000000"),
        ("1234567890.12345", "1234567890.12345"),
        ("0.123456789012345", "0.123456789012345"),
    ],
)
def test_prices_are_kept_in_their_shortest_exact_form(price: str, canonical: str) -> None:
    tick = parse_tick({"symbol": "btc-usdt", "price": price}, "1700000000000-0")
    assert tick.symbol == "BTC/USDT"
    assert tick.settle_values() == [canonical, canonical, canonical, "1700000000000", "", "", "", "", "", ""]


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("0", "must be positive"),
        ("0.000", "must be positive"),
        ("-1", "must be positive"),
        ("abc", "must be a number"),
        ("nan", "ASCII decimal notation"),
        (" 7 ", "ASCII decimal notation"),
        ("１２", "ASCII decimal notation"),
        ("1e400", "out of range"),
        ("10000000000.00000001", "above the largest supported value"),
        ("12345678901", "above the largest supported value"),
        ("1234567890.123456", "more than 15 significant digits"),
        ("0.1234567890123456", "more than 15 significant digits"),
    ],
)
def test_bad_prices_are_refused_with_the_reason(price: str, reason: str) -> None:
    with pytest.raises(MalformedTick, match=reason):
        parse_tick({"symbol": "BTC/USDT", "price": price}, "1700000000000-0")


def test_optional_fields() -> None:
    fields = {"symbol": "ETHUSDT", "price": "10", "bid": "9.90", "ask": "10.1", "ts": "5", "volume": "1.50"}
    tick = parse_tick(fields, "1700000000000-0")
    assert tick.settle_values() == ["10", "9.9", "10.1", "5", "1.5", "", "", "", "", ""]
    with pytest.raises(MalformedTick, match="above ask"):
        parse_tick({**fields, "bid": "10.2"}, "1-0")
    with pytest.raises(MalformedTick, match="must not be negative"):
        parse_tick({**fields, "volume": "-1"}, "1-0")
    with pytest.raises(MalformedTick, match="ts must be milliseconds"):
        parse_tick({**fields, "ts": "soon"}, "1-0")


def test_a_trade_print_and_a_published_book() -> None:
    fields = {
        "symbol": "BTC/USDT",
        "price": "100",
        "qty": "0.25",
        "bids": '[[99.5, 1], ["99", "2.50"]]',
        "asks": '[["100.5", 3]]',
    }
    tick = parse_tick(fields, "1700000000000-0")
    assert (tick.bid, tick.ask, tick.bid_qty, tick.ask_qty, tick.qty) == (
        Decimal("99.5"), Decimal("100.5"), 1, 3, Decimal("0.25"),
    )  # fmt: skip
    assert tick.settle_values()[7:] == ["0.25", '[["99.5","1"],["99","2.5"]]', '[["100.5","3"]]']
    assert parse_tick(tick.fields(), "1700000000000-0") == tick  # what fields() writes reads back the same
    many = "[" + ",".join(f"[{100 - i}, 1]" for i in range(30)) + "]"
    assert len(parse_tick({"symbol": "BTC/USDT", "price": "101", "bids": many}, "1-0").bids or ()) == 20
    kept = parse_tick({"symbol": "BTC/USDT", "price": "101", "bids": many}, "1-0", book_levels=5)
    assert [p for p, _ in kept.bids or ()] == [100, 99, 98, 97, 96]
    assert parse_tick({"symbol": "BTC/USDT", "price": "1", "asks": "[]"}, "1-0").asks == ()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("bids", "[[1, 2], [3, 4]]", r"best first \(prices falling\): bids\[1\]"),
        ("asks", "[[3, 1], [2, 1]]", r"best first \(prices rising\): asks\[1\]"),
        ("bids", "[[0, 1]]", r"bids\[0\] price must be positive"),
        ("bids", "[[1, -1]]", r"bids\[0\] qty must not be negative"),
        ("bids", "[[1e400, 1]]", "out of range"),
        ("asks", '[["NaN", 1]]', "ASCII decimal notation"),
        ("bids", "[[1]]", r"JSON array of \[price, qty\] pairs"),
        ("bids", "{}", r"JSON array of \[price, qty\] pairs"),
        ("bids", "nope", r"JSON array of \[price, qty\] pairs"),
        ("bids", '[["1.0000000000000001", 1]]', "more than 15 significant digits"),
        ("qty", "-1", "must not be negative"),
        ("bid", "98", "is not the best level of the bids, 99"),
    ],
)
def test_a_malformed_book_or_print_is_refused_with_the_reason(field: str, value: str, reason: str) -> None:
    fields = {"symbol": "BTC/USDT", "price": "100", "bids": "[[99, 1]]", field: value}
    with pytest.raises(MalformedTick, match=reason):
        parse_tick(fields, "1-0")


def test_the_scripts_read_as_many_values_per_tick_as_python_sends() -> None:
    stride = re.search(r"local TICK_VALUES = (\d+)", source("settle_batch"))
    assert stride is not None
    tick = parse_tick({"symbol": "BTC/USDT", "price": "1"}, "1-0")
    assert int(stride[1]) == len(tick.settle_values()) + 1 == SETTLE_VALUES + 1  # + the entry id
