"""Settings: one frozen struct, read from the environment once.

Each field of :class:`Settings` is the one declaration of its setting: the field, its type and default, the
constraint its value must meet (``Meta`` and a :class:`Rule` in the type) and the environment variable with
its one-line doc (an :class:`Env` in the type). :func:`Settings.from_env` converts each variable with msgspec
against that type; an invalid value stops the process at start with a message naming the variable.

The README's configuration table is rendered from the declarations (``python -m app.settings --markdown``),
and tests check that it and ``.env.example`` show every variable with its default.
"""

from __future__ import annotations

import math
import os
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

PLACEHOLDER_KEYS = frozenset({"", "invalid-key"})


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the variable."""


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("mockx", appauthor=False))


# --- what a declaration is made of ------------------------------------------------------------------------


class Env(msgspec.Struct, frozen=True):
    """The environment side of a setting: its variable, its one-line doc (the README's "Meaning"), the names
    read when the variable is unset, and how the default reads in the docs when it is computed at start."""

    name: str
    doc: str
    aliases: tuple[str, ...] = ()
    shown: str | None = None


class Rule(msgspec.Struct, frozen=True):
    """What a valid value is, said when a value is not, with the steps msgspec's ``Meta`` cannot express:
    ``before`` rewrites the text before conversion, ``check`` accepts or refuses the converted value."""

    says: str
    before: Callable[[str], str] | None = None
    check: Callable[[Any], bool] | None = None


def _bool_word(text: str) -> str:
    """yes/no and on/off as well as the true/false/1/0 msgspec reads."""
    return {"yes": "true", "on": "true", "no": "false", "off": "false"}.get(text.lower(), text)


def _fee_rate(value: Decimal) -> bool:
    return value.is_finite() and Decimal(0) <= value < Decimal(1)


# The constraints settings share; a constraint's sentence is the one an invalid value is answered with.
Port = Annotated[int, Meta(ge=1, le=65535), Rule("a port must be between 1 and 65535")]
Count = Annotated[int, Meta(gt=0), Rule("must be a positive integer")]
Levels = Annotated[int, Meta(ge=1, le=1000), Rule("must be a whole number from 1 to 1000")]
ShardCount = Annotated[int, Meta(ge=1, le=64), Rule("must be a whole number from 1 to 64")]
Chunk = Annotated[
    int, Meta(gt=0, le=5000), Rule("must be a positive integer, at most 5000 (one Lua call must stay short)")
]
Seconds = Annotated[float, Meta(gt=0), Rule("must be a positive number of seconds", check=math.isfinite)]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> str:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d`` as seconds (a number msgspec then reads)."""
    body = text.strip().lower()
    unit = _UNITS.get(body[-1:]) if body else None
    if unit is None:
        return body
    try:
        return repr(float(body[:-1]) * unit)
    except ValueError:
        return text


Duration = Annotated[
    float,
    Meta(gt=0),
    Rule("must be a positive duration: seconds, or a number with s, m, h or d (7d)", before=_duration,
         check=math.isfinite),
]  # fmt: skip
FeeRate = Annotated[Decimal, Rule("a fee rate must be at least 0 and below 1 (0.00075 is 0.075 %)", check=_fee_rate)]
Flag = Annotated[bool, Rule("must be true or false", before=_bool_word)]
Asset = Annotated[
    str,
    Meta(pattern=r"^[A-Z0-9]{1,20}$"),
    Rule("an asset code is 1-20 letters or digits, like USDT", before=str.upper),
]
Namespace = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$"), Rule("use 1-64 letters, digits, '_', '.' or '-'")]
KeyName = Annotated[str, Meta(pattern=r"^\S+$"), Rule("must be a non-empty name without spaces")]
Memory = Annotated[
    str,
    Meta(pattern=r"^[0-9]+(b|kb|mb|gb)?$"),
    Rule("a size like 512mb or 2gb (b, kb, mb, gb), or bytes", before=str.lower),
]
FeeAssetRule = Annotated[
    str,
    Meta(pattern=r"^(quote|received)$"),
    Rule("must be quote or received", before=str.lower),
]
BookModel = Annotated[
    str,
    Meta(pattern=r"^(auto|published|synthetic)$"),
    Rule("must be auto, published or synthetic", before=str.lower),
]
MarketsPreset = Annotated[
    str,
    Meta(pattern=r"^(|binance)$"),
    Rule("must be binance, or empty for none", before=str.lower),
]
RateLimitMode = Annotated[
    str,
    Meta(pattern=r"^(off|enforce)$"),
    Rule("must be off or enforce", before=str.lower),
]
Url = Annotated[
    str,
    Meta(pattern=r"^(redis|rediss|valkey|valkeys|unix)://"),
    Rule("must be a redis://, rediss://, valkey:// or unix:// URL"),
]


# --- the settings -----------------------------------------------------------------------------------------


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting, declared once: ``field: Annotated[type, Env(variable, doc)] = default``."""

    engine_port: Annotated[Port, Env("ENGINE_PORT", "API port")] = 8000
    api_key: Annotated[
        str,
        Env(
            "API_KEY",
            "the `x-api-key` every request must send; required unless `TEST_ENV=true` (`mockx up` generates one)",
        ),
    ] = ""
    api_secret: Annotated[
        str,
        Env(
            "API_SECRET",
            "the secret of the default account (Binance-style HMAC signing); `mockx up` generates one",
        ),
    ] = ""
    admin_api_key: Annotated[str, Env("ADMIN_API_KEY", "a separate admin key; unset: `API_KEY` is the admin key")] = ""
    test_env: Annotated[Flag, Env("TEST_ENV", "`true` disables auth and serves the docs at `/docs` and `/redoc`")] = (
        False
    )
    commission: Annotated[
        FeeRate, Env("COMMISSION", "fee rate (0.075 %): the default of `MAKER_FEE` and `TAKER_FEE`")
    ] = Decimal("0.00075")
    maker_fee: Annotated[
        FeeRate | None,
        Env("MAKER_FEE", "fee rate of a fill of a resting order (maker); an account's own commission wins",
            shown="`COMMISSION`"),
    ] = None  # fmt: skip
    taker_fee: Annotated[
        FeeRate | None,
        Env("TAKER_FEE", "fee rate of a fill that takes (market, marketable limit); an account's own commission wins",
            shown="`COMMISSION`"),
    ] = None  # fmt: skip
    fee_asset: Annotated[
        FeeAssetRule,
        Env("FEE_ASSET", "`quote`: every fee in the quote asset; `received`: in the asset the fill delivers, as "
            "Binance spot (a buy pays in the base asset)"),
    ] = "quote"  # fmt: skip
    cash_asset: Annotated[Asset, Env("CASH_ASSET", "the currency portfolio values and PnL are expressed in")] = "USDT"
    markets: Annotated[str, Env("MARKETS", "markets declared up front, as JSON (see `app/engine/markets.py`)")] = ""
    markets_file: Annotated[Path | None, Env("MARKETS_FILE", "the same as a JSON file")] = None
    markets_preset: Annotated[
        MarketsPreset,
        Env(
            "MARKETS_PRESET",
            "`binance`: declare Binance spot's filters (tick, step, min/max qty, min notional) for the common "
            "symbols at start (see `app/engine/presets.py`); `MARKETS` / `MARKETS_FILE` override it per symbol",
        ),
    ] = ""
    rate_limits: Annotated[
        RateLimitMode,
        Env(
            "RATE_LIMITS",
            "the Binance dialect's limits: `off` only reports the `X-MBX-USED-WEIGHT-1M` / `X-MBX-ORDER-COUNT-*` "
            "headers, `enforce` answers 429 (-1003, `Retry-After`) over a limit, then 418 to a client that keeps going",
        ),
    ] = "off"
    rate_limit_weight: Annotated[
        Count, Env("RATE_LIMIT_WEIGHT", "request weight per minute per client IP of the Binance dialect")
    ] = 6000
    rate_limit_orders: Annotated[
        Count, Env("RATE_LIMIT_ORDERS", "new orders per 10 s per account of the Binance dialect")
    ] = 100
    redis_url: Annotated[
        Url | None,
        Env("REDIS_URL", "Valkey 7.2+ / Redis 7+ to use; unset: the embedded Valkey", aliases=("VALKEY_URL",)),
    ] = None
    redis_timeout: Annotated[Seconds, Env("REDIS_TIMEOUT", "socket timeout, seconds")] = 5.0
    redis_max_connections: Annotated[Count, Env("REDIS_MAX_CONNECTIONS", "connection pool size per process")] = 64
    maxmemory: Annotated[
        Memory,
        Env(
            "MAXMEMORY",
            "memory limit of the embedded Valkey (full: writes are refused, health warns from 90 %); "
            "a server at `REDIS_URL` keeps its own `maxmemory`",
        ),
    ] = "1gb"
    namespace: Annotated[Namespace, Env("NAMESPACE", "key prefix (hash tag) of the exchange's state")] = "mockx"
    shards: Annotated[
        ShardCount,
        Env("SHARDS", "how many shards (hash tags) the accounts are spread over; more for a Valkey Cluster"),
    ] = 1
    price_stream: Annotated[
        KeyName,
        Env("PRICE_STREAM", "the price stream publishers append to", shown="`<NAMESPACE>:prices` (`mockx:prices`)"),
    ] = ""
    price_stream_maxlen: Annotated[Count, Env("PRICE_STREAM_MAXLEN", "approximate cap of the price stream")] = 100_000
    events_maxlen: Annotated[
        Count,
        Env("EVENTS_MAXLEN", "approximate cap of the events stream (how far `Last-Event-ID` can resume)"),
    ] = 100_000
    events_queue: Annotated[
        Count,
        Env(
            "EVENTS_QUEUE",
            "events one `/events` subscriber may have waiting unread; more, and its stream is closed with the id "
            "to resume from",
        ),
    ] = 1000
    book_levels: Annotated[
        Levels,
        Env("BOOK_LEVELS", "book levels kept per side from a tick's `bids` / `asks` (the rest is dropped)"),
    ] = 20
    book_model: Annotated[
        BookModel,
        Env(
            "BOOK_MODEL",
            "the order book shown: `published` (the feed's `bids` / `asks` only), `synthetic` (derived from bid / "
            "ask, seeded), `auto` (published when the feed sends a book, else synthetic)",
        ),
    ] = "auto"
    book_seed: Annotated[int, Env("BOOK_SEED", "seed of the synthetic book's sizes (the same seed, the same book)")] = 0
    tape_maxlen: Annotated[
        Count, Env("TAPE_MAXLEN", "cap of each symbol's trade tape (public trades): the newest kept")
    ] = 1000
    market_maxlen: Annotated[
        Count, Env("MARKET_MAXLEN", "approximate cap of the market-data stream (the book diffs)")
    ] = 10_000
    consumer_group: Annotated[KeyName, Env("CONSUMER_GROUP", "consumer group of the settlement workers")] = "settlement"
    settle_chunk: Annotated[
        Chunk,
        Env("SETTLE_CHUNK", "most orders one settle call fills (bounds how long one Lua call runs)"),
    ] = 200
    tick_loop_sec: Annotated[
        Seconds,
        Env("TICK_LOOP_SEC", "period of the workers' sweep (re-check resting orders, pick up older price keys)"),
    ] = 10.0
    history_retention: Annotated[
        Duration,
        Env("HISTORY_RETENTION", "how long closed orders and trades are kept (`30m`, `12h`, `7d`, or seconds)",
            shown="`7d` (604800 s)"),
    ] = 7 * 86400.0  # fmt: skip
    history_max_orders: Annotated[
        Count,
        Env("HISTORY_MAX_ORDERS", "the most closed orders, and the most trades, each account keeps"),
    ] = 100_000
    history_chunk: Annotated[
        Chunk,
        Env("HISTORY_CHUNK", "most orders (and trades) one trim call removes (bounds how long one Lua call runs)"),
    ] = 100
    candles_1m: Annotated[
        Duration,
        Env("CANDLES_1M", "how long one-minute candles are kept (freqtrade asks for 1 000 at start-up)",
            shown="`2d` (172800 s)"),
    ] = 2 * 86400.0  # fmt: skip
    candles_1h: Annotated[
        Duration,
        Env("CANDLES_1H", "how long hourly candles are kept (a year of 1h ... 12h)", shown="`365d` (31536000 s)"),
    ] = 365 * 86400.0
    candles_1d: Annotated[
        Duration,
        Env("CANDLES_1D", "how long daily candles are kept", shown="`400d` (34560000 s)"),
    ] = 400 * 86400.0
    data_dir: Annotated[
        Path,
        Env(
            "MOCKX_DATA_DIR",
            "where the embedded Valkey keeps its AOF (and `mockx up` its API key and secret)",
            shown="user data dir",
        ),
    ] = msgspec.field(default_factory=default_data_dir)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default: ``os.environ``); raise :class:`SettingsError`.

        An unset or blank variable leaves the default; an alias is read only when the variables before it
        are unset or blank."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for var in VARIABLES:
            name = next((n for n in var.names if env.get(n, "").strip()), None)
            if name is not None:
                values[var.field] = var.parse(name, env[name])
        return cls(**values)

    def __post_init__(self) -> None:
        if not self.price_stream:  # unset: the price stream follows the namespace
            msgspec.structs.force_setattr(self, "price_stream", f"{self.namespace}:prices")

    def require_api_key(self) -> None:
        """Outside TEST_ENV the API must not run with an empty or placeholder key."""
        if not self.test_env and self.api_key in PLACEHOLDER_KEYS:
            raise SettingsError(
                "API_KEY is empty or the placeholder 'invalid-key'. Set API_KEY to a secret of your own "
                "(for example: export API_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')),"
                " or set TEST_ENV=true to run without authentication."
            )


# --- the declarations, collected --------------------------------------------------------------------------


class Variable(msgspec.Struct, frozen=True):
    """One setting as the environment and the docs see it, collected from its field of :class:`Settings`."""

    field: str
    type: Any
    env: Env
    rule: Rule | None
    default_text: str  # the value of the variable that gives the default; "" when it is unset or computed

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def names(self) -> tuple[str, ...]:
        """The variable, then its aliases: the first one set is read."""
        return (self.env.name, *self.env.aliases)

    @property
    def shown_default(self) -> str:
        """The default as the README shows it."""
        if self.default_text and not self.env.shown:
            return f"`{self.default_text}`"
        return self.env.shown or "—"

    def parse(self, name: str, raw: str) -> Any:
        """``raw``, the text of variable ``name``, converted to this setting's type."""
        text = raw.strip()
        rule = self.rule
        try:
            if rule is not None and rule.before is not None:
                text = rule.before(text)
            value = msgspec.convert(text, self.type, strict=False, dec_hook=_path)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"{name}={raw!r} is invalid: {rule.says if rule else exc}") from None
        if rule is not None and rule.check is not None and not rule.check(value):
            raise SettingsError(f"{name}={raw!r} is invalid: {rule.says}")
        return value


