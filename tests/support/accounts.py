"""Accounts over HTTP: account factories, their key headers, and the app's route table as requests.

``make_account`` builds a funded account through ``POST /admin/accounts`` and returns its body (with its
``apiKey`` and ``secret``); ``as_account`` makes the ``x-api-key`` header of one; ``names_on_every_shard``
picks names the registry spreads over every shard. ``endpoints`` lists every (method, path) the app
serves, with its path parameters filled in, so a new route is walked by the isolation tests by itself.
"""

from __future__ import annotations

import base64
import os
import re
import zlib
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute

from tests.support.http import API_KEY

ADMIN = {"x-api-key": API_KEY}
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")


def as_account(account: dict[str, Any]) -> dict[str, str]:
    """The ``x-api-key`` header of an account created by :func:`make_account`."""
    return {"x-api-key": account["apiKey"]}


async def make_account(client: Any, name: str, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    """Create ``name`` as the admin (``body``: balances, commission, ed25519PublicKey) and return the 201 body."""
    r = await client.post("/admin/accounts", json={"name": name, **body}, headers=ADMIN if headers is None else headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def ed25519_pem(raw: bytes | None = None) -> str:
    """An Ed25519 public key in PEM (any 32 bytes are a well-formed key for the registry)."""
    der = ED25519_SPKI + (raw if raw is not None else os.urandom(32))
    return f"-----BEGIN PUBLIC KEY-----\n{base64.b64encode(der).decode()}\n-----END PUBLIC KEY-----\n"


def endpoints(app: Litestar, sample: dict[str, str]) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, path parameters replaced by ``sample[name]``."""

    def concrete(path: str) -> str:
        return re.sub(r"\{(\w+):\w+\}", lambda m: sample[m.group(1)], path)

    out: list[tuple[str, str]] = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            out += [(m, concrete(route.path)) for m in sorted(route.methods) if m != "OPTIONS"]
        elif isinstance(route, WebSocketRoute):
            out.append(("WEBSOCKET", concrete(route.path)))
    return out


def names_on_every_shard(shards: int, per_shard: int = 1) -> list[str]:
    """Account names that the registry spreads over every shard (it assigns crc32(name) % shards)."""
    found: dict[int, list[str]] = {s: [] for s in range(shards)}
    i = 0
    while any(len(v) < per_shard for v in found.values()):
        name = f"bot-{i}"
        shard = zlib.crc32(name.encode()) % shards
        if len(found[shard]) < per_shard:
            found[shard].append(name)
        i += 1
    return [n for s in range(shards) for n in found[s]]
