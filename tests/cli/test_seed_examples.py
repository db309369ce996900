"""Every ``mockx`` example of the two READMEs MockX was started from works as written.

The examples are kept here verbatim (so this test runs anywhere); where the seed READMEs are at hand
(``MOCKX_SEEDS_DIR``, default ``../shared/seeds`` beside the checkout, where CI puts them) the test also
checks that this list is exactly what they contain.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from tests.support.cli import Cli, shows

SEED_EXAMPLES = [
    "mockx balance",
    "mockx fund USDT 100000",
    "mockx ticker BTC/USDT",
    "mockx order BTC/USDT buy 0.05",
    "mockx order BTC/USDT sell 0.01 --type limit --price 50000",
    "mockx orders --status filled",
    "mockx cancel <ORDER_ID>",
    "mockx set-price BTC/USDT 50000",
    "mockx reset-data",
]
SEEDS = Path(os.environ.get("MOCKX_SEEDS_DIR", Path(__file__).resolve().parents[3] / "shared" / "seeds"))


def examples_in(text: str) -> list[str]:
    """The ``mockx`` command lines of the fenced bash blocks, without prompts and trailing comments."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line.strip().removeprefix("$ ")).strip()
            if command.startswith("mockx "):
                found.append(command)
    return found


def test_the_list_is_what_the_seed_readmes_show() -> None:
    files = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not files:
        pytest.skip("the seed READMEs are not available here (set MOCKX_SEEDS_DIR to the folder that holds them)")
    found = [example for path in files for example in examples_in(path.read_text(encoding="utf-8"))]
    assert found == SEED_EXAMPLES


def test_every_seed_example_works_as_written(cli: Cli) -> None:
    # The seeds' prices come from a price feed; one price below the limit sell keeps that order open.
    cli.ok("set-price", "BTC/USDT", "45000")
    outputs: dict[str, str] = {}
    open_order = ""
    for example in SEED_EXAMPLES:
        args = shlex.split(example.replace("<ORDER_ID>", open_order))[1:]
        outputs[example] = cli.ok(*args, input="y\n" if args[0] == "reset-data" else None)
        if "--type limit" in example:
            open_order = json.loads(cli.ok("orders", "--status", "open", "--json"))[0]["id"]

    assert "100000" in outputs["mockx fund USDT 100000"]
    assert "45000" in outputs["mockx ticker BTC/USDT"]
    assert "closed" in outputs["mockx order BTC/USDT buy 0.05"]
    assert "open" in outputs["mockx order BTC/USDT sell 0.01 --type limit --price 50000"]
    filled = outputs["mockx orders --status filled"]
    shows(filled, "buy", "0.05")
    assert "sell" not in filled
    assert "canceled" in outputs["mockx cancel <ORDER_ID>"]
    assert outputs["mockx set-price BTC/USDT 50000"].startswith("BTC/USDT 50000")
    assert "Reset" in outputs["mockx reset-data"]
    assert json.loads(cli.ok("balance", "--json"))["total"] == {}
