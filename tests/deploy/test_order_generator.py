"""examples/order-generator without an exchange: its options, and a clear failure when no API answers.

The bot trading against a real API is tested in test_compose_stack.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.deploy import ORDER_GENERATOR
from tests.support.ports import free_port


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ORDER_GENERATOR), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_lists_the_options_a_test_needs() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for option in ("--url", "--api-key", "--rate", "--duration", "--seed", "--symbols"):
        assert option in result.stdout


def test_an_unreachable_api_is_one_error_and_exit_1() -> None:
    port = free_port()
    result = _run("--url", f"http://127.0.0.1:{port}", "--wait", "0", "--duration", "1")
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"] == 1
    assert f"error: GET http://127.0.0.1:{port}/tickers" in result.stderr


def test_invalid_options_are_refused() -> None:
    result = _run("--rate", "0")
    assert result.returncode == 2
    assert "--rate must be positive" in result.stderr
