from decimal import Decimal

import pytest

from app.api.common.codec import json_encoder
from app.engine.models import Fee
from app.engine.money import (
    MAX_MINOR,
    MAX_UNITS,
    MoneyError,
    fee_for,
    from_minor,
    parse_decimal,
    price_str,
    round_cost,
    tidy,
    to_minor,
)


def test_minor_units_round_trip_exactly() -> None:
    assert to_minor(Decimal("0.1")) + to_minor(Decimal("0.2")) == to_minor(Decimal("0.3"))
    assert from_minor(30_000_000) == Decimal("0.3")
    assert str(from_minor(to_minor(Decimal("123.45678901")))) == "123.45678901"


def test_floats_are_taken_as_typed_not_as_binary() -> None:
    assert parse_decimal(0.1) == Decimal("0.1")
    assert parse_decimal(0.1) + parse_decimal(0.2) == Decimal("0.3")


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "inf", True, None, "1e"])
def test_parse_refuses_non_numbers(bad: object) -> None:
    with pytest.raises(MoneyError):
        parse_decimal(bad)


def test_to_minor_refuses_precision_sign_and_size() -> None:
    with pytest.raises(MoneyError, match="more than 8 decimal places"):
        to_minor(Decimal("0.000000001"))
    with pytest.raises(MoneyError, match="negative"):
        to_minor(Decimal("-1"))
    with pytest.raises(MoneyError, match="largest supported"):
        to_minor(MAX_UNITS + Decimal("0.00000001"))
    assert to_minor(MAX_UNITS) == MAX_MINOR
    assert MAX_MINOR < 2**63 - 1


def test_cost_rounds_half_even_and_fee_rounds_up() -> None:
    assert round_cost(Decimal("0.00000005"), Decimal("0.5")) == 2  # 2.5 minor -> 2
    assert round_cost(Decimal("0.00000007"), Decimal("0.5")) == 4  # 3.5 minor -> 4
    assert fee_for(1, Decimal("0.00075")) == 1
    assert fee_for(50_001_000_000, Decimal("0.00075")) == 37_500_750
    assert fee_for(0, Decimal("0.00075")) == 0


def test_tidy_and_json_print_the_exact_decimal() -> None:
    assert str(tidy(Decimal("0.30000000"))) == "0.3"
    assert str(tidy(Decimal("1E+2"))) == "100"
    assert price_str(Decimal("64000.50")) == "64000.5"
    encoded = json_encoder.encode(Fee(currency="USDT", cost=from_minor(30_000_000), rate=Decimal("0.00075")))
    assert encoded == b'{"currency":"USDT","cost":0.3,"rate":0.00075}'


def test_json_never_shows_exponents_or_float_artefacts() -> None:
    from app.api.common.codec import encode_json

    value = {
        "fee": from_minor(3),
        "big": from_minor(10**18),
        "sum": Decimal("0.1") + Decimal("0.2"),
        "n": [from_minor(1)],
    }
    assert encode_json(value) == b'{"fee":0.00000003,"big":10000000000,"sum":0.3,"n":[0.00000001]}'
    assert encode_json({"note": "1E-8 stays text", "id": "x:1E-8"}) == b'{"note":"1E-8 stays text","id":"x:1E-8"}'
