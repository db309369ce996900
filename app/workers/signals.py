"""Graceful shutdown for long-running commands (workers, feeds).

SIGTERM / SIGINT set a stop event: the loop stops reading and finishes what it holds. If that takes longer
than the grace period, or a second signal arrives, the task is cancelled; the caller then closes clients.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_until_signalled(main: Callable[[asyncio.Event], Coroutine[Any, Any, T]], *, grace: float) -> T | None:
    """Run ``main(stop)``; the first signal sets ``stop``, the second (or the end of ``grace``) cancels it.

    Returns what ``main`` returned, or None when it had to be cancelled after a signal.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task = loop.create_task(main(stop))

    def on_signal(name: str) -> None:
        if stop.is_set():
            log.warning("%s again: stopping now", name)
            task.cancel()
            return
        log.info("%s: finishing in-flight work (at most %.0f s)", name, grace)
        stop.set()
        loop.call_later(grace, _cancel_late, task)

    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        return await task
    except asyncio.CancelledError:
        if stop.is_set():
            return None
        raise
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)


def _cancel_late(task: asyncio.Task[Any]) -> None:
    if not task.done():
        log.warning("grace period over: cancelling what is left")
        task.cancel()
