"""Server-Sent Events read off an httpx stream: parsed events (or every message), and taking them until a condition
holds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx


async def sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events as dicts (id, event, data parsed as JSON); comments and bare fields skipped."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                yield {"id": fields.get("id"), "event": fields.get("event"), "data": json.loads(fields["data"])}
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def take(
    events: AsyncIterator[dict[str, Any]], until: Callable[[list[dict[str, Any]]], bool], seconds: float = 10.0
) -> list[dict[str, Any]]:
    """Events until ``until(seen)`` holds; AssertionError if the stream ends first, TimeoutError after ``seconds``."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        async for event in events:
            seen.append(event)
            if until(seen):
                return seen
    raise AssertionError(f"the stream ended after {seen}")


async def messages(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Every SSE message with an id or data (the opening message too), as dicts: id, event, data (JSON or None)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields or "id" in fields:
                data = json.loads(fields["data"]) if "data" in fields else None
                yield {"id": fields.get("id"), "event": fields.get("event"), "data": data}
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
