"""Rate limits per key: a token bucket in Redis sized by the tenant's setting, 429 with
Retry-After once it is empty; without Redis the limiter lets requests through and counts it."""

from __future__ import annotations

from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from autonomos.api import create_app
from autonomos.runtime import Runtime
from autonomos.services import apikeys, tenants
from tests.conftest import make_settings


def test_empty_bucket_answers_429_with_retry_after(rt, client, make_tenant, key_for):
    tenant = make_tenant("api")
    tenants.update_settings(rt, tenant.slug, {"api_rate_limit": {"per_second": 0.2, "burst": 3}}, actor="test")
    headers = key_for(tenant.id, "reader")
    statuses = [client.get("/connections", headers=headers) for _ in range(4)]
    assert [s.status_code for s in statuses] == [200, 200, 200, 429]
    refused = statuses[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 5
    other = key_for(tenant.id, "reader")  # the bucket is per key
    assert client.get("/connections", headers=other).status_code == 200


def test_limiter_fails_open_without_redis(rt, settings, make_tenant, tmp_path):
    tenant = make_tenant("api").id
    _, key = apikeys.create_key(rt, tenant, "reader", actor="test")
    broken = Runtime(make_settings(rt.database_url, "redis://127.0.0.1:1/0", tmp_path, settings.redis_namespace))
    before = REGISTRY.get_sample_value("aos_api_rate_limit_fail_open_total") or 0
    try:
        app = create_app(broken, listen_for_revocations=False)
        with TestClient(app, raise_server_exceptions=False) as c:
            response = c.get("/proposals", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        assert REGISTRY.get_sample_value("aos_api_rate_limit_fail_open_total") > before
    finally:
        broken.close()
