"""The README's curl block runs as printed against a fresh ``mockx up`` (auth on), in a shell of its own.

Only two things are added around it: ``mockx`` on PATH (the virtualenv activated, as the tour says), and a
``curl`` that reports HTTP errors and stops the endless event stream after a few seconds.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.up import Up, up_env

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
CURL = """curl() { command curl -sS --fail-with-body --max-time 5 "$@"; echo; }\n"""


def curl_block() -> str:
    return next(
        b for b in re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL) if "curl " in b and "x-api-key" in b
    )


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_block_runs_as_printed_and_cancels_the_order_it_placed(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    env = up_env(subprocess_env, tmp_path / "data")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    up = Up(env, tmp_path / "data", free_port(), tmp_path / "up.log")
    try:
        up.wait_ready()
        for run in (1, 2):  # twice: the block does not depend on what ran before it
            done = subprocess.run(
                ["bash", "-c", CURL + curl_block()], env=env, capture_output=True, text=True, timeout=60
            )
            replies = [line for line in done.stdout.splitlines() if line.startswith("{")]
            assert not [r for r in replies if '"error"' in r], f"run {run}:\n{done.stdout}\n{done.stderr}"
            orders = [json.loads(r) for r in replies if '"clientOrderId"' in r and '"status"' in r]
            canceled = [o for o in orders if o["status"] == "canceled"]
            assert len(canceled) == 1, done.stdout
            assert canceled[0]["clientOrderId"].startswith("curl-"), done.stdout
            assert "event: order.canceled" in done.stdout, "the event stream shows the cancel"
    finally:
        assert up.interrupt() == 0, up.log.read_text()
