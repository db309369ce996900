"""`mockx watch`: tail the API's live events (``GET /events``, Server-Sent Events), one line per event.

The watcher keeps the id of the last event it printed (the API also sends the starting point of the
stream as an id before any event). When the connection drops it reconnects with backoff and sends that id
as ``Last-Event-ID``, so the API resumes right after it: no event is missed (as long as the capped events
stream still holds it) and none is printed twice. A stream the API ends itself (a ``closed`` message: the
watcher fell too far behind, or the API is shutting down) is resumed the same way, from its ``lastId``.
With several shards an id is one position per shard joined by ``,``; each is compared on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import rich_click as click

from cli.client import COUNT, Api, account_api_options, fail, json_option, refused

if TYPE_CHECKING:
    import httpx

READ_TIMEOUT = 45.0  # the API sends a keep-alive comment every 15 s; three missed ones mean a dead link
FIRST_BACKOFF = 0.25
MAX_BACKOFF = 8.0
TYPE_STYLES = {
    "order.created": "cyan",
    "order.filled": "bold green",
    "order.canceled": "yellow",
    "order.expired": "dim yellow",
    "order.triggered": "bold yellow",
    "balance.changed": "magenta",
    "ticker.updated": "blue",
    "market.created": "bold blue",
    "exchange.reset": "bold red",
}


@dataclass(slots=True)
class Message:
    """One Server-Sent Events message: ``id`` alone (no data) moves the resume point without an event."""

    id: str | None
    event: str | None
    data: str | None


def parse_sse(lines: Iterable[str]) -> Iterator[Message]:
    """Messages of an SSE stream (the WHATWG field rules; comments and ``retry`` are skipped)."""
    event_id: str | None = None
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if not line:
            if data or event_id is not None:
                yield Message(event_id, event, "\n".join(data) if data else None)
            event_id, event, data = None, None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\0" not in value:
            event_id = value


def event_key(event_id: str) -> tuple[int, int]:
    """An event id (``1700000000000-3``) as a comparable pair."""
    ms, _, seq = event_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return (-1, -1)


def already_seen(event_id: str, last_id: str) -> bool:
    """Whether ``event_id`` is at or before ``last_id``: in every shard's position (``,``-joined) when there are
    several. An id the watcher cannot compare counts as new."""
    new, last = event_id.split(","), last_id.split(",")
    if len(new) != len(last):
        return False
    pairs = [(event_key(n), event_key(o)) for n, o in zip(new, last, strict=True)]
    return all(n != (-1, -1) and n <= o for n, o in pairs)


@click.command("watch")
@click.option("--symbol", metavar="SYMBOL", help="Only events of this symbol (BTC/USDT, BTCUSDT or BTC-USDT).")
@click.option(
    "--types",
    metavar="TYPES",
    help="Comma-separated event types: exact (order.filled), a group (order) or a prefix (order.*).",
)
@click.option(
    "--since",
    metavar="ID|all",
    help="First replay what the events stream still holds after this event id (or all of it), then follow.",
)
@click.option("-n", "--count", type=COUNT, help="Exit after N events.")
@json_option(help="One JSON object per line (id, type, data), for scripts and jq.")
@account_api_options
def watch(api: Api, symbol: str | None, types: str | None, since: str | None, count: int | None, as_json: bool) -> None:
    """Tail the exchange's live events: orders, fills, balances, tickers, one line each.

    Event types: order.created, order.filled, order.canceled, order.expired, order.triggered,
    balance.changed, ticker.updated, market.created, exchange.reset. When the API goes away, the watcher reconnects with
    backoff (saying so on stderr) and resumes right after the last event it printed. Ctrl-C stops it.

    \b
    mockx watch                              everything, from now on
    mockx watch --types order --symbol BTC/USDT
    mockx watch --json --since all | jq .    replay the stream, then follow
    """
    import contextlib
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM: the normal way to stop
        Watcher(api, symbol, types, since, count, as_json).run()


class Watcher:
    def __init__(
        self, api: Api, symbol: str | None, types: str | None, since: str | None, count: int | None, as_json: bool
    ) -> None:
        self.api = api
        self.params = {"symbol": symbol, "types": types}
        self.since = since
        self.remaining = count
        self.as_json = as_json
        self.last_id: str | None = None  # resume point: the last event printed, or where the stream started

    def run(self) -> None:
        import time

        import httpx

        from cli.client import EXIT_UNREACHABLE, START_HINT, reason
        from cli.output import note

        connected_once = False
        backoff = FIRST_BACKOFF
        while True:
            try:
                with self._open() as response:
                    if response.status_code != 200:
                        why = self._refused(response)
                    else:
                        if connected_once:
                            where = f" after event {self.last_id}" if self.last_id else ""
                            note(f"mockx watch: reconnected to {self.api.url}, resuming{where}")
                        else:
                            note(f"mockx watch: following the events of {self.api.url} (Ctrl-C stops)")
                        connected_once, backoff = True, FIRST_BACKOFF
                        if self._follow(response.iter_lines()):
                            return
                        why = "the API closed the event stream"
            except httpx.TransportError as exc:
                if not connected_once:
                    fail(f"could not reach the MockX API at {self.api.url} ({reason(exc)}): {START_HINT}",
                         EXIT_UNREACHABLE)  # fmt: skip
                why = f"lost the event stream ({reason(exc)})"
            where = f", resuming after event {self.last_id}" if self.last_id else ""
            note(f"mockx watch: {why}; reconnecting to {self.api.url} in {backoff:g} s{where}")
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _open(self) -> Any:
        import httpx

        params = dict(self.params)
        headers = {"accept": "text/event-stream", "cache-control": "no-cache"}
        if self.last_id is not None:
            headers["last-event-id"] = self.last_id
        else:
            params["since"] = self.since
        query = {k: v for k, v in params.items() if v is not None}
        timeout = httpx.Timeout(READ_TIMEOUT, connect=min(self.api.timeout, 5.0))
        return self.api.client().stream("GET", "/events", params=query, headers=headers, timeout=timeout)

    def _refused(self, response: httpx.Response) -> str:
        """A 4xx ends the watcher (bad filter, bad key); a 5xx is retried."""
        response.read()
        if response.status_code < 500 and response.status_code not in (408, 429):
            refused(response.status_code, response.text, f"GET {self.api.url}/events")
        from cli.client import error_of

        code, message = error_of(response.text)
        return f"the API answered {response.status_code} ({code + ': ' if code else ''}{message})"

    def _follow(self, lines: Iterable[str]) -> bool:
        """Print the events of one connection; True when ``--count`` events have been printed."""
        for message in parse_sse(lines):
            if message.id is not None:
                if self.last_id is not None and already_seen(message.id, self.last_id):
                    continue  # already printed (or the resume point repeated)
                self.last_id = message.id
            if message.event == "closed":  # the API ended the stream: resume from where it says
                self._closed(message.data)
                return False
            if message.data is None:
                continue
            self._print(message)
            if self.remaining is not None:
                self.remaining -= 1
                if self.remaining <= 0:
                    return True
        return False

    def _closed(self, data: str | None) -> None:
        from cli.client import decode
        from cli.output import note

        try:
            notice = decode(data or "{}")
        except ValueError:
            notice = {}
        last = notice.get("lastId") if isinstance(notice, dict) else None
        if isinstance(last, str) and last:
            self.last_id = last
        reason = notice.get("reason") if isinstance(notice, dict) else None
        note(f"mockx watch: the API ended the event stream ({reason or 'no reason given'})")

    def _print(self, message: Message) -> None:
        import sys

        assert message.data is not None
        if self.as_json:
            sys.stdout.write(message.data.replace("\n", " ") + "\n")
            sys.stdout.flush()
            return
        from cli.client import decode
        from cli.output import console

        try:
            event = decode(message.data)
        except ValueError:
            event = {"type": message.event, "data": {"raw": message.data}}
        console().print(render(message.id, message.event, event))


def render(event_id: str | None, sse_type: str | None, event: dict[str, Any]) -> str:
    """One event as one line of Rich markup: time, type, symbol, side, amount @ price, status, fee."""
    from cli.output import num, side, status, styled, when

    etype = str(event.get("type") or sse_type or "")
    data = event.get("data") or {}
    ms = event_key(event_id)[0] if event_id else -1
    cols = [
        styled(when(ms, millis=True) if ms >= 0 else "--:--:--.---", "dim"),
        styled(f"{etype:<15}", TYPE_STYLES.get(etype)),
    ]
    if etype.startswith("order.") and isinstance(data.get("order"), dict):
        o, t = data["order"], data.get("trade")
        if isinstance(t, dict):
            amount, price, fee = t.get("amount"), t.get("price"), t.get("fee")
        else:
            price = o.get("price") if o.get("price") is not None else o.get("type")
            amount, fee = o.get("amount"), o.get("fee")
        cols += [
            styled(f"{o.get('symbol', ''):<10}", "bold"),
            side(f"{o.get('side', ''):<4}"),
            f"{num(amount)} @ {num(price)}",
            status(str(o.get("status") or "")),
            _fee(fee),
            styled(f"order {o.get('id')}", "dim"),
        ]
    elif etype == "balance.changed" and isinstance(data.get("assets"), dict):
        rows = [f"{a} {num(r.get('free'))} free, {num(r.get('used'))} used" for a, r in data["assets"].items()]
        cols.append("; ".join(rows))
    elif etype == "ticker.updated" and isinstance(data.get("ticker"), dict):
        t = data["ticker"]
        cols += [
            styled(f"{t.get('symbol', ''):<10}", "bold"),
            f"last {num(t.get('last'))}  bid {num(t.get('bid'))}  ask {num(t.get('ask'))}",
        ]
    elif etype == "market.created" and isinstance(data.get("market"), dict):
        cols += [styled(f"{data['market'].get('symbol', ''):<10}", "bold"), "new market"]
    elif etype == "exchange.reset":
        cols.append("balances, orders, trades and events wiped")
    else:
        import json

        cols.append(styled(json.dumps(data, default=str, separators=(",", ":")), None))
    return "  ".join(c for c in cols if c)


def _fee(fee: Any) -> str:
    """``fee 0.1 USDT``; nothing for a fee of zero."""
    from cli.render import fee as fee_text

    return f"fee {fee_text(fee)}" if isinstance(fee, dict) and fee.get("cost") else ""


COMMANDS: list[click.Command] = [watch]
