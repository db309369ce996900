"""Helpers of the Binance WebSocket tests: a price that keeps moving while a watch waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

from tests.support.binance import Native

#: Seconds a stream test waits for what it expects.
WAIT = 15.0


@contextlib.asynccontextmanager
async def moving(native: Native, symbol: str = "BTC/USDT") -> AsyncIterator[None]:
    """A price that moves every 150 ms (a tick with a bid and an ask) while the block runs."""

    async def move() -> None:
        n = 0
        while True:
            n += 1
            price = Decimal(60000) + n % 7
            await asyncio.to_thread(native.price, symbol, str(price), bid=str(price - 1), ask=str(price + 1))
            await asyncio.sleep(0.15)

    task = asyncio.create_task(move())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
