"""``mockx up`` prints the dashboard's link, and the page it names works with the key it prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.support.ports import free_port
from tests.support.up import Up, up_env


def test_mockx_up_prints_the_dashboard_link_and_it_opens(
    dashboard: Any, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    directory = tmp_path / "data"
    up = Up(up_env(subprocess_env, directory), directory, free_port(), tmp_path / "up.log")
    try:
        banner = up.wait_ready()
        assert f"{up.url}/ui  (asks for the API key)" in banner, banner
        key = (directory / "api-key").read_text().strip()
        http = httpx.Client(base_url=up.url, headers={"x-api-key": key}, timeout=10)
        http.post("/admin/fund", json={"asset": "USDT", "amount": "1000"}).raise_for_status()
        board = dashboard(up.url)
        page = board.page
        page.fill("#auth-key", key)
        page.get_by_role("button", name="Connect").click()
        expect(page.locator("#balances tbody tr[data-asset=USDT]")).to_be_visible()
        expect(page.locator("#health-details")).to_contain_text("1 alive")  # the worker mockx up started
        board.shot("mockx-up")
        assert not board.errors, board.console
    finally:
        up.interrupt()
