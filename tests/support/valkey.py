"""Servers of our own beside the session's Valkey (a Redis 7 for compatibility), and stream state."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from redis.asyncio import Redis

from app.engine.health import read_backlog
from tests.support.ports import free_port


async def stream_done(redis: Redis, stream: str, group: str = "settlement") -> bool:
    """Every entry of the stream delivered and acknowledged by the group."""
    try:
        return (await read_backlog(redis, stream, group)).backlog == 0
    except Exception:
        return False


def start_redis_server(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``redis-server`` on a free loopback port without persistence, accepting connections; process and URL."""
    port = free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}"


class RestartableValkey:
    """An embedded Valkey of a test's own on a fixed port, with AOF, that the test stops and starts again."""

    def __init__(self, directory: Path) -> None:
        from app.store.embedded import EmbeddedValkey

        self._make = lambda: EmbeddedValkey(directory, port=self.port, persist=True)
        self.port = free_port()
        self.server = self._make()
        self.url = self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def restart(self) -> None:
        """Start it again on the same port and data (the clients reconnect by themselves)."""
        self.server.stop()
        self.server = self._make()
        self.server.start()
