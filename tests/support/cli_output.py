"""Reading what a ``mockx`` command printed: its ``--json`` document, its one-line error."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def json_of(text: str) -> Any:
    """``--json`` output: exactly one JSON document on one line, numbers decoded exactly."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return json.loads(lines[0], parse_float=Decimal)


def one_line(err: str) -> str:
    """The one line a failed command wrote on stderr."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]
