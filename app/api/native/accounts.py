"""Admin: accounts — create (with a generated key and secret, shown once), list, show, rotate, reset, delete.

The ``default`` account always exists: its key is ``API_KEY`` (the admin's own, so it is shown) and it can be
reset but neither deleted nor rotated here. No read ever shows a secret; creating and rotating return it once.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated

import msgspec
from litestar import delete, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, PathParameter
from msgspec import Meta

from app.api.common.auth import admin_guard
from app.api.common.deps import SharedDep
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.api.native.schemas import Amount, AssetBalance, Done
from app.engine.accounts import DEFAULT, AccountRecord, AccountRef, check_name
from app.engine.errors import AccountNotFound, BadRequest
from app.engine.exchange import Exchange, normalize_asset
from app.engine.inputs import minor, positive

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
NameField = Annotated[str, Meta(pattern=NAME_PATTERN, examples=["bot-1"], description="1-64 of A-Z a-z 0-9 _ . -")]
NamePath = Annotated[str, PathParameter(description="An account name (1-64 of A-Z a-z 0-9 _ . -)", max_length=64)]
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----")
_ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")  # SubjectPublicKeyInfo of Ed25519, before the 32 bytes


class AccountIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new account; its API key and secret are generated."""

    name: NameField
    balances: dict[Annotated[str, Meta(max_length=20)], Amount] | None = None
    commission: Annotated[Decimal, Meta(description="Its own fee rate, 0 <= rate < 1, charged on its fills")] | None = (
        None
    )
    ed25519PublicKey: Annotated[str, Meta(max_length=4096, description="An Ed25519 public key, PEM")] | None = None


AccountBody = Annotated[
    AccountIn,
    Body(
        examples=[
            Example(summary="a name", value={"name": "bot-1"}),
            Example(summary="funded, with its own fee rate", value={"name": "bot-2", "balances": {"USDT": "10000"},
                                                                   "commission": "0.001"}),
        ]
    ),
]  # fmt: skip


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """An account as reads show it: the API key, never the secret."""

    name: str
    apiKey: str
    createdAt: int | None
    commission: Decimal | None  # null: the exchange's COMMISSION
    ed25519PublicKey: str | None


class AccountKeys(Account, frozen=True, kw_only=True):
    """An account with its secret: only the answer to creating it or rotating its keys."""

    secret: str


class NewAccount(AccountKeys, frozen=True, kw_only=True):
    """A created account, its secret (shown this once) and the balances it starts with."""

    balances: dict[str, AssetBalance]


def check_fee_rate(rate: Decimal) -> str:
    if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
        raise BadRequest(f"commission is a fee rate: at least 0 and below 1 (0.00075 is 0.075 %), got {rate}")
    return format(rate.normalize(), "f")


def check_ed25519(pem: str) -> str:
    """The PEM of an Ed25519 public key, tidied; BadRequest for anything else."""
    match = _PEM.fullmatch(pem.strip())
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True) if match else b""
    except (binascii.Error, ValueError):
        der = b""
    if len(der) != len(_ED25519_SPKI) + 32 or not der.startswith(_ED25519_SPKI):
        raise BadRequest("ed25519PublicKey must be an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY----- ...)")
    body = base64.b64encode(der).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


def check_balances(balances: Mapping[str, object] | None) -> dict[str, Decimal]:
    """Initial balances by normalized asset code, each a positive amount; checked before anything is created."""
    out: dict[str, Decimal] = {}
    for asset, amount in (balances or {}).items():
        code = normalize_asset(asset)
        if code in out:
            raise BadRequest(f"balances: {code} is given twice")
        value = positive(amount, f"balances.{code}")
        minor(value, f"balances.{code}")
        out[code] = value
    return out


def account_view(record: AccountRecord) -> Account:
    return Account(
        name=record.name,
        apiKey=record.key,
        createdAt=record.created,
        commission=Decimal(record.commission) if record.commission else None,
        ed25519PublicKey=record.ed25519 or None,
    )


