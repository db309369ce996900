from decimal import Decimal

import pytest

from app.settings import Settings, SettingsError


def test_defaults_match_the_documented_ones() -> None:
    s = Settings.from_env({})
    assert (s.engine_port, s.commission, s.cash_asset, s.tick_loop_sec, s.test_env, s.redis_url) == (
        8000,
        Decimal("0.00075"),
        "USDT",
        10.0,
        False,
        None,
    )


def test_known_names_are_read() -> None:
    s = Settings.from_env(
        {
            "ENGINE_PORT": "9000",
            "API_KEY": "k",
            "COMMISSION": "0.001",
            "CASH_ASSET": "usdc",
            "TICK_LOOP_SEC": "2.5",
            "TEST_ENV": "true",
            "REDIS_URL": "redis://example:6379/0",
        }
    )
    assert (s.engine_port, s.api_key, s.commission, s.cash_asset, s.tick_loop_sec, s.test_env) == (
        9000,
        "k",
        Decimal("0.001"),
        "USDC",
        2.5,
        True,
    )
    assert s.redis_url == "redis://example:6379/0"


def test_valkey_url_is_an_alias() -> None:
    assert Settings.from_env({"VALKEY_URL": "redis://v:1"}).redis_url == "redis://v:1"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENGINE_PORT", "eighty"),
        ("ENGINE_PORT", "70000"),
        ("COMMISSION", "1.5"),
        ("COMMISSION", "abc"),
        ("TICK_LOOP_SEC", "0"),
        ("TEST_ENV", "maybe"),
        ("CASH_ASSET", "US DT"),
        ("REDIS_URL", "localhost:6379"),
        ("SETTLE_CHUNK", "100000"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize("key", ["", "invalid-key"])
def test_placeholder_api_key_is_refused_outside_test_env(key: str) -> None:
    with pytest.raises(SettingsError, match="API_KEY"):
        Settings.from_env({"API_KEY": key}).require_api_key()
    Settings.from_env({"API_KEY": key, "TEST_ENV": "1"}).require_api_key()
