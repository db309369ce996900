from decimal import Decimal
from pathlib import Path

import pytest

from app.settings import VARIABLES, Settings, SettingsError, Variable, default_data_dir, main, markdown_table


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


def test_an_empty_environment_gives_the_declared_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().data_dir == default_data_dir()


def test_every_field_declares_one_variable_and_no_name_is_used_twice() -> None:
    assert [v.field for v in VARIABLES] == list(Settings.__struct_fields__)
    names = [n for v in VARIABLES for n in v.names]
    assert len(names) == len(set(names))


def test_blank_values_leave_the_defaults() -> None:
    assert Settings.from_env({n: "  " for v in VARIABLES for n in v.names}) == Settings()


@pytest.mark.parametrize("var", [v for v in VARIABLES if v.default_text], ids=lambda v: v.name)
def test_the_documented_default_reads_back_as_the_default(var: Variable) -> None:
    assert Settings.from_env({var.name: var.default_text}) == Settings()


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


def test_every_other_setting_is_read() -> None:
    s = Settings.from_env(
        {
            "NAMESPACE": "ns-1",
            "PRICE_STREAM": "ns-1:prices",
            "PRICE_STREAM_MAXLEN": "10",
            "EVENTS_MAXLEN": "20",
            "CONSUMER_GROUP": "g",
            "SETTLE_CHUNK": "5000",
            "MARKETS": ' [{"symbol": "BTC/USDT"}] ',
            "MARKETS_FILE": "/etc/mockx/markets.json",
            "REDIS_TIMEOUT": "0.5",
            "REDIS_MAX_CONNECTIONS": "8",
            "MOCKX_DATA_DIR": "/var/lib/mockx",
            "API_SECRET": "s3cret",
            "ADMIN_API_KEY": "admin-key",
        }
    )
    assert s == Settings(
        namespace="ns-1",
        price_stream="ns-1:prices",
        price_stream_maxlen=10,
        events_maxlen=20,
        consumer_group="g",
        settle_chunk=5000,
        markets='[{"symbol": "BTC/USDT"}]',
        markets_file=Path("/etc/mockx/markets.json"),
        redis_timeout=0.5,
        redis_max_connections=8,
        data_dir=Path("/var/lib/mockx"),
        api_secret="s3cret",
        admin_api_key="admin-key",
    )


def test_keys_and_secrets_are_taken_as_given_whatever_their_length() -> None:
    s = Settings.from_env({"API_KEY": "k", "API_SECRET": "x" * 300, "ADMIN_API_KEY": " a "})
    assert (s.api_key, s.api_secret, s.admin_api_key) == ("k", "x" * 300, "a")
    assert (Settings().api_secret, Settings().admin_api_key) == ("", "")


def test_paths_expand_the_home_directory() -> None:
    s = Settings.from_env({"MOCKX_DATA_DIR": "~/mockx", "MARKETS_FILE": "~/markets.json"})
    assert s.data_dir == Path.home() / "mockx"
    assert s.markets_file == Path.home() / "markets.json"


def test_valkey_url_is_an_alias() -> None:
    assert Settings.from_env({"VALKEY_URL": "redis://v:1"}).redis_url == "redis://v:1"
    assert Settings.from_env({"REDIS_URL": " ", "VALKEY_URL": "redis://v:1"}).redis_url == "redis://v:1"
    assert Settings.from_env({"REDIS_URL": "redis://r:1", "VALKEY_URL": "redis://v:1"}).redis_url == "redis://r:1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(word, True) for word in ("true", "TRUE", "1", "yes", "On")],
        *[(word, False) for word in ("false", "0", "no", "OFF")],
    ],
)
def test_test_env_reads_the_usual_words(value: str, expected: bool) -> None:
    assert Settings.from_env({"TEST_ENV": value}).test_env is expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENGINE_PORT", "eighty"),
        ("ENGINE_PORT", "70000"),
        ("COMMISSION", "1.5"),
        ("COMMISSION", "abc"),
        ("COMMISSION", "NaN"),
        ("COMMISSION", "-0.001"),
        ("TICK_LOOP_SEC", "0"),
        ("TICK_LOOP_SEC", "inf"),
        ("TEST_ENV", "maybe"),
        ("CASH_ASSET", "US DT"),
        ("REDIS_URL", "localhost:6379"),
        ("VALKEY_URL", "localhost:6379"),
        ("SETTLE_CHUNK", "100000"),
        ("SETTLE_CHUNK", "0"),
        ("NAMESPACE", "my exchange"),
        ("PRICE_STREAM", "my prices"),
        ("REDIS_MAX_CONNECTIONS", "-1"),
        ("REDIS_TIMEOUT", "soon"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name) as raised:
        Settings.from_env({name: value})
    [var] = [v for v in VARIABLES if name in v.names]
    assert var.rule is not None
    assert str(raised.value) == f"{name}={value!r} is invalid: {var.rule.says}"


@pytest.mark.parametrize("key", ["", "invalid-key"])
def test_placeholder_api_key_is_refused_outside_test_env(key: str) -> None:
    with pytest.raises(SettingsError, match="API_KEY"):
        Settings.from_env({"API_KEY": key}).require_api_key()
    Settings.from_env({"API_KEY": key, "TEST_ENV": "1"}).require_api_key()


def test_the_markdown_option_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()
    assert main([]) == 2
