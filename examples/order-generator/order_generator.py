"""A small trading bot for MockX: random market and limit orders through the REST API.

Run it while prices move (``mockx feed``, or compose's ``feed`` profile) and watch the fills in
``mockx watch``. It funds the account once, then places orders at ``--rate`` per second: buys while it has
cash, sells what it bought, limit orders a little away from the last price, and cancels its oldest resting
order when more than ``--max-open`` rest. A summary (JSON) goes to stdout at the end; one line per order
goes to stderr. Exit status: 0, or 1 if the API answered with a server error, refused the key or could not
be reached.

It finds the API and the key as the ``mockx`` commands do (``cli.client``, installed with MockX):
``--url`` / ``MOCKX_URL``, else the URL ``mockx up`` recorded; ``--api-key`` / ``MOCKX_API_KEY``, else the
key ``mockx up`` stored in the data directory, else ``API_KEY``.

    python examples/order-generator/order_generator.py --duration 60 --rate 5 --seed 42
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx

from cli.client import auth_hint, resolve

REFRESH_SECONDS = 1.0


@dataclass
class Market:
    symbol: str
    base: str
    quote: str
    amount_step: Decimal
    price_tick: Decimal
    min_amount: Decimal
    min_cost: Decimal


@dataclass
class Stats:
    placed: int = 0
    filled: int = 0
    resting: int = 0
    canceled: int = 0
    errors: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> dict[str, Any]:
        return {
            "placed": self.placed,
            "filled": self.filled,
            "resting": self.resting,
            "canceled": self.canceled,
            "rejected": dict(self.rejected),
            "errors": self.errors,
            "seconds": round(time.monotonic() - self.started, 3),
        }


class ApiError(Exception):
    """The API answered with a server error, or could not be reached."""


class Bot:
    def __init__(self, client: httpx.Client, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args
        self.rng = random.Random(args.seed)
        self.stats = Stats()
        self.markets: dict[str, Market] = {}
        self.prices: dict[str, Decimal] = {}
        self.free: dict[str, Decimal] = {}
        self.open_orders: deque[str] = deque()
        self.refreshed = 0.0

    # --- the API -------------------------------------------------------------------------------------------
    def call(self, method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, Any]:
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ApiError(f"{method} {self.client.base_url.join(path)}: {exc}") from None
        if response.status_code >= 500:
            raise ApiError(f"{method} {response.url}: {response.status_code} {response.text[:200]}")
        try:
            payload = json.loads(response.text, parse_float=Decimal, parse_int=Decimal)
        except ValueError:
            payload = None
        if response.status_code == 401:
            raise ApiError(f"{method} {response.url}: 401 {_error(payload)}: {_message(payload)} ({auth_hint()})")
        return response.status_code, payload

    def get(self, path: str) -> Any:
        status, payload = self.call("GET", path)
        if status != 200:
            raise ApiError(f"GET {path}: {status} {_error(payload)}")
        return payload

    # --- market data and balances ----------------------------------------------------------------------------
    def refresh(self) -> None:
        tickers = self.get("/tickers")
        wanted = self.args.symbols or sorted(tickers)
        self.prices = {s: Decimal(tickers[s]["last"]) for s in wanted if s in tickers and tickers[s]["last"]}
        if set(self.prices) - set(self.markets):
            for m in self.get("/markets"):
                limits = m.get("limits") or {}
                self.markets[m["symbol"]] = Market(
                    symbol=m["symbol"],
                    base=m["base"],
                    quote=m["quote"],
                    amount_step=Decimal(m["precision"]["amount"]),
                    price_tick=Decimal(m["precision"]["price"]),
                    min_amount=Decimal((limits.get("amount") or {}).get("min") or 0),
                    min_cost=Decimal((limits.get("cost") or {}).get("min") or 0),
                )
        balance = self.get("/balance")
        self.free = {asset: Decimal(amount) for asset, amount in (balance.get("free") or {}).items()}
        self.refreshed = time.monotonic()

    def wait_for_prices(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            if self.prices:
                return
            if time.monotonic() > deadline:
                raise ApiError("no prices to trade on: start `mockx feed` or set a price (mockx set-price)")
            log("waiting for prices (mockx feed publishes them)")
            time.sleep(1.0)

    def fund(self) -> None:
        amount = Decimal(self.args.fund)
        if amount <= 0:
            return
        for quote in sorted({self.markets[s].quote for s in self.prices if s in self.markets}):
            if self.free.get(quote, Decimal(0)) < amount / 2:
                status, payload = self.call("POST", "/admin/fund", {"asset": quote, "amount": str(amount)})
                if status != 200:
                    raise ApiError(f"funding {quote}: {status} {_error(payload)}")
                log(f"funded {amount} {quote}")
        self.refresh()

    # --- trading ---------------------------------------------------------------------------------------------
    def step(self) -> None:
        if time.monotonic() - self.refreshed > REFRESH_SECONDS:
            self.refresh()
        symbol = self.rng.choice(sorted(s for s in self.prices if s in self.markets))
        market, last = self.markets[symbol], self.prices[symbol]
        notional = Decimal(str(round(self.rng.uniform(self.args.min_notional, self.args.max_notional), 2)))
        side = "buy" if self.rng.random() < 0.5 else "sell"
        held = self.free.get(market.base, Decimal(0))
        if side == "sell" and held * last < notional:
            side = "buy" if self.free.get(market.quote, Decimal(0)) >= notional else "sell"
        order_type = "limit" if self.rng.random() < self.args.limit_share else "market"
        body = {"symbol": symbol, "side": side, "type": order_type}
        price = last
        if order_type == "limit":
            away = Decimal(str(round(self.rng.uniform(-0.002, 0.01), 5)))
            price = _down(last * (1 - away if side == "buy" else 1 + away), market.price_tick)
            body["price"] = str(price)
        amount = _down(notional / price, market.amount_step)
        if side == "sell":
            amount = min(amount, _down(held, market.amount_step))
        if amount <= 0 or amount < market.min_amount or amount * price < market.min_cost:
            return
        body["amount"] = str(amount)
        self.place(body, price)
        if len(self.open_orders) > self.args.max_open:
            self.cancel(self.open_orders.popleft())

    def place(self, body: dict[str, str], price: Decimal) -> None:
        status, payload = self.call("POST", "/orders", body)
        where = f" @ {body['price']}" if "price" in body else ""
        what = f"{body['side']} {body['type']} {body['amount']} {body['symbol']}{where}"
        if status != 201:
            code = _error(payload)
            self.stats.rejected[code] += 1
            log(f"{what} -> rejected: {code}")
            return
        self.stats.placed += 1
        if payload["status"] == "open":
            self.stats.resting += 1
            self.open_orders.append(str(payload["id"]))
        elif payload["status"] == "closed":
            self.stats.filled += 1
        log(f"{what} -> {payload['status']} #{payload['id']}")
        market, amount = self.markets[body["symbol"]], Decimal(body["amount"])
        spent, cost = (market.base, amount) if body["side"] == "sell" else (market.quote, amount * price)
        self.free[spent] = self.free.get(spent, Decimal(0)) - cost  # until the next refresh

    def cancel(self, order_id: str) -> None:
        status, payload = self.call("POST", f"/orders/{order_id}/cancel")
        if status == 200:
            self.stats.canceled += 1
            log(f"canceled #{order_id}")
        elif status != 404:  # 404: it filled in the meantime
            self.stats.rejected[_error(payload)] += 1

    def run(self) -> None:
        interval = 1.0 / self.args.rate
        deadline = time.monotonic() + self.args.duration if self.args.duration > 0 else float("inf")
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            try:
                self.step()
            except ApiError as exc:
                self.stats.errors += 1
                log(f"error: {exc}")
            next_at += interval
            time.sleep(max(0.0, min(next_at, deadline) - time.monotonic()))


def _down(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded down to a multiple of ``step``."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def _error(payload: Any) -> str:
    """The ccxt error code of an error body (``{"error": {"code": ...}}``)."""
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("code", "Error"))
    return "Error"


def _message(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("message", ""))
    return ""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--url",
        default=os.environ.get("MOCKX_URL"),
        help="MockX API (env MOCKX_URL; default: the URL `mockx up` recorded, else http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("MOCKX_API_KEY"),
        help="x-api-key (env MOCKX_API_KEY; default: the key `mockx up` stored in the data directory, else "
        "API_KEY); not needed with TEST_ENV=true",
    )
    parser.add_argument(
        "--symbols", type=lambda s: [x.strip().upper() for x in s.split(",") if x.strip()], default=[],
        help="comma-separated symbols to trade (default: every symbol with a price)",
    )  # fmt: skip
    parser.add_argument("--rate", type=float, default=2.0, help="orders per second (default 2)")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 runs until Ctrl-C")
    parser.add_argument("--seed", type=int, default=None, help="random seed: the same seed, the same choices")
    parser.add_argument("--limit-share", type=float, default=0.6, help="share of limit orders (default 0.6)")
    parser.add_argument("--max-open", type=int, default=20, help="resting orders kept before cancelling")
    parser.add_argument("--min-notional", type=float, default=20.0, help="smallest order, in the quote asset")
    parser.add_argument("--max-notional", type=float, default=500.0, help="largest order, in the quote asset")
    parser.add_argument("--fund", default="100000", help="credit each quote asset this much at start (0: no)")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the first prices")
    args = parser.parse_args(argv)
    if not args.rate > 0:
        parser.error("--rate must be positive")
    if not 0 < args.min_notional <= args.max_notional:
        parser.error("need 0 < --min-notional <= --max-notional")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.url, key = resolve(args.url, args.api_key)
    headers = {"x-api-key": key} if key else {}
    with httpx.Client(base_url=args.url, headers=headers, timeout=10.0) as client:
        bot = Bot(client, args)
        try:
            bot.wait_for_prices(args.wait)
            bot.fund()
            log(f"trading {', '.join(sorted(bot.prices))} at {args.rate:g} orders/s on {args.url}")
            bot.run()
        except ApiError as exc:
            bot.stats.errors += 1
            log(f"error: {exc}")
        except KeyboardInterrupt:
            log("stopped")
    print(json.dumps(bot.stats.summary()))
    return 1 if bot.stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
