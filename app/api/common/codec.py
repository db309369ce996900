"""Exact numbers through HTTP: request bodies decoded with Decimal, responses encoded as exact JSON numbers.

Litestar's defaults are lossy for money: request JSON is decoded with floats (``0.1`` becomes the double
nearest to it) and a ``Decimal`` is encoded as a string, or as a float through its type encoders. The
pieces here fix both (responses go through :func:`encode_json`), and make the OpenAPI
schema describe a ``Decimal`` as what it is on the wire, a ``number``.

msgspec's own text-to-Decimal conversion is lenient (``"١٢"``, ``"1_000"``, ``"+5"``, ``" 5"`` all pass), so a
request field of money is a :class:`Number`: the route's ``type_decoders`` (:data:`TYPE_DECODERS`) read it
with the engine's one parser of numbers, which takes JSON numbers and strings in ASCII decimal notation only.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.serialization import default_serializer
from litestar.types import Empty, Serializer
from litestar.typing import FieldDefinition

from app.engine.errors import BadRequest
from app.engine.money import read_decimal

json_encoder = msgspec.json.Encoder(decimal_format="number")

# A Decimal below 0.000001 prints in exponent form (``3E-8``): a valid, exact JSON number, but not what a
# person reading money expects. Numbers in exponent form only ever come from Decimals (MockX writes no
# floats, and integers never take that form), so they are rewritten as plain decimals.
_EXPONENT = re.compile(rb"(?<=[:,\[])-?\d+(?:\.\d+)?E[+-]?\d+(?=[,\]}])")


def _plain_number(match: re.Match[bytes]) -> bytes:
    return format(Decimal(match.group(0).decode()), "f").encode()


def encode_json(obj: Any) -> bytes:
    """JSON for clients: every number exact and plain (``0.3``, ``0.00000003``), never a float artefact."""
    out = json_encoder.encode(obj)
    if b"E-" in out or b"E+" in out:
        out = _EXPONENT.sub(_plain_number, out)
    return out


#: Request JSON: every non-integer number is decoded from its text straight into a Decimal.
body_decoder = msgspec.json.Decoder(float_hook=Decimal)


class ExactRequest(Request[Any, Any, Any]):
    """A request whose JSON body keeps every number exact, and whose bad JSON is a clean 400."""

    __slots__ = ()

    async def json(self) -> Any:
        if self._json is Empty:
            cached = self._connection_state.json
            if cached is Empty:
                body = await self.body()
                try:
                    cached = body_decoder.decode(body or b"null")
                except msgspec.DecodeError as exc:
                    raise BadRequest(f"the request body is not valid JSON: {exc}") from None
                except RecursionError:
                    raise BadRequest("the request body nests JSON arrays or objects too deeply") from None
                self._connection_state.json = cached
            self._json = cached
        return self._json


class Number(Decimal):
    """A number read from a request: a JSON number, or a string in ASCII decimal notation (``"0.05"``)."""

    __slots__ = ()


def _is_number(annotation: Any) -> bool:
    return annotation is Number


def _decode_number(_: type[Any], value: Any) -> Number:
    """A request value as a :class:`Number` (a ValueError here is the field's 400 validation error)."""
    return Number(read_decimal(value, ""))


#: The decoders a route needs for :class:`Number` fields (``type_decoders`` of its controller or router).
TYPE_DECODERS = [(_is_number, _decode_number)]


class ExactResponse(Response[Any]):
    """Every JSON response through :func:`encode_json`: Decimals as exact, plain JSON numbers."""

    def render(self, content: Any, media_type: str, enc_hook: Serializer = default_serializer) -> bytes:
        if media_type.startswith("application/json") and not isinstance(content, bytes | str):
            return encode_json(content)
        return super().render(content, media_type, enc_hook)


class DecimalSchemaPlugin(OpenAPISchemaPlugin):
    """Document ``Decimal`` as an OpenAPI ``number`` (Litestar's default says ``string``)."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.annotation in (Decimal, Number)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.NUMBER)
