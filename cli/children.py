"""The processes ``mockx up`` supervises: how each one starts, where its output goes, how its stop reads.

Each child runs in its own process group and is told by the kernel to stop if the supervisor dies. Its
stderr (the logs) is relayed line by line to the supervisor's stderr while the exchange runs; once the
stop begins the relay holds the lines back, so a stop prints one line per process, written by the
supervisor, and the held lines are shown only for a child that did not stop cleanly. Its stdout (the JSON
summary a worker or a feed prints at exit) goes to a temporary file, read for that one line.

Only the standard library is imported here; the module is imported when ``mockx up`` runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from typing import IO, Any

HELD_LINES = 200  # lines kept of a stopping child's output, shown if it fails to stop cleanly


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM when the supervisor dies, even by SIGKILL."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Child:
    """One supervised ``mockx`` process, in its own process group."""

    def __init__(self, name: str, args: list[str], stop_seconds: float, hush: threading.Event) -> None:
        self.name = name
        self.args = args
        self.stop_seconds = stop_seconds
        self.hush = hush  # set by the supervisor when the stop begins
        self.process: subprocess.Popen[bytes] | None = None
        self.crashes: list[float] = []
        self.restart_at: float | None = None
        self.killed = False
        self.held: list[str] = []
        self._stdout: IO[bytes] | None = None
        self._relay: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, env: dict[str, str]) -> None:
        if self._stdout is not None:
            self._stdout.close()
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the child's whole life
        self.process = subprocess.Popen(
            self.args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=subprocess.PIPE,
            process_group=0,  # Ctrl-C reaches only the supervisor, which stops the children in order
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.restart_at = None
        self.killed = False
        self._relay = threading.Thread(target=self._pass_on, args=(self.process.stderr,), daemon=True)
        self._relay.start()

    def _pass_on(self, stream: IO[bytes] | None) -> None:
        """Copy the child's log lines to our stderr until the stop begins; then keep the last few."""
        if stream is None:
            return
        with stream:
            for line in stream:
                if self.hush.is_set():
                    self.held = [*self.held[-HELD_LINES + 1 :], line.decode(errors="replace").rstrip()]
                    continue
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr.buffer.write(line)
                    sys.stderr.buffer.flush()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)

    def kill_group(self) -> None:
        """SIGKILL whatever is left in the child's process group (a server's own worker processes too)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def group_alive(self) -> bool:
        if self.process is None:
            return False
        try:
            os.killpg(self.process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def summary(self) -> dict[str, Any]:
        """The JSON object the child printed last on stdout (a worker's counters, a feed's count), or {}."""
        if self._stdout is None:
            return {}
        if self._relay is not None:
            self._relay.join(timeout=1.0)
        self._stdout.seek(0)
        for line in reversed(self._stdout.read().decode(errors="replace").splitlines()):
            with contextlib.suppress(ValueError):
                found = json.loads(line)
                if isinstance(found, dict):
                    return found
        return {}

    def stop_line(self) -> str:
        """How this child's stop reads, in one line (its held-back output follows if it did not stop cleanly)."""
        code = self.exited()
        if self.process is None:
            return f"{self.name}: not started"
        if self.killed:
            return f"{self.name}: stopped (what was still open was ended after its {self.stop_seconds:g} s grace)"
        if code not in (0, -signal.SIGTERM):
            held = "\n".join(f"  {line}" for line in self.held[-20:])
            return f"{self.name}: exited with code {code}" + (f"; its last lines:\n{held}" if held else "")
        done = self.summary()
        if "processed" in done:
            return f"{self.name}: stopped; {done['processed']} ticks applied, {done.get('filled', 0)} fills"
        if "published" in done:
            return f"{self.name}: stopped; {done['published']} ticks published"
        return f"{self.name}: stopped"

    def close(self) -> None:
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None
