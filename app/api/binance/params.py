"""How the Binance dialect reads a request: parameters from the raw query string and the raw form body.

Binance takes every parameter in the query string or in an ``application/x-www-form-urlencoded`` body,
whatever the method and whatever the ``Content-Type`` says (python-binance labels its form bodies
``application/json``). Each parameter is read once; a parameter sent twice is refused (-1101). The raw
bytes are kept for the signature (:mod:`app.api.binance.auth`). Every read checks the format as Binance does:
a number is plain decimal notation (``1e-05`` is -1100), a missing mandatory parameter is -1102.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request

from app.api.binance.errors import LEGAL_NUMBER, BinanceError, illegal, mandatory

_NUMBER = re.compile(LEGAL_NUMBER)
PRECISION = 8  # decimal places of every asset here
_INT = re.compile(r"[0-9]{1,20}")
SYMBOL_PATTERN = r"^[A-Z0-9-_.]{1,20}$"
_SYMBOL = re.compile(SYMBOL_PATTERN[1:-1])
CLIENT_ID_PATTERN = r"^[a-zA-Z0-9-_]{1,36}$"
_CLIENT_ID = re.compile(CLIENT_ID_PATTERN[1:-1])
_symbols_decoder = msgspec.json.Decoder(list[str])


class Params:
    """The parameters of one request (query first, then body), and the raw text they came from."""

    __slots__ = ("body", "query", "values")

    def __init__(self, query: str, body: str) -> None:
        self.query, self.body = query, body
        self.values: dict[str, str] = {}
        for raw in (query, body):
            if not raw:
                continue
            for key, value in parse_qsl(raw, keep_blank_values=True):
                if key in self.values:
                    raise BinanceError(-1101, "Duplicate values for a parameter detected.")
                self.values[key] = value

    @classmethod
    async def of(cls, request: Request[Any, Any, Any]) -> Params:
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = b"" if request.method == "GET" else await request.body()
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise BinanceError(-1100, "Illegal characters found in a parameter.") from None
        return cls(query, text)

    def __contains__(self, name: str) -> bool:
        return bool(self.values.get(name))

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if not value:
            if required:
                raise mandatory(name)
            return None
        return value

    def need(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def number(self, name: str, *, required: bool = False) -> Decimal | None:
        """A decimal in plain notation (``0.001``); an exponent or a sign is -1100, as on Binance."""
        value = self.text(name, required=required)
        if value is None:
            return None
        if not _NUMBER.fullmatch(value):
            raise illegal(name)
        number = Decimal(value)
        if number.normalize().as_tuple().exponent < -PRECISION:  # type: ignore[operator]
            raise BinanceError(-1111, f"Parameter '{name}' has too much precision.")
        return number

    def integer(self, name: str, *, required: bool = False, low: int = 0, high: int | None = None) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not _INT.fullmatch(value):
            raise illegal(name, "^[0-9]{1,20}$")
        number = int(value)
        if number < low or (high is not None and number > high):
            raise BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")
        return number

    def limit(self, default: int, most: int) -> int:
        value = self.integer("limit", low=1)
        return default if value is None else min(value, most)

    def flag(self, name: str) -> bool:
        value = self.text(name)
        if value is None:
            return False
        if value.lower() not in ("true", "false"):
            raise BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")
        return value.lower() == "true"

    def symbol(self, *, required: bool = True) -> str | None:
        value = self.text("symbol", required=required)
        if value is not None and not _SYMBOL.fullmatch(value):
            raise illegal("symbol", SYMBOL_PATTERN)
        return value

    def symbols(self) -> list[str] | None:
        """``symbols=["BTCUSDT","ETHUSDT"]`` (a JSON array), or None when not sent."""
        value = self.text("symbols")
        if value is None:
            return None
        try:
            names = _symbols_decoder.decode(value)
        except msgspec.DecodeError:
            raise illegal("symbols", SYMBOL_PATTERN) from None
        if not names:
            raise BinanceError(-1102, "Mandatory parameter 'symbols' was not sent, was empty/null, or malformed.")
        for name in names:
            if not _SYMBOL.fullmatch(name):
                raise illegal("symbols", SYMBOL_PATTERN)
        if len(set(names)) != len(names):
            raise BinanceError(-1151, "Symbol is present multiple times in the list.")
        return names

    def client_id(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not _CLIENT_ID.fullmatch(value):
            raise illegal(name, CLIENT_ID_PATTERN)
        return value

    def choice(self, name: str, choices: tuple[str, ...], code: int, msg: str, *, required: bool = False) -> str | None:
        value = self.text(name, required=required)
        if value is not None and value not in choices:
            raise BinanceError(code, msg)
        return value
