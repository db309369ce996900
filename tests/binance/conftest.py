"""The Binance dialect's fixtures: one live server (real Valkey, real HTTP) per test, auth on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.settings import Settings
from tests.support.binance import Native, binance_server, binance_settings


@pytest.fixture
def binance(settings: Settings) -> Iterator[tuple[str, Native]]:
    """``(base URL, native admin client)`` of a live server with priced, funded markets."""
    with binance_server(binance_settings(settings)) as served:
        yield served
