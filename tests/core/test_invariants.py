"""Property test of the money invariants over random sequences of every operation (tests/support/money.py).

After each step, against what Valkey holds: no balance is negative; for each asset ``used`` equals
exactly what open orders reserve; value is conserved to the last minor unit (total = deposits -
withdrawals + trade flows - fees); books and the open index hold exactly the open orders.
"""

import os
from decimal import Decimal
from typing import Any

from tests.support.money import run_machine


def test_random_sequences_keep_the_books_balanced(valkey_url: str, tmp_path: Any) -> None:
    run_machine(valkey_url, tmp_path, int(os.environ.get("MOCKX_HYPOTHESIS_EXAMPLES", "25")))


def test_random_sequences_over_several_accounts_and_shards_keep_every_account_balanced(
    valkey_url: str, tmp_path: Any
) -> None:
    examples = int(os.environ.get("MOCKX_HYPOTHESIS_EXAMPLES", "25"))
    run_machine(valkey_url, tmp_path, examples, accounts=3, shards=2)


def test_random_sequences_with_maker_taker_rates_and_fees_in_the_received_asset_keep_the_books_balanced(
    valkey_url: str, tmp_path: Any
) -> None:
    examples = int(os.environ.get("MOCKX_HYPOTHESIS_EXAMPLES", "25"))
    fees = {"maker_fee": Decimal("0.001"), "taker_fee": Decimal("0.002"), "fee_asset": "received"}
    run_machine(valkey_url, tmp_path, examples, accounts=2, **fees)
