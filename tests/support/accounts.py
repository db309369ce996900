"""Accounts for tests."""

from __future__ import annotations

import zlib


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
