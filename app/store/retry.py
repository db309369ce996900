"""Reconnect in one place: every long-running loop (workers, publishers, the event hub, the API's start-up,
the live ticker feed) sits in :func:`retrying`.

A lost or restarting Valkey raises a connection error (or a timeout, or "loading the dataset"); the
loop is restarted after a growing pause, so it resumes where the server's state says it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: What counts as "Valkey is unreachable right now" (BusyLoadingError is a ConnectionError).
TRANSIENT: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
)

#: Store errors that mean "the exchange is not available right now", not "the request was wrong": unreachable,
#: too slow, read-only (a replica) or full (maxmemory). What a caller answers them with is its own.
UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OutOfMemoryError)

#: A run that lasted this long counts as recovered: the next failure starts the backoff from the beginning.
_HEALTHY_SEC = 30.0


async def retrying(
    run: Callable[[], Awaitable[T]],
    *,
    what: str,
    stop: asyncio.Event | None = None,
    first_delay: float = 0.1,
    max_delay: float = 5.0,
    errors: tuple[type[BaseException], ...] = TRANSIENT,
    give_up_after: float | None = None,
    problem: str = "Valkey unreachable",
) -> T | None:
    """Run ``run()`` until it returns; on one of ``errors`` (default: Valkey unreachable), pause (doubling up
    to ``max_delay``) and run it again.

    Returns None when ``stop`` is set while waiting. With ``give_up_after`` seconds, the error that is still
    happening after that long is raised (a service that must start within a deadline). A run that lasted
    longer than 30 s counts as recovered: the next failure starts the backoff from the beginning.
    """
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    delay = first_delay
    failures = 0
    while True:
        started = loop.time()
        try:
            result = await run()
        except errors as exc:
            if stop.is_set():
                return None
            if deadline is not None and loop.time() >= deadline:
                raise
            if loop.time() - started > _HEALTHY_SEC:
                delay, failures = first_delay, 0
            failures += 1
            log.warning("%s: %s (%s); retry %d in %.1f s", what, problem, _reason(exc), failures, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return None
            delay = min(max_delay, delay * 2)
            continue
        return result


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
