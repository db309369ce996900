"""A real headless Chromium for the dashboard's browser tests: Debian's ``chromium``, driven by Playwright.

Playwright's Python package (the dev extra) drives the browser over its protocol; it is pointed at the
machine's Chromium with ``executable_path`` and never downloads a browser of its own. Without Chromium the
tests are reported as not run (skipped, with the reason and the one command that installs it) — except where
``MOCKX_REQUIRE_BROWSER=1`` (CI), where they fail. ``MOCKX_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

INSTALL = "apt-get install -y chromium"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def executable() -> str:
    """The Chromium to drive; skips (or, with MOCKX_REQUIRE_BROWSER=1, fails) the test when there is none."""
    given = os.environ.get("MOCKX_CHROMIUM")
    if given:
        if not Path(given).exists():
            _not_run(f"MOCKX_CHROMIUM={given} does not exist")
        return given
    for name in _NAMES:
        if found := shutil.which(name):
            return found
    _not_run("no Chromium on this machine")
    raise AssertionError("unreachable")


def _not_run(why: str) -> None:
    reason = f"not run: the dashboard's browser tests need a headless Chromium ({why}); install it with `{INSTALL}`"
    if os.environ.get("MOCKX_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)
