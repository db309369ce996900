"""Exact money: Decimal in Python, integer minor units in Valkey.

Every balance, amount, cost and fee is a whole number of *minor units*, ``10**-SCALE`` of a unit
(``SCALE = 8``, a satoshi for every asset). Valkey stores them as decimal strings and moves them with
``HINCRBY`` (signed 64-bit), so the hard ceiling is ``2**63 - 1`` minor units. MockX refuses any balance,
amount or order value above ``MAX_UNITS`` (10 000 000 000 units), which keeps every sum far from that
ceiling.

Prices are decimals with at most ``PRICE_DIGITS`` significant digits: that is what a Valkey sorted-set
score (an IEEE double) orders exactly, and the resting books are sorted sets keyed by price.

Rounding: the cost of a fill (price x amount) is rounded half-even to the minor unit; the fee
(cost x rate) is rounded up, as exchanges do.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal

SCALE = 8
QUANTUM = Decimal(1).scaleb(-SCALE)  # 0.00000001
MINOR_PER_UNIT = 10**SCALE
MAX_UNITS = Decimal(10) ** 10
MAX_MINOR = int(MAX_UNITS) * MINOR_PER_UNIT
PRICE_DIGITS = 15
# No amount, price or rate is anywhere near 10**40 or 10**-40: beyond, a number is refused when parsed, so
# no later arithmetic (remainders, quantizing) can overflow the context.
MAX_EXPONENT = 40

# Plenty of digits: products of two bounded decimals are always exact before we round them.
CTX = Context(prec=60)

# A number already in its shortest plain form ("0", "42", "0.05", never "007", "1.50" or "1E+2"). Text
# like this needs no normalising, and at most 40 characters it is always within MAX_EXPONENT.
PLAIN_NUMBER = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")
# What a number may look like as text: ASCII digits, an optional leading "-", an optional fraction and an
# optional exponent ("12", "-0.5", "064000.50", "1e-8"). No "+", no "5." or ".5", no "1_000", no spaces, no
# other digits ("١٢", "１２"), no NaN or Infinity.
DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
NOTATION = "a number in ASCII decimal notation, like 12, 0.05 or 1e-8"


class MoneyError(ValueError):
    """A number that cannot be money: not a number, negative, too precise or too large."""


class MoneyRangeError(MoneyError):
    """A well-formed number beyond what MockX represents (``10**±MAX_EXPONENT``)."""


def shown(value: object) -> str:
    """A user's value for a message: text quoted (control characters escaped), a number as itself."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, Decimal | int | float):
        return str(value)
    return f"a {type(value).__name__}"


def read_decimal(value: object, what: str = "amount") -> Decimal:
    """A user value (str, int, Decimal; floats via their shortest repr) as a finite Decimal; text only in
    :data:`DECIMAL_TEXT` notation. Its range is not checked (see :func:`parse_decimal`)."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # 0.1 -> "0.1": the number the user typed, not its binary approximation
    elif isinstance(value, str) and DECIMAL_TEXT.fullmatch(value):
        number = Decimal(value)
    else:
        raise MoneyError(f"{what} must be {NOTATION}, got {shown(value)}".lstrip())
    if not number.is_finite():
        raise MoneyError(f"{what} must be a finite number, got {shown(value)}".lstrip())
    return number


def check_range(number: Decimal, what: str = "amount") -> Decimal:
    """``number``, unless it is beyond ``10**±MAX_EXPONENT`` (then :class:`MoneyRangeError`)."""
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise MoneyRangeError(f"{what} {number} is out of range")
    return number


def parse_decimal(value: object, what: str = "amount") -> Decimal:
    """Parse a user value into a finite Decimal within range: the one parser of numbers from outside."""
    if type(value) is str and len(value) <= MAX_EXPONENT and PLAIN_NUMBER.fullmatch(value):
        return Decimal(value)  # the common case, already known to be finite and in range
    return check_range(read_decimal(value, what), what)


def to_minor(amount: Decimal, what: str = "amount") -> int:
    """Exact conversion to minor units; refuses more than ``SCALE`` decimals or more than ``MAX_UNITS``."""
    if amount < 0:
        raise MoneyError(f"{what} must not be negative, got {plain(amount)}")
    if amount > MAX_UNITS:
        raise MoneyError(f"{what} {plain(amount)} exceeds the largest supported value {plain(MAX_UNITS)}")
    minor = amount.scaleb(SCALE, CTX)
    if minor != minor.to_integral_value():
        raise MoneyError(f"{what} {plain(amount)} has more than {SCALE} decimal places")
    return int(minor)


def from_minor(minor: int | str) -> Decimal:
    """Minor units (int or the decimal string stored in Valkey) back to an exact Decimal."""
    return tidy(Decimal(int(minor)).scaleb(-SCALE, CTX))


def round_cost(price: Decimal, amount: Decimal) -> int:
    """Cost of ``amount`` at ``price`` in quote minor units, rounded half-even."""
    cost = CTX.multiply(price, amount).scaleb(SCALE, CTX)
    return int(cost.to_integral_value(rounding=ROUND_HALF_EVEN))


def fee_for(cost_minor: int, rate: Decimal) -> int:
    """Fee on a cost in minor units at ``rate``, rounded up to the next minor unit."""
    return int(CTX.multiply(Decimal(cost_minor), rate).to_integral_value(rounding=ROUND_CEILING))


def tidy(number: Decimal) -> Decimal:
    """The shortest exact form: ``0.30000000`` -> ``0.3``, ``1E+2`` -> ``100``."""
    if number == 0:
        return Decimal(0)
    normal = number.normalize(CTX)
    if "E+" in str(normal):  # a positive exponent: the only case a normalized Decimal prints so
        return normal.quantize(Decimal(1), context=CTX)
    return normal


def plain_digits(text: str) -> int:
    """Significant digits of a number written in PLAIN_NUMBER form (``0`` has one)."""
    return len(text.replace(".", "").lstrip("0")) or 1


def significant_digits(number: Decimal) -> int:
    text = str(number)
    if PLAIN_NUMBER.fullmatch(text):
        return plain_digits(text)
    return len(tidy(number).as_tuple().digits)


def plain(number: Decimal) -> str:
    """The shortest exact decimal text, never in exponent form: ``0.00000003``, ``100``."""
    text = str(number)
    return text if PLAIN_NUMBER.fullmatch(text) else format(tidy(number), "f")


def price_str(price: Decimal) -> str:
    """The canonical string of a price, as stored and used as a sorted-set score."""
    return plain(price)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is an exact multiple of ``step`` (both positive)."""
    return CTX.remainder(value, step) == 0