def with_secret(record: AccountRecord) -> AccountKeys:
    return AccountKeys(**msgspec.structs.asdict(account_view(record)), secret=record.secret)


def default_view(exchange: Exchange) -> Account:
    return Account(
        name=DEFAULT, apiKey=exchange.settings.api_key, createdAt=None, commission=None, ed25519PublicKey=None
    )


async def show(exchange: Exchange, name: str) -> Account:
    if check_name(name) == DEFAULT:
        return default_view(exchange)
    record = await exchange.accounts.record(name)
    if record is None:
        raise AccountNotFound(f"there is no account {name!r}")
    return account_view(record)


async def create(exchange: Exchange, data: AccountIn) -> NewAccount:
    """Register the account, then fund it through its own view; a failed deposit removes it again."""
    balances = check_balances(data.balances)
    commission = check_fee_rate(data.commission) if data.commission is not None else ""
    ed25519 = check_ed25519(data.ed25519PublicKey) if data.ed25519PublicKey is not None else ""
    record = await exchange.accounts.create(data.name, commission=commission, ed25519=ed25519)
    view = exchange.as_account(AccountRef(record.name, record.shard, record.commission))
    funded: dict[str, AssetBalance] = {}
    try:
        for asset, amount in balances.items():
            funded[asset] = AssetBalance.of(asset, await view.deposit(asset, amount))
    except Exception:
        await exchange.accounts.unregister(record.name)
        await view.reset()
        raise
    return NewAccount(**msgspec.structs.asdict(with_secret(record)), balances=funded)


def _not_default(name: str, what: str) -> None:
    if name == DEFAULT:
        raise BadRequest(f"the default account cannot be {what}: {_DEFAULT_WHY[what]}")


_DEFAULT_WHY = {
    "deleted": "it always exists (reset it with POST /admin/accounts/default/reset)",
    "rotated": "its key is API_KEY, set in the server's environment",
}


class AccountController(NativeController):
    path = "/admin/accounts"
    tags = ("Admin: accounts",)
    guards = (admin_guard,)

    @post("/", status_code=201, responses=responses(409))
    async def create_account(self, shared: SharedDep, data: AccountBody) -> NewAccount:
        """Create an account: ``{"name": "bot-1", "balances": {"USDT": "10000"}}``.

        The answer carries its API key and secret, generated now: the secret is never shown again.
        """
        return await create(shared, data)

    @get("/", responses=responses())
    async def list_accounts(self, shared: SharedDep) -> list[Account]:
        """Every account, ``default`` first; keys, never secrets."""
        return [default_view(shared), *(account_view(r) for r in await shared.accounts.records())]

    @get("/{name:str}", responses=responses(404))
    async def get_account(self, shared: SharedDep, name: NamePath) -> Account:
        """One account: its key (never its secret), creation time, commission and Ed25519 key."""
        return await show(shared, name)

    @delete("/{name:str}", status_code=200, responses=responses(404))
    async def delete_account(self, shared: SharedDep, name: NamePath) -> Done:
        """Delete an account: its key stops working at once, then its open orders are canceled (releasing
        what they reserve) and its balances, orders and trades are removed."""
        _not_default(name, "deleted")
        record = await shared.accounts.unregister(name)
        await shared.as_account(AccountRef(record.name, record.shard, record.commission)).reset()
        return Done(ok=True, message=f"account {record.name!r} is deleted: its key no longer works, its data is gone")

    @post("/{name:str}/reset", status_code=200, responses=responses(404))
    async def reset_account(self, shared: SharedDep, name: NamePath) -> Done:
        """Wipe one account's balances, orders and trades; its key, markets and prices stay."""
        view = await shared.for_account(name)
        await view.reset()
        return Done(ok=True, message=f"account {view.account.name!r}: balances, orders and trades are wiped")

    @post("/{name:str}/keys", status_code=200, responses=responses(404))
    async def rotate_keys(self, shared: SharedDep, name: NamePath) -> AccountKeys:
        """A new API key and secret (shown this once); the old key stops working at once."""
        _not_default(name, "rotated")
        return with_secret(await shared.accounts.rotate(name))
