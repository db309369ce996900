"""The key and secret ``mockx up`` gives the default account: from the environment as given, else stored."""

from __future__ import annotations

import os
import stat
import string
from pathlib import Path

import pytest

from cli.credentials import Credentials, load_or_create_secret


def test_the_secret_file_is_owner_only_and_binance_like(tmp_path: Path) -> None:
    secret, created = load_or_create_secret(tmp_path)
    path = tmp_path / "api-secret"
    assert created
    assert len(secret) == 64
    assert set(secret) <= set(string.ascii_letters + string.digits)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    assert load_or_create_secret(tmp_path) == (secret, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_generated_once_then_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.delenv("API_SECRET", raising=False)
    first = Credentials.of(tmp_path)
    assert (first.key_from, first.secret_from) == ("new", "new")
    again = Credentials.of(tmp_path)
    assert (again.key, again.secret, again.key_from, again.secret_from) == (first.key, first.secret, "stored", "stored")


def test_the_environment_is_taken_as_given_whatever_its_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", " k ")
    monkeypatch.setenv("API_SECRET", "s" * 200)
    given = Credentials.of(tmp_path)
    assert given == Credentials("k", "s" * 200, "API_KEY", "API_SECRET")
    assert list(tmp_path.iterdir()) == [], "nothing is stored for what the environment gives"


def test_a_placeholder_key_is_not_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "invalid-key")
    monkeypatch.setenv("API_SECRET", "")
    made = Credentials.of(tmp_path)
    assert (made.key_from, made.secret_from) == ("new", "new")
    assert made.key != "invalid-key"
    assert (tmp_path / "api-key").read_text().strip() == made.key
    assert (tmp_path / "api-secret").read_text().strip() == made.secret
