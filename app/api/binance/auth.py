"""Who signs a request of the Binance dialect: ``X-MBX-APIKEY`` names the account, ``signature`` proves it.

Binance's rules (``rest-api.md``, "SIGNED endpoint security"), which every client relies on:

* the key names the account: the default account's key is ``API_KEY`` (its secret ``API_SECRET``), every
  other account has the key and secret the registry issued (and may have registered an Ed25519 public key);
* the signature is HMAC-SHA256 (hex) over the **raw** query string followed by the **raw** body, each without
  its ``signature`` parameter, exactly as sent — never re-sorted or re-encoded (ccxt, python-binance and the
  SDK order and place their parameters differently); or an Ed25519 signature (base64) over the same bytes;
* ``timestamp`` must lie in ``[now - recvWindow, now + 1000)``; ``recvWindow`` defaults to 5000 and is at
  most 60000.

A missing key is 401 -2014, a key that names no account 401 -2015, a wrong signature 400 -1022, a stale or
future timestamp 400 -1021. With ``TEST_ENV=true`` a request whose key names no account (or that sends none)
acts as the default account without a signature; an account's key is still checked in full.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from litestar import Request

from app.api.binance.errors import (
    AHEAD,
    INVALID_SIGNATURE,
    KEY_FORMAT,
    KEY_REJECTED,
    OUTSIDE_WINDOW,
    BinanceError,
    illegal,
    mandatory,
)
from app.api.binance.params import Params
from app.engine.accounts import AccountRef
from app.engine.exchange import Exchange

HEADER = b"x-mbx-apikey"
DEFAULT_WINDOW = Decimal(5000)
MAX_WINDOW = Decimal(60000)
_MAX_KEY = 256


@dataclass(frozen=True, slots=True)
class Signer:
    """An account's signing material: its secret, and its Ed25519 public key if it registered one."""

    account: AccountRef
    secret: bytes
    ed25519: Ed25519PublicKey | None


def api_key(request: Request[Any, Any, Any]) -> str:
    raw = next((v for k, v in request.scope["headers"] if k.lower() == HEADER), b"")
    return raw.decode("latin-1")


async def signer_of(shared: Exchange, key: str) -> Signer | None:
    """The account whose key ``key`` is, with its secret; None when it names no account."""
    settings = shared.settings
    if settings.api_key and hmac.compare_digest(key.encode(), settings.api_key.encode()):
        return Signer(AccountRef(), settings.api_secret.encode(), None)
    if len(key) > _MAX_KEY:
        return None
    ref = await shared.accounts.resolve(key)
    record = await shared.accounts.record(ref.name) if ref is not None else None
    if ref is None or record is None:
        return None
    return Signer(ref, record.secret.encode(), _public_key(record.ed25519) if record.ed25519 else None)


@lru_cache(maxsize=256)
def _public_key(pem: str) -> Ed25519PublicKey | None:
    key = load_pem_public_key(pem.encode())
    return key if isinstance(key, Ed25519PublicKey) else None


def _unsigned(raw: str) -> str:
    """``raw`` (a query string or a form body) without its ``signature`` parameter, otherwise byte for byte."""
    if "signature=" not in raw:
        return raw
    return "&".join(part for part in raw.split("&") if not part.startswith("signature="))


def payload(params: Params) -> bytes:
    """What the client signed: the raw query, then the raw body, each without ``signature``."""
    return (_unsigned(params.query) + _unsigned(params.body)).encode("latin-1", "replace")


def verify(signer: Signer, params: Params) -> None:
    """Raise -1022 unless ``signature`` is this account's HMAC (hex) or Ed25519 (base64) signature."""
    signature = params.text("signature")
    if signature is None:
        raise mandatory("signature")
    message = payload(params)
    if len(signature) == 64:
        expected = hmac.new(signer.secret, message, hashlib.sha256).hexdigest()
        if signer.secret and hmac.compare_digest(signature.lower().encode(), expected.encode()):
            return
    elif signer.ed25519 is not None:
        try:
            signer.ed25519.verify(base64.b64decode(unquote(signature), validate=True), message)
            return
        except (InvalidSignature, binascii.Error, ValueError):
            pass
    raise BinanceError(-1022, INVALID_SIGNATURE)


def check_time(params: Params, now_ms: int | None = None) -> None:
    """Raise -1021 unless ``timestamp`` is within ``recvWindow`` of now (and at most 1 s ahead)."""
    timestamp = params.integer("timestamp", required=True)
    assert timestamp is not None
    window = params.number("recvWindow")
    if window is None:
        window = DEFAULT_WINDOW
    if window > MAX_WINDOW:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if timestamp >= now + 1000:
        raise BinanceError(-1021, AHEAD)
    if now - timestamp > window:
        raise BinanceError(-1021, OUTSIDE_WINDOW)


async def authenticate(request: Request[Any, Any, Any], params: Params, *, signed: bool = True) -> Exchange:
    """The Exchange view of the account the request's key names, its signature and time checked."""
    shared: Exchange = request.app.state.exchange
    key = api_key(request)
    signer = await signer_of(shared, key) if key else None
    if signer is None:
        if shared.settings.test_env:
            return shared
        if not key:
            raise BinanceError(-2014, KEY_FORMAT, 401)
        raise BinanceError(-2015, KEY_REJECTED, 401)
    if signed:
        if "timestamp" in params.values and not params.values["timestamp"].isdigit():
            raise illegal("timestamp", "^[0-9]{1,20}$")
        check_time(params)
        verify(signer, params)
    return shared.as_account(signer.account)
