"""Browser test fixtures: the real app over a real Valkey behind uvicorn, and a real headless Chromium.

``stack`` serves ``create_app(settings)`` (TEST_ENV: no key) and ``secured_stack`` the same with a key; both
come with an ``httpx`` client of the API, for what a bot would do meanwhile. ``dashboard`` opens ``/ui`` in a
fresh browser context (its own sessionStorage), records every console message and uncaught error, and saves a
screenshot of each page into ``tests/ui/artifacts/<test name>/`` (git-ignored; ``MOCKX_UI_ARTIFACTS`` to put
them elsewhere) when the test ends, whatever its outcome.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from app.api import create_app
from app.settings import Settings
from tests.support.browser import executable
from tests.support.http import API_KEY, LiveServer

ARTIFACTS = Path(os.environ.get("MOCKX_UI_ARTIFACTS") or Path(__file__).with_name("artifacts"))


@dataclass
class Stack:
    server: LiveServer
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Dashboard:
    """One open dashboard page and what its console said."""

    page: Any
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    shots: Path = ARTIFACTS

    def shot(self, name: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _stack(settings: Settings, key: str | None) -> Iterator[Stack]:
    server = LiveServer(create_app(settings)).start()
    headers = {"x-api-key": key} if key else {}
    http = httpx.Client(base_url=server.url, headers=headers, timeout=10)
    try:
        yield Stack(server, http)
    finally:
        http.close()
        server.stop()


@pytest.fixture
def stack(settings: Settings) -> Iterator[Stack]:
    yield from _stack(settings, None)


@pytest.fixture
def secured_stack(settings: Settings) -> Iterator[Stack]:
    yield from _stack(msgspec.structs.replace(settings, test_env=False, api_key=API_KEY), API_KEY)


@pytest.fixture
def small_stack(settings: Settings) -> Iterator[Stack]:
    """TEST_ENV, its events stream capped at about 10 entries (Valkey trims a whole node at a time)."""
    yield from _stack(msgspec.structs.replace(settings, events_maxlen=10), None)


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium for one test. Not shared by the session: Playwright's sync API keeps an event loop
    running in this thread while it is started, which would stop every async test after it."""
    path = executable()  # skips (or fails, with MOCKX_REQUIRE_BROWSER=1) without Chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def dashboard(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Dashboard]]:
    """``dashboard(url)`` opens ``url/ui`` in a fresh 1440×900 context and waits for the page's scripts."""
    contexts: list[Any] = []
    opened: list[Dashboard] = []
    shots = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)

    def open_(url: str, *, wait_for: str = "#main:not([hidden]), #auth:not([hidden])") -> Dashboard:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        board = Dashboard(page, shots=shots)
        page.on("console", lambda msg: board.console.append(f"{msg.type}: {msg.text}"))
        page.on("console", lambda msg: board.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: board.errors.append(f"uncaught: {exc}"))
        page.on("request", lambda req: board.requests.append(req.url))
        page.goto(f"{url}/ui")
        page.wait_for_selector(wait_for)
        opened.append(board)
        return board

    yield open_
    for i, board in enumerate(opened):
        with contextlib.suppress(Exception):  # a crashed page has no screenshot; the test's failure says why
            board.shot(f"end-{i}")
    for context in contexts:
        context.close()
