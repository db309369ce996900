"""API test fixtures: the real app over a real Valkey, in-process or behind a real HTTP server.

``client`` drives ``create_app(settings)`` in the test's event loop (the app opens and closes its own
Exchange in its lifespan, exactly as in production). ``live`` runs the same app under uvicorn in a thread
with its own event loop, for what needs real sockets: streaming events, outages, schema fuzzing.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.api import create_app
from app.engine.audit import audit
from app.settings import Settings
from app.store.embedded import redis_client
from app.store.keys import Keys

API_KEY = "test-secret-key"


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    """The test's settings with authentication on."""
    return msgspec.structs.replace(settings, test_env=False, api_key=API_KEY)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


def error(response: httpx.Response, status: int, code: str) -> str:
    """Assert ``response`` is the API's error shape with this status and ccxt code; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"], body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str), body
    assert len(message) > 10, body
    return message


async def fund(client: Any, asset: str = "USDT", amount: Any = 100000) -> dict[str, Any]:
    r = await client.post("/admin/fund", json={"asset": asset, "amount": amount})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def set_price(client: Any, symbol: str, price: Any, **extra: Any) -> dict[str, Any]:
    r = await client.patch(f"/admin/tickers/{symbol}/price", json={"price": price, **extra})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def audit_problems(settings: Settings) -> list[str]:
    """The core's money invariants, read straight from Valkey."""
    redis = redis_client(settings.redis_url or "")
    try:
        return await audit(redis, Keys(settings.namespace))
    finally:
        await redis.aclose()


class LiveServer:
    """An app under uvicorn in a background thread (its own event loop), on a free port."""

    def __init__(self, app: Litestar) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-api", daemon=True)
        self.url = ""

    def start(self) -> LiveServer:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                port = self.server.servers[0].sockets[0].getsockname()[1]
                self.url = f"http://127.0.0.1:{port}"
                return self
            if not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            threading.Event().wait(0.02)
        raise RuntimeError("the live server did not start within 10 s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(create_app(settings)).start()
    yield server
    server.stop()
