"""The price-stream contract: what parse_tick accepts, in which canonical form, and what it refuses."""

import pytest

from app.engine.ticks import MalformedTick, parse_tick


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
    assert tick.settle_values() == [canonical, canonical, canonical, "1700000000000", "", "", ""]


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
    assert tick.settle_values() == ["10", "9.9", "10.1", "5", "1.5", "", ""]
    with pytest.raises(MalformedTick, match="above ask"):
        parse_tick({**fields, "bid": "10.2"}, "1-0")
    with pytest.raises(MalformedTick, match="must not be negative"):
        parse_tick({**fields, "volume": "-1"}, "1-0")
    with pytest.raises(MalformedTick, match="ts must be milliseconds"):
        parse_tick({**fields, "ts": "soon"}, "1-0")