def _path(type_: type, value: object) -> object:
    if type_ is Path and isinstance(value, str):
        return Path(value).expanduser()
    raise NotImplementedError(type_)


def _markers(type_: Any) -> list[object]:
    """The ``Annotated`` metadata of ``type_``, its aliases and the members of its unions, outermost first."""
    found: list[object] = []
    if typing.get_origin(type_) is Annotated:
        found.extend(type_.__metadata__)
        found.extend(_markers(type_.__origin__))
    else:
        for arg in typing.get_args(type_):
            found.extend(_markers(arg))
    return found


def _text(default: object) -> str:
    if default is None or default is msgspec.NODEFAULT:
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def _collect() -> tuple[Variable, ...]:
    variables = []
    for f in msgspec.structs.fields(Settings):
        markers = _markers(f.type)
        envs = [m for m in markers if isinstance(m, Env)]
        rules = [m for m in markers if isinstance(m, Rule)]
        if len(envs) != 1:
            raise TypeError(f"Settings.{f.name} must declare exactly one Env(...)")
        variables.append(
            Variable(
                field=f.name, type=f.type, env=envs[0], rule=rules[0] if rules else None, default_text=_text(f.default)
            )
        )
    return tuple(variables)


VARIABLES: tuple[Variable, ...] = _collect()
"""Every setting, in the order :class:`Settings` declares them."""


def markdown_table() -> str:
    """The README's configuration table, one row per setting."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for var in VARIABLES:
        names = " / ".join(f"`{n}`" for n in var.names)
        rows.append(f"| {names} | {var.shown_default} | {var.env.doc} |")
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m app.settings --markdown`` prints the README's configuration table."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args != ["--markdown"]:
        print("usage: python -m app.settings --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
