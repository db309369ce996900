"""The README is exercised: its commands are the ones CI runs, its Python example runs as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.processes import Processes, Server

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


def test_the_backtest_example_leaves_a_running_exchange_untouched(tmp_path: Path) -> None:
    """With an exchange running on the default data directory, the README back-test changes none of its state."""
    example = next(b for b in blocks("python") if "Exchange.connect" in b)
    script = tmp_path / "backtest.py"
    script.write_text(example, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "VALKEY_URL", "NAMESPACE", "PRICE_STREAM")}
    env |= {"MOCKX_DATA_DIR": str(tmp_path / "data"), "TEST_ENV": "true"}
    server = Server(env, tmp_path / "serve.log").start()
    procs = Processes(tmp_path, env)
    try:
        procs.start("worker", "--name", "w1")
        http = httpx.Client(base_url=server.url, timeout=10)
        http.post("/admin/fund", json={"asset": "USDT", "amount": "100000"}).raise_for_status()
        http.patch("/admin/tickers/BTC/USDT/price", json={"price": "50000"}).raise_for_status()
        resting = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.1", "price": "49000"}
        http.post("/orders", json=resting).raise_for_status()

        def state() -> list[object]:
            return [http.get(path).json() for path in ("/tickers", "/orders", "/balance/list", "/trades")] + [
                {k: v for k, v in http.get("/balance").json().items() if k not in ("timestamp", "datetime")}
            ]

        before = state()
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        time.sleep(1.5)  # a tick the back-test published on the shared stream would be applied by now
        assert state() == before
        assert before[1][0]["status"] == "open", "the resting order the back-test's prices would cross"
    finally:
        procs.stop_all()
        server.kill()
