"""Without Chromium the browser tests are reported as not run, with the reason and the command that installs
it — never as passed; where MOCKX_REQUIRE_BROWSER=1 (CI) they fail instead."""

from __future__ import annotations

import pytest

from tests.support.browser import INSTALL, executable


def test_no_chromium_is_not_run_with_the_reason_and_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKX_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("MOCKX_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        executable()
    assert str(skipped.value).startswith("not run: ")
    assert f"install it with `{INSTALL}`" in str(skipped.value)
    assert INSTALL == "apt-get install -y chromium"


def test_no_chromium_fails_where_the_browser_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKX_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("MOCKX_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        executable()
