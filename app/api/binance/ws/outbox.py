"""What a Binance WebSocket connection has yet to send: a bounded queue and the one task that writes it."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from litestar import WebSocket

SLOW = "too slow: {queue} messages waited unread; reconnect and resubscribe"


class Outbox:
    """Messages for one socket, in order; more than ``queue`` waiting closes the socket with 1013."""

    def __init__(self, socket: WebSocket[Any, Any, Any], queue: int) -> None:
        self.socket = socket
        self.queue = queue
        self.behind = False
        self._out: deque[str] = deque()
        self._wake = asyncio.Event()

    def put(self, message: str) -> bool:
        """Queue a message; False (and the socket is to close) when too many wait already."""
        if self.behind or len(self._out) >= self.queue:
            self.fell_behind()
            return False
        self._out.append(message)
        self._wake.set()
        return True

    def fell_behind(self) -> None:
        self.behind = True
        self._wake.set()

    async def write(self) -> None:
        """Send what is queued as it comes; after a client fell behind, close with 1013 and return."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._out:
                await self.socket.send_data(self._out.popleft())
            if self.behind:
                await self.socket.close(code=1013, reason=SLOW.format(queue=self.queue)[:120])
                return
