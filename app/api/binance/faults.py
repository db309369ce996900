"""Faults on demand: the next N requests of the Binance dialect that match a route (and a symbol) fail.

An admin arms a fault with ``POST /admin/faults``; each matching request then, before it reaches its route,
waits ``delayMs`` (if given) and answers the fault's Binance error (``code``, ``msg``, HTTP ``status``) or a
bare 5xx (``status`` alone), until ``count`` requests have met it. ``GET /admin/faults`` lists the armed faults
and what is left of each, ``DELETE /admin/faults`` disarms them all. ``maintenance: true`` makes
``/sapi/v1/system/status`` report maintenance for as long as the fault is armed. Faults live in the API
process that armed them (point a test at one API process).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import Body
from msgspec import Meta

from app.api.binance.errors import BinanceError
from app.api.common.auth import admin_guard
from app.api.native.errors import responses
from app.engine.errors import BadRequest

_ids = itertools.count(1)


class FaultBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A fault to arm: which requests (``route``, optional ``symbol``) and what they get."""

    route: Annotated[str, Meta(min_length=1, max_length=200, description="a path, like /api/v3/order")]
    count: Annotated[int, Meta(ge=1, le=1_000_000)] = 1
    symbol: Annotated[str, Meta(max_length=20)] | None = None
    method: Annotated[str, Meta(max_length=8)] | None = None
    code: Annotated[int, Meta(ge=-99999, le=0)] | None = None
    msg: Annotated[str, Meta(max_length=500)] | None = None
    status: Annotated[int, Meta(ge=400, le=599)] | None = None
    delayMs: Annotated[int, Meta(ge=0, le=60_000)] = 0
    maintenance: bool = False


class Fault(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    route: str
    symbol: str | None
    method: str | None
    code: int | None
    msg: str | None
    status: int | None
    delayMs: int
    maintenance: bool
    remaining: int


def _faults(state: Any) -> list[Fault]:
    faults: list[Fault] | None = getattr(state, "binance_faults", None)
    if faults is None:
        faults = state.binance_faults = []
    return faults


def maintenance(state: Any) -> bool:
    return any(f.maintenance for f in _faults(state))


def _matches(fault: Fault, method: str, path: str, symbol: str | None) -> bool:
    if fault.route.rstrip("/") != path.rstrip("/") or fault.maintenance:
        return False
    if fault.method is not None and fault.method.upper() != method:
        return False
    return fault.symbol is None or fault.symbol == symbol


async def apply(state: Any, method: str, path: str, symbol: str | None) -> None:
    """Spend one request of the first fault matching this request, and act it out (delay, then error)."""
    faults = _faults(state)
    for i, fault in enumerate(faults):
        if _matches(fault, method, path, symbol):
            if fault.remaining <= 1:
                del faults[i]
            else:
                faults[i] = msgspec.structs.replace(fault, remaining=fault.remaining - 1)
            if fault.delayMs:
                await asyncio.sleep(fault.delayMs / 1000)
            if fault.code is not None or fault.status is not None:
                status = fault.status or 400
                code = fault.code if fault.code is not None else -1000 if status >= 500 else -1013
                raise BinanceError(code, fault.msg or _default_msg(status), status)
            return


def _default_msg(status: int) -> str:
    if status >= 500:
        return "Internal error; unable to process your request. Please try again."
    return "An unknown error occurred while processing the request."


class FaultController(Controller):
    path = "/admin/faults"
    tags = ("Admin",)
    guards = [admin_guard]  # noqa: RUF012 - Litestar's layer attribute

    @post("/", status_code=201, responses=responses())
    async def arm(self, state: State, data: Annotated[FaultBody, Body()]) -> Fault:
        """Arm a fault for the next ``count`` matching requests of the Binance dialect."""
        if data.status is None and data.code is None and not data.delayMs and not data.maintenance:
            raise BadRequest("a fault needs an error (code and/or status), a delayMs or maintenance: true")
        fault = Fault(
            id=next(_ids), route=data.route, symbol=data.symbol, method=data.method, code=data.code, msg=data.msg,
            status=data.status, delayMs=data.delayMs, maintenance=data.maintenance, remaining=data.count,
        )  # fmt: skip
        _faults(state).append(fault)
        return fault

    @get("/", responses=responses())
    async def list_faults(self, state: State) -> list[Fault]:
        """The armed faults, with the requests each has left."""
        return list(_faults(state))

    @delete("/", status_code=200, responses=responses())
    async def disarm(self, state: State, request: Request[Any, Any, Any]) -> list[Fault]:
        """Disarm every fault; returns those that were armed."""
        faults = _faults(state)
        gone = list(faults)
        faults.clear()
        return gone
