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
