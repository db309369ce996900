"""Accounts: the registry of names, API keys and secrets, and which shard holds each account's state.

The ``default`` account always exists: its key and secret are the settings' ``API_KEY`` / ``API_SECRET``
(accepted as given, whatever their length) and it lives on shard 0. Every other account is created by the
admin with a generated key and secret (Binance-like lengths), returned once; later reads show the key only.
A key is compared in constant time; a rotated or deleted key stops working at once, because every request
looks its key up in the registry (``{ns}:apikeys``).
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
import zlib
from dataclasses import dataclass

import msgspec

from app.engine.core import Part
from app.engine.errors import AccountExists, AccountNotFound, BadRequest

DEFAULT = "default"
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
KEY_LENGTH = 64  # what Binance issues for API keys and secrets


@dataclass(frozen=True, slots=True)
class AccountRef:
    """Which account a call acts on, and the shard its state lives on."""

    name: str = DEFAULT
    shard: int = 0
    commission: str = ""  # its own fee rate, "" for the exchange's COMMISSION


class AccountRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An account as the registry stores it (``{ns}:accounts``)."""

    name: str
    key: str
    secret: str
    shard: int
    created: int
    commission: str = ""  # a fee rate of its own, "" for the exchange's
    ed25519: str = ""  # a registered Ed25519 public key (PEM), "" for none


_record = msgspec.json.Decoder(AccountRecord)
_encode = msgspec.json.Encoder().encode


def generate_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_LENGTH))


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadRequest(f"an account name is 1-64 letters, digits, '_', '.' or '-', got {name!r}")
    return name


def shard_of(name: str, shards: int) -> int:
    """The shard a new account is assigned to (the default account: shard 0)."""
    return 0 if name == DEFAULT or shards <= 1 else zlib.crc32(name.encode()) % shards


class Accounts(Part):
    """The account registry."""

    async def resolve(self, api_key: str) -> AccountRef | None:
        """The account whose key this is, or None; the default account's key is compared in constant time."""
        expected = self.settings.api_key
        if expected and hmac.compare_digest(api_key.encode(), expected.encode()):
            return AccountRef()
        name = await self.redis.hget(self.keys.api_keys, api_key)
        if name is None:
            return None
        record = await self.record(name)
        return AccountRef(record.name, record.shard, record.commission) if record is not None else None

    async def record(self, name: str) -> AccountRecord | None:
        raw = await self.redis.hget(self.keys.accounts, name)
        return _record.decode(raw) if raw else None

    async def ref(self, name: str) -> AccountRef:
        """The account named ``name``; raises :class:`AccountNotFound`."""
        check_name(name)
        if name == DEFAULT:
            return AccountRef()
        record = await self.record(name)
        if record is None:
            raise AccountNotFound(f"there is no account {name!r}")
        return AccountRef(record.name, record.shard, record.commission)

    async def records(self) -> list[AccountRecord]:
        raw = await self.redis.hgetall(self.keys.accounts)
        return sorted((_record.decode(v) for v in raw.values()), key=lambda r: r.name)

    async def create(self, name: str, *, shards: int = 1, commission: str = "", ed25519: str = "") -> AccountRecord:
        """Register a new account with a fresh key and secret; raises :class:`AccountExists`."""
        check_name(name)
        if name == DEFAULT:
            raise AccountExists("the default account always exists (its key is API_KEY)")
        record = AccountRecord(
            name=name, key=generate_key(), secret=generate_key(), shard=shard_of(name, self.settings.shards),
            created=int(time.time() * 1000), commission=commission, ed25519=ed25519,
        )  # fmt: skip
        if not await self.redis.hsetnx(self.keys.accounts, name, _encode(record)):
            raise AccountExists(f"an account named {name!r} already exists")
        await self.redis.hset(self.keys.api_keys, record.key, name)
        return record

    async def rotate(self, name: str) -> AccountRecord:
        """A new key and secret for ``name``; the old key stops working at once."""
        record = await self.record(check_name(name))
        if record is None:
            raise AccountNotFound(f"there is no account {name!r}")
        fresh = msgspec.structs.replace(record, key=generate_key(), secret=generate_key())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.api_keys, record.key)
            pipe.hset(self.keys.api_keys, fresh.key, name)
            pipe.hset(self.keys.accounts, name, _encode(fresh))
            await pipe.execute()
        return fresh

    async def unregister(self, name: str) -> AccountRecord:
        """Remove ``name`` from the registry (its key stops working); the caller removes its data."""
        record = await self.record(check_name(name))
        if record is None:
            raise AccountNotFound(f"there is no account {name!r}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.api_keys, record.key)
            pipe.hdel(self.keys.accounts, name)
            await pipe.execute()
        return record
