"""API test fixtures: the real app over a real Valkey, in-process or behind a real HTTP server.

``client`` drives ``create_app(settings)`` in the test's event loop (the app opens and closes its own
Exchange in its lifespan, exactly as in production). ``live`` (tests/conftest.py) runs the same app under
uvicorn in a thread with its own event loop, for what needs real sockets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.api import create_app
from app.settings import Settings
from tests.support.http import API_KEY


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    """The test's settings with authentication on."""
    return msgspec.structs.replace(settings, test_env=False, api_key=API_KEY)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c
