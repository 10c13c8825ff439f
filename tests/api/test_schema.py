"""The OpenAPI document is the truth: schemathesis generates requests for every operation
(valid and invalid, a bounded number each) and every answer must be no 5xx, of a declared
status and content type, and match its declared schema. The caller is an admin of a tenant
of its own with a few objects, so generated requests reach the handlers, not just the door."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from autonomos.api import create_app
from autonomos.services import apikeys, tenants
from tests.api.routes import ENDLESS

EXAMPLES = 12
"""Examples per operation: enough to walk each route's checks, bounded to keep the suite short."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _labels() -> list[str]:
    """Every operation of the document, read at collection (building the app needs no engine)."""
    doc = create_app(None, listen_for_revocations=False).openapi()  # type: ignore[arg-type]
    return [f"{method.upper()} {path}" for path, item in doc["paths"].items() for method in item
            if path not in ENDLESS]


@pytest.fixture(scope="module")
def api_schema(rt):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(rt, listen_for_revocations=False))


@pytest.fixture(scope="module")
def fuzz_headers(rt) -> dict[str, str]:
    tenant = tenants.create_tenant(rt, f"fuzz-{uuid.uuid4().hex[:8]}", actor="test")
    # generous limits: the generator is fast, and 429s would hide the handlers from it
    tenants.update_settings(rt, str(tenant.id), {"api_rate_limit": {"per_second": 10_000, "burst": 10_000}},
                            actor="test")
    _, key = apikeys.create_key(rt, tenant.id, "admin", actor="test")
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("label", _labels())
def test_every_operation_answers_as_documented(label, api_schema, fuzz_headers):
    operation = api_schema.find_operation_by_label(label)
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(cases)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(headers=fuzz_headers, checks=CHECKS)

    run()
