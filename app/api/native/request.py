"""How the native dialect reads a request: a JSON body only, each key once, nested a few levels at most.

Every native controller derives from :class:`NativeController`, which installs :class:`NativeRequest` and the
decoders of money fields (:data:`app.api.common.codec.TYPE_DECODERS`). These rules belong to this dialect
(another dialect may read form bodies, whatever their label), so they are not the application's defaults.

- A body labelled with a content type other than JSON (``application/json`` or ``application/*+json``) is
  refused with 415; a body without a ``Content-Type`` is read as JSON.
- A key that appears twice in one object is refused with 400 (JSON decoders keep the last one silently:
  ``{"side": "buy", "side": "sell"}`` would be a sell).
- Arrays and objects nested deeper than :data:`MAX_DEPTH` levels are refused with 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Controller
from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from litestar.types import Empty

from app.api.common.codec import TYPE_DECODERS, ExactRequest
from app.engine.errors import BadRequest

#: The deepest nesting of arrays and objects a native body may have (every native body is one flat object).
MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


class NativeRequest(ExactRequest):
    """A request of the native dialect: its body must be JSON, with no repeated key."""

    __slots__ = ()

    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        media_type = self.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type and media_type != "application/json" and not media_type.endswith("+json"):
            raise ClientException(
                f"this route reads a JSON body: send it with Content-Type: application/json, not {media_type}",
                status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        value = await super().json()
        check_structure(await self.body(), value)
        return value


def check_structure(body: bytes, value: Any) -> None:
    """Refuse a decoded body nested deeper than :data:`MAX_DEPTH` or with a key repeated in one object."""
    members, stack = 0, [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"the request body nests arrays or objects more than {MAX_DEPTH} levels deep")
        children = node.values() if isinstance(node, dict) else node
        members += len(node) if isinstance(node, dict) else 0
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    # Every member of an object has exactly one ':' outside strings, and no other ':' is outside strings:
    # fewer members decoded than written means a key was repeated (and the decoder kept only its last value).
    if body.count(b":") > members and _STRING.sub(b"", body).count(b":") > members:
        key = _repeated_key(body)
        raise BadRequest(
            f"the request body repeats the key {key!r}: send each key once" if key else "the request body repeats a key"
        )


def _repeated_key(body: bytes) -> str | None:
    """The first key repeated in an object of ``body`` (only called once a repetition is known)."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and not found:
                found.append(key)
            seen.add(key)
        return dict(items)

    try:
        json.loads(body, object_pairs_hook=pairs)
    except ValueError:  # pragma: no cover - the body was already decoded once
        return None
    return found[0] if found else None


class NativeController(Controller):
    """The base of every native controller: :class:`NativeRequest` and the money field decoders."""

    request_class = NativeRequest
    type_decoders = TYPE_DECODERS
