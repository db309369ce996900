"""Input from any caller, checked once: assets, amounts, statuses and the words of the closed vocabularies.

Every refusal is a :class:`app.engine.errors.BadRequest` whose sentence says what is accepted.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from app.engine.enums import STATUS_ALIASES, OrderStatus, choices
from app.engine.errors import BadRequest, ExchangeError
from app.engine.money import (
    MAX_EXPONENT,
    MoneyError,
    MoneyRangeError,
    check_range,
    parse_decimal,
    plain,
    read_decimal,
    to_minor,
)

E = TypeVar("E", bound=StrEnum)

_ASSET = re.compile(r"[A-Z0-9]{1,20}")
#: A clientOrderId (always matched in full: "abc\n" is not "abc").
CLIENT_ID = re.compile(r"[.A-Za-z0-9:/_-]{1,36}")
#: What an order id or a clientOrderId may look like; anything else names no order.
ORDER_KEY = re.compile(r"[.A-Za-z0-9:/_-]{1,64}")


def normalize_status(raw: str) -> OrderStatus:
    """ccxt statuses, and the older words (new, filled, partially_filled, ...) as aliases."""
    word = raw.lower()
    status = STATUS_ALIASES.get(word)
    if status is not None:
        return status
    try:
        return OrderStatus(word)
    except ValueError:
        words = ", ".join(OrderStatus)
        aliases = ", ".join(f"{alias} for {status}" for alias, status in STATUS_ALIASES.items())
        raise BadRequest(f"unknown order status {raw!r}; use one of: {words} (or the older words {aliases})") from None


def order_key(raw: object) -> str | None:
    """``raw`` as an order id or clientOrderId to look up, exactly as given; None if it can name no order.

    Nothing is stripped: ``"abc\n"`` or ``" abc"`` is not ``abc`` (they simply do not exist).
    """
    return raw if isinstance(raw, str) and ORDER_KEY.fullmatch(raw) else None


def normalize_asset(raw: str) -> str:
    asset = raw.upper()  # nothing stripped: "USDT\n" is no asset code
    if not _ASSET.fullmatch(asset):
        raise BadRequest(f"{raw!r} is not an asset code: use 1-20 letters or digits, like USDT")
    return asset


def word(enum: type[E], what: str, value: str, given: object = None) -> E:
    """``value`` as a member of ``enum``, or a BadRequest listing the valid words."""
    try:
        return enum(value)
    except ValueError:
        raise BadRequest(f"{what} must be {choices(enum)}, got {given if given is not None else value!r}") from None


def decimal(value: object, what: str) -> Decimal:
    try:
        return parse_decimal(value, what)
    except MoneyError as exc:
        raise BadRequest(str(exc)) from None


def positive(value: object, what: str = "amount", *, out_of_range: type[ExchangeError] = BadRequest) -> Decimal:
    """A number above zero; malformed or not positive is a BadRequest, beyond 10**±40 ``out_of_range``."""
    try:
        amount = read_decimal(value, what)
    except MoneyError as exc:
        raise BadRequest(str(exc)) from None
    if amount <= 0:
        given = plain(amount) if amount and abs(amount.adjusted()) <= MAX_EXPONENT else str(amount or 0)
        raise BadRequest(f"{what} must be positive, got {given}")
    try:
        return check_range(amount, what)
    except MoneyRangeError as exc:
        raise out_of_range(str(exc)) from None


def minor(amount: Decimal, what: str) -> int:
    try:
        return to_minor(amount, what)
    except MoneyError as exc:
        raise BadRequest(str(exc)) from None
