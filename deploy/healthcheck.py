#!/usr/bin/env python3
"""Container health check of the MockX image (installed as ``mockx-healthcheck``).

One image runs every role and the command picks it, so the check follows the command::

    mockx-healthcheck [serve|worker|feed]

Without an argument the role is read from PID 1's command line (``tini -- mockx <role> ...``), which is
what the image's ``HEALTHCHECK`` relies on.

- ``serve``: ``GET`` the API's public liveness route on ``ENGINE_PORT`` (no API key needed).
- ``worker``: ``mockx worker --check`` (the worker's heartbeat in Valkey).
- ``feed``: healthy while it runs; a publisher keeps no state worth probing.

Exit status 0 is healthy, 1 is unhealthy (what Docker and Kubernetes expect). Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

LIVENESS_PATH = "/livez"
ROLES = ("serve", "worker", "feed")


def role_from_cmdline(argv: list[str]) -> str:
    """The ``mockx`` subcommand in a command line such as ``tini -- mockx worker --name w1``."""
    for index, arg in enumerate(argv):
        if Path(arg).name == "mockx" and index + 1 < len(argv):
            return argv[index + 1]
    return "serve"


def pid1_cmdline() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def check_api(port: str, timeout: float = 3.0) -> int:
    url = f"http://127.0.0.1:{port}{LIVENESS_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = int(response.status)
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if 200 <= status < 300:
        return 0
    print(f"unhealthy: {url} answered {status}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    role = argv[0] if argv else role_from_cmdline(pid1_cmdline())
    if role == "serve":
        return check_api(os.environ.get("ENGINE_PORT") or "8000")
    if role == "worker":
        os.execvp("mockx", ["mockx", "worker", "--check"])
    if role == "feed":
        return 0
    print(f"unknown role {role!r}: expected one of {', '.join(ROLES)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
