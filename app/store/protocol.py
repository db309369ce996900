"""The words Python and the Lua scripts exchange: return codes, placement modes, settle phases, guards.

Each script's header (``app/store/lua/*.lua``) lists which of these it takes and returns; a Python enum
mirrors each set so no caller writes the literals. The values are what travels in ``ARGV`` and replies.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Code(IntEnum):
    """Return codes shared by every Lua script; each script lists the ones it returns."""

    OK = 0
    INSUFFICIENT_FUNDS = 1
    DUPLICATE_CLIENT_ID = 2
    PRICE_MOVED = 3
    BALANCE_LIMIT = 4
    NOT_FOUND = 5
    NOT_OPEN = 6


class PlaceMode(StrEnum):
    """What ``place_order.lua`` does with a planned order."""

    REST = "rest"  # reserve the funds and put the order in the book
    FILL = "fill"  # fill it now, as a taker, at the planned price
    EXPIRE = "expire"  # record it as expired (IOC/FOK that cannot fill)
    TRIGGER = "trigger"  # reserve the funds and put the order in its trigger index (stop-loss, take-profit)


class Guard(StrEnum):
    """What must still hold when a resting order is placed (the book may have moved since planning)."""

    NONE = ""
    ASK_ABOVE = "ask>"  # a resting buy: the ask is still above its limit
    BID_BELOW = "bid<"  # a resting sell: the bid is still below its limit
    LAST_BELOW = "last<"  # an up trigger: the last price is still below it
    LAST_ABOVE = "last>"  # a down trigger: the last price is still above it


class SettlePhase(StrEnum):
    """Which step of settling a tick a ``settle_tick`` call is (its ARGV ``phase``, and ``mode`` reply)."""

    FIRST = "first"  # the first call for a tick: move the ticker, then fill
    NORMAL = "n"  # a continuation of a tick that is the newest: every crossed order fills
    LATE = "l"  # a continuation of a late tick: only orders placed before it fill
    SWEEP = "sweep"  # re-check resting orders against the ticker as it is
