"""The README's "Point your bot at MockX" snippets run as printed (URL, key and secret filled in), and
``mockx info`` prints the same ccxt snippet with the live server's values."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import ccxt

from cli.commands.info import ccxt_snippet
from tests.support.binance import KEY, SECRET, Native

ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "README.md").read_text(encoding="utf-8").split("## Point your bot at MockX", 1)[1].split("\n## ")[0]
PLACEHOLDER = "http://127.0.0.1:8000"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, flags=re.DOTALL)


def _run(code: str, base: str, tmp_path: Path) -> str:
    script = tmp_path / "snippet.py"
    script.write_text(code.replace(PLACEHOLDER, base).replace("YOUR_API_KEY", KEY).replace("YOUR_API_SECRET", SECRET))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_ccxt_snippet_is_the_one_mockx_info_prints() -> None:
    assert _blocks("python")[0] == ccxt_snippet(PLACEHOLDER, "YOUR_API_KEY", "YOUR_API_SECRET")


def test_each_python_snippet_runs(binance: tuple[str, Native], tmp_path: Path) -> None:
    base, _ = binance
    ccxt_code, python_binance, sdk = _blocks("python")
    assert "'USDT': 100000.0" in _run(ccxt_code, base, tmp_path)
    assert "'free': '100000.00000000'" in _run(python_binance, base, tmp_path)
    assert "('USDT', '100000.00000000')" in _run(sdk, base, tmp_path)


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for k, v in extra.items():
        into[k] = _merge(dict(into.get(k) or {}), v) if isinstance(v, dict) else v
    return into


def test_the_freqtrade_config_moves_every_url(binance: tuple[str, Native]) -> None:
    base, _ = binance
    (config,) = _blocks("json")
    exchange = json.loads(config.replace(PLACEHOLDER, base))["exchange"]
    assert exchange["name"] == "binance"
    urls = exchange["ccxt_config"]["urls"]["api"]
    assert set(urls) == {k for k, v in ccxt.binance().urls["api"].items() if str(v).startswith("http")}
    client = ccxt.binance(_merge({"apiKey": KEY, "secret": SECRET}, exchange["ccxt_config"]))  # as freqtrade merges
    client.load_markets()
    assert client.fetch_balance()["USDT"]["free"] == 100000


def test_mockx_info_prints_a_snippet_that_runs(binance: tuple[str, Native], tmp_path: Path) -> None:
    base, _ = binance
    env = {**os.environ, "API_SECRET": SECRET, "MOCKX_DATA_DIR": str(tmp_path / "data")}
    mockx = str(Path(sys.executable).with_name("mockx"))
    done = subprocess.run([mockx, "info", "--json", "--url", base, "--api-key", KEY], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    snippet = json.loads(done.stdout)["ccxt"]
    assert f'MOCKX = "{base}"' in snippet
    assert f'"secret": "{SECRET}"' in snippet
    assert "'USDT': 100000.0" in _run(snippet, base, tmp_path)
    table = subprocess.run([mockx, "info", "--url", base, "--api-key", KEY], env=env, capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "ccxt.binance(" in table.stdout
