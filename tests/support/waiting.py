"""Polling with a deadline: a failure names what it waited for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def wait_for(check: Callable[[], object], what: str, seconds: float = 30.0, every: float = 0.05) -> None:
    """Poll ``check`` until it returns something true, or fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f} s waiting for {what}"
        time.sleep(every)


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 15.0) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


async def eventually(check: Callable[[], object], what: str, seconds: float = 30.0) -> None:
    """Poll ``check`` (a plain function) without blocking the event loop; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)
