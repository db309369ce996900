"""Settings: one frozen struct, read from the environment once.

Every variable is documented in the README's configuration table and in ``.env.example``. An invalid
value stops the process at start with a message naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import msgspec

from app.engine.money import MoneyError, parse_decimal

T = TypeVar("T")

PLACEHOLDER_KEYS = frozenset({"", "invalid-key"})
_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the variable."""


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("mockx", appauthor=False))


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    engine_port: int = 8000
    api_key: str = ""
    commission: Decimal = Decimal("0.00075")
    cash_asset: str = "USDT"
    tick_loop_sec: float = 10.0
    test_env: bool = False
    redis_url: str | None = None
    data_dir: Path = msgspec.field(default_factory=default_data_dir)
    namespace: str = "mockx"
    price_stream: str = "mockx:prices"
    price_stream_maxlen: int = 100_000
    events_maxlen: int = 100_000
    consumer_group: str = "settlement"
    settle_chunk: int = 200
    markets: str = ""
    markets_file: Path | None = None
    redis_timeout: float = 5.0
    redis_max_connections: int = 64

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default: ``os.environ``); raise :class:`SettingsError`."""
        env = os.environ if env is None else env

        def get(name: str, parse: Callable[[str], T], default: T) -> T:
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return default
            try:
                return parse(raw.strip())
            except (ValueError, MoneyError) as exc:
                raise SettingsError(f"{name}={raw!r} is invalid: {exc}") from None

        data_dir = get("MOCKX_DATA_DIR", Path, None) or default_data_dir()
        redis_url = get("REDIS_URL", _url, None) or get("VALKEY_URL", _url, None)
        return cls(
            engine_port=get("ENGINE_PORT", _port, 8000),
            api_key=env.get("API_KEY", "").strip(),
            commission=get("COMMISSION", _rate, Decimal("0.00075")),
            cash_asset=get("CASH_ASSET", _asset, "USDT"),
            tick_loop_sec=get("TICK_LOOP_SEC", _positive_float, 10.0),
            test_env=get("TEST_ENV", _bool, False),
            redis_url=redis_url,
            data_dir=data_dir.expanduser(),
            namespace=get("NAMESPACE", _namespace, "mockx"),
            price_stream=get("PRICE_STREAM", _key, "mockx:prices"),
            price_stream_maxlen=get("PRICE_STREAM_MAXLEN", _positive_int, 100_000),
            events_maxlen=get("EVENTS_MAXLEN", _positive_int, 100_000),
            consumer_group=get("CONSUMER_GROUP", _key, "settlement"),
            settle_chunk=get("SETTLE_CHUNK", _chunk, 200),
            markets=env.get("MARKETS", "").strip(),
            markets_file=get("MARKETS_FILE", Path, None),
            redis_timeout=get("REDIS_TIMEOUT", _positive_float, 5.0),
            redis_max_connections=get("REDIS_MAX_CONNECTIONS", _positive_int, 64),
        )

    def require_api_key(self) -> None:
        """Outside TEST_ENV the API must not run with an empty or placeholder key."""
        if not self.test_env and self.api_key in PLACEHOLDER_KEYS:
            raise SettingsError(
                "API_KEY is empty or the placeholder 'invalid-key'. Set API_KEY to a secret of your own "
                "(for example: export API_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')),"
                " or set TEST_ENV=true to run without authentication."
            )


def _port(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("a port must be between 1 and 65535")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _chunk(raw: str) -> int:
    value = _positive_int(raw)
    if value > 5000:
        raise ValueError("must be at most 5000 (one Lua call must stay short)")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("must be a positive number of seconds")
    return value


def _rate(raw: str) -> Decimal:
    value = parse_decimal(raw, "COMMISSION")
    if not Decimal(0) <= value < Decimal(1):
        raise ValueError("a fee rate must be at least 0 and below 1 (0.00075 is 0.075 %)")
    return value


def _bool(raw: str) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("must be true or false")


def _asset(raw: str) -> str:
    value = raw.upper()
    if not _ASSET.match(value):
        raise ValueError("an asset code is 1-20 letters or digits, like USDT")
    return value


def _namespace(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", raw):
        raise ValueError("use 1-64 letters, digits, '_', '.' or '-'")
    return raw


def _key(raw: str) -> str:
    if not raw or any(c.isspace() for c in raw):
        raise ValueError("must be a non-empty name without spaces")
    return raw


def _url(raw: str) -> str:
    if not re.match(r"^(redis|rediss|valkey|valkeys|unix)://", raw):
        raise ValueError("must be a redis://, rediss://, valkey:// or unix:// URL")
    return raw
