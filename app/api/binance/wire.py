"""The dialect's wire helpers: its path prefixes and its JSON responses (encoded once, by msgspec)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response

_encode = msgspec.json.Encoder().encode
PREFIXES = ("/api/v3", "/api/v1")


def v3(paths: str | list[str]) -> list[str]:
    """A route under ``/api/v3`` and its ``/api/v1`` alias."""
    return [prefix + p for p in ([paths] if isinstance(paths, str) else paths) for prefix in PREFIXES]


def json_response(content: Any, status: int = 200) -> Response[bytes]:
    return Response(_encode(content), status_code=status, media_type="application/json")
