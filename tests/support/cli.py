"""``mockx`` client commands run as a user runs them: a child process, its exit code, stdout and stderr."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from tests.support.processes import MOCKX


def shows(text: str, *parts: str) -> None:
    """Assert that ``text`` contains every one of ``parts``."""
    missing = [part for part in parts if part not in text]
    assert not missing, f"{missing} not in:\n{text}"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


class Cli:
    """Runs ``mockx ARGS`` as a child process against the test's API."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [MOCKX, *args], env=env or self.env, input=input, capture_output=True, text=True, timeout=60
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, input: str | None = None) -> str:
        """Run and assert success; return stdout."""
        result = self(*args, input=input)
        assert result.code == 0, f"mockx {' '.join(args)}: {result}"
        assert "Traceback" not in result.err, str(result)
        return result.out

    def fails(self, code: int, *args: str, input: str | None = None) -> str:
        """Run and assert it fails with ``code`` and one line on stderr, no traceback; return stderr."""
        result = self.exits(code, *args, input=input)
        return result.err

    def exits(self, code: int, *args: str, input: str | None = None) -> Result:
        """Run and assert the exit code (and no traceback); return the whole result."""
        result = self(*args, input=input)
        assert result.code == code, f"mockx {' '.join(args)}: {result}"
        assert "Traceback" not in result.err, str(result)
        return result
