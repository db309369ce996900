"""Input from any caller, checked once: assets, amounts, statuses and the words of the closed vocabularies.

Every refusal is a :class:`app.engine.errors.BadRequest` whose sentence says what is accepted.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from app.engine.enums import STATUS_ALIASES, OrderStatus, choices
from app.engine.errors import BadRequest
from app.engine.money import MoneyError, parse_decimal, price_str, to_minor

E = TypeVar("E", bound=StrEnum)

_ASSET = re.compile(r"[A-Z0-9]{1,20}")
CLIENT_ID = re.compile(r"[.A-Za-z0-9:/_-]{1,36}")


def normalize_status(raw: str) -> OrderStatus:
    """ccxt statuses, and the older words (new, filled, partially_filled, ...) as aliases."""
    word = raw.strip().lower()
    status = STATUS_ALIASES.get(word)
    if status is not None:
        return status
    try:
        return OrderStatus(word)
    except ValueError:
        words = ", ".join((*OrderStatus, *STATUS_ALIASES))
        raise BadRequest(f"unknown order status {raw!r}; use one of: {words}") from None


def normalize_asset(raw: str) -> str:
    asset = raw.strip().upper()
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


def positive(value: object, what: str = "amount") -> Decimal:
    amount = decimal(value, what)
    if amount <= 0:
        raise BadRequest(f"{what} must be positive, got {price_str(amount) if amount else 0}")
    return amount


def minor(amount: Decimal, what: str) -> int:
    try:
        return to_minor(amount, what)
    except MoneyError as exc:
        raise BadRequest(str(exc)) from None
