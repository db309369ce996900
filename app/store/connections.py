"""Pooled connections that survive a Valkey restart.

A connection pooled before Valkey restarted is dead afterwards, and redis-py finds out only when a
request's command fails on it. Here a connection that idled longer than its health-check interval is
PINGed first, and if the PING finds it dead it reconnects and PINGs again — so the request's own command is
sent once, on a live connection, and never twice.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class _Revived:
    """The health check of :class:`CheckedConnection`, shared by the TCP and the Unix-socket kind."""

    health_check_interval: float
    next_health_check: float

    async def check_health(self) -> None:
        if not self.health_check_interval or asyncio.get_running_loop().time() <= self.next_health_check:
            return
        try:
            await self._ping()
        except (RedisConnectionError, RedisTimeoutError, OSError):
            await self.disconnect()  # type: ignore[attr-defined]
            await self._ping()  # reconnects first: a server that is back answers

    async def _ping(self) -> None:
        await self.send_command("PING", check_health=False)  # type: ignore[attr-defined]
        reply = await self.read_response()  # type: ignore[attr-defined]
        if reply not in ("PONG", b"PONG"):
            raise RedisConnectionError(f"unexpected reply to a health-check PING: {reply!r}")


class CheckedConnection(_Revived, Connection):  # type: ignore[misc]  # redis-py is untyped here
    """A TCP connection whose health check revives it after a Valkey restart."""


class CheckedUnixConnection(_Revived, UnixDomainSocketConnection):  # type: ignore[misc]
    """A Unix-socket connection whose health check revives it after a Valkey restart."""


def connection_class(url: str) -> type[Connection]:
    """The connection class for ``url``."""
    return CheckedUnixConnection if url.startswith("unix://") else CheckedConnection
