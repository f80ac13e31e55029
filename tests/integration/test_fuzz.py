"""Schemathesis fuzzes every operation of /api/openapi.json: no 5xx, documented statuses, errors in one shape."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.openapi_check import SPEC

EXAMPLES_PER_OPERATION = 25
STREAM_PATHS = {"/api/logs-stream", "/api/recommendations-stream", "/api/status-stream"}
INTERNAL_TOKEN = "fuzz-internal-token-51c0"
FAKE_WORLD = {"popular_members": 5}

schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture(scope="module")
def fuzz_app(start_app, fakes):
    """Letterboxd on the fakes (unknown members are a 404, never a 503), limits off, a token to guess."""
    return start_app({"ratelimit_enabled": False, "letterboxd_base_url": fakes.letterboxd.url,
                      "internal_token": INTERNAL_TOKEN, "max_upload_mb": 1.0})


@pytest.mark.timeout(120, func_only=True)
@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_survives_fuzzing(case, fuzz_app):
    checks = [not_a_server_error, status_code_conformance, content_type_conformance]
    if case.path not in STREAM_PATHS:
        checks.append(response_schema_conformance)
    response = case.call_and_validate(base_url=fuzz_app.url, checks=checks, timeout=30)
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) >= {"error", "message"}, body
        assert isinstance(body["error"], str) and isinstance(body["message"], str) and body["message"]
        assert INTERNAL_TOKEN not in response.text


# Bodies no generator writes: numbers beyond a double, the non-standard constants, huge integers, and
# nesting far deeper than any parser's recursion limit. Each is sent raw to every JSON operation.
EXTREME_BODIES = {
    "1e400": '{"username": "alice", "count": 1e400}',
    "-1e400": '{"username": "alice", "count": -1e400, "filters": {"max_runtime": 1e400}}',
    "Infinity": '{"username": "alice", "count": Infinity}',
    "NaN": '{"username": "alice", "count": NaN}',
    "10^5000": '{"username": "alice", "count": 1' + "0" * 5000 + "}",
    "deep arrays": "[" * 100_000 + "]" * 100_000,
    "deep objects": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "deep filters": '{"username": "alice", "filters": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}",
}
JSON_OPERATIONS = [
    result.ok() for result in schema.get_all_operations()
    if result.ok().method.upper() == "POST" and "application/json" in {
        body.media_type for body in result.ok().body}
]


def test_the_extreme_bodies_reach_every_json_operation():
    assert {(op.method.upper(), op.path) for op in JSON_OPERATIONS} >= {("POST", "/api/recommend"),
                                                                         ("POST", "/api/get_pages")}


@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("name", list(EXTREME_BODIES))
@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=lambda op: op.path)
def test_extreme_numbers_and_deep_nesting_are_a_documented_400(operation, name, fuzz_app):
    case = operation.Case(media_type="application/json")
    response = case.call_and_validate(
        base_url=fuzz_app.url, checks=[not_a_server_error, status_code_conformance, content_type_conformance],
        data=EXTREME_BODIES[name].encode(), headers={"Content-Type": "application/json"}, timeout=30)
    assert len(response.request.body) == len(EXTREME_BODIES[name]), "the raw body was sent as it is"
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "message"}
