"""Fixtures of the price tests: ``mockx`` child processes that never outlive their test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import Processes


@pytest.fixture
def procs(tmp_path: Path, subprocess_env: dict[str, str]) -> Iterator[Processes]:
    """A factory of ``mockx`` child processes (``procs.start("worker", ...)``), all killed at the end."""
    processes = Processes(tmp_path, subprocess_env)
    yield processes
    processes.stop_all()
