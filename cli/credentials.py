"""The default account's API key and secret for ``mockx up``: from the environment, else the data directory.

An ``API_KEY`` or ``API_SECRET`` set in the environment is used as given, whatever its length, and nothing is
stored for it. Otherwise each is read from its file in the data directory (``api-key``, ``api-secret``, mode
0600), generated there on first use. Only the standard library is imported at the top.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def load_or_create_key(directory: Path) -> tuple[str, bool]:
    """The API key kept in ``directory`` (mode 0600), created on first use; and whether it was just created."""
    import secrets

    from cli.client import KEY_FILE

    return _load_or_create(directory / KEY_FILE, lambda: secrets.token_urlsafe(24))


def load_or_create_secret(directory: Path) -> tuple[str, bool]:
    """The default account's secret kept in ``directory`` (mode 0600), created on first use (64 letters and
    digits, the length Binance issues); and whether it was just created."""
    from cli.client import SECRET_FILE

    return _load_or_create(directory / SECRET_FILE, _binance_like_secret)


def _binance_like_secret() -> str:
    import secrets
    import string

    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(64))


def _load_or_create(path: Path, generate: Callable[[], str]) -> tuple[str, bool]:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        value = ""
    if value:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return value, False
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    os.chmod(path, 0o600)
    return value, True


@dataclass(frozen=True, slots=True)
class Credentials:
    """The default account's key and secret, each from the environment (as given) or the data directory;
    ``*_from``: ``"API_KEY"`` / ``"API_SECRET"`` when given, ``"new"`` when just generated, else ``"stored"``."""

    key: str
    secret: str
    key_from: str
    secret_from: str

    @classmethod
    def of(cls, directory: Path) -> Credentials:
        from cli.client import PLACEHOLDER_KEYS

        given_key = os.environ.get("API_KEY", "").strip()
        given_secret = os.environ.get("API_SECRET", "").strip()
        if given_key and given_key not in PLACEHOLDER_KEYS:
            key, key_from = given_key, "API_KEY"
        else:
            key, created = load_or_create_key(directory)
            key_from = "new" if created else "stored"
        if given_secret:
            secret, secret_from = given_secret, "API_SECRET"
        else:
            secret, created = load_or_create_secret(directory)
            secret_from = "new" if created else "stored"
        return cls(key, secret, key_from, secret_from)
