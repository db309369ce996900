"""The README is exercised: its commands are the ones CI runs, its Python example runs as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_the_quick_start_test_command_is_the_one_ci_runs() -> None:
    quick_start = blocks("bash")[0]
    command = next(line for line in quick_start.splitlines() if "pytest" in line)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command.strip() in ci.splitlines()


def test_the_backtest_example_runs_and_prints_what_the_readme_says(tmp_path: Path) -> None:
    example = next(b for b in blocks("python") if "Exchange.connect" in b)
    script = tmp_path / "backtest.py"
    script.write_text(example, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "VALKEY_URL", "NAMESPACE")}
    env["MOCKX_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = re.search(r"It prints `(.*?)`", README)
    assert printed is not None
    assert done.stdout.strip() == printed.group(1)
