"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis), bounded for CI.

Every operation gets schema-valid requests (positive) and schema-violating ones (negative) against a real
server and a real Valkey, with a funded account and live prices so that many orders really execute. Every
response must be documented and match its schema, no request may cause a 5xx, and afterwards the core's
money invariants must still hold to the last minor unit.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.settings import Settings
from tests.support.http import LiveServer
from tests.support.money import audit_problems

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 12}
STREAMS = {"/events"}  # never-ending responses: covered by test_events
WIPES = {"DELETE /admin/data", "POST /admin/reset"}
CHECKS = {
    GenerationMode.POSITIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ],
    # Negative data may still be acceptable (money as a string, say): only "no 5xx" and "documented shape".
    GenerationMode.NEGATIVE: [not_a_server_error, response_schema_conformance],
}


def _prime(base: str, session: requests.Session) -> None:
    for asset, amount in (("USDT", 1_000_000), ("BTC", 10), ("ETH", 100)):
        assert session.post(f"{base}/admin/fund", json={"asset": asset, "amount": amount}).status_code == 200
    for symbol, price in (("BTC/USDT", 50000), ("ETH/USDT", 2500), ("ETH/BTC", 0.05)):
        assert session.patch(f"{base}/admin/tickers/{symbol}/price", json={"price": price}).status_code == 200
    body: dict[str, Any] = {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 0.01, "price": 49000}
    assert session.post(f"{base}/orders", json=body).status_code == 201


def _fuzz(op: Any, mode: GenerationMode, examples: int, base: str, session: requests.Session, calls: Any) -> None:
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base, session=session, timeout=10)
        checks = CHECKS[mode]
        if case.operation.label == "GET /admin/health" and response.status_code == 503:
            # the one documented 503 on purpose: "degraded" (here: fewer workers than minWorkers asks for)
            assert response.json()["status"] == "degraded", response.text
            checks = [c for c in checks if c is not not_a_server_error]
        case.validate_response(response, checks=checks)
        calls[case.operation.label][response.status_code] += 1

    run()


def test_fuzz_the_api_from_its_schema(live: LiveServer, settings: Settings) -> None:
    session = requests.Session()
    schema = schemathesis.openapi.from_url(f"{live.url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    fuzzed = [op for op in operations if op.path not in STREAMS]
    assert len(fuzzed) >= 24, [op.label for op in fuzzed]
    # the wiping operations first, then a funded account with prices for everything else
    fuzzed.sort(key=lambda op: op.label not in WIPES)
    calls: dict[str, Counter[int]] = defaultdict(Counter)
    for op in fuzzed:
        if op.label not in WIPES and not calls["primed"]:
            _prime(live.url, session)
            calls["primed"][0] += 1
        for mode, examples in EXAMPLES.items():
            _fuzz(op, mode, examples, live.url, session, calls)
    assert sum(sum(c.values()) for c in calls.values()) >= 300, calls
    assert calls["POST /orders"][201] > 0, calls["POST /orders"]
    assert calls["POST /orders"][400] > 0, calls["POST /orders"]
    assert calls["PATCH /admin/tickers/{symbol}/price"][200] > 0
    assert session.get(f"{live.url}/overview/trades").json()["trades"] > 0
    assert asyncio.run(audit_problems(settings)) == []


@pytest.mark.parametrize("path", ["/schema/openapi.json"])
def test_the_schema_is_valid_openapi(live: LiveServer, path: str) -> None:
    schema = schemathesis.openapi.from_url(live.url + path)
    assert schema.raw_schema["openapi"].startswith("3.")
    labels = {op.ok().label for op in schema.get_all_operations()}  # type: ignore[union-attr]
    assert "POST /orders" in labels
    assert "PATCH /admin/tickers/{symbol}/price" in labels
