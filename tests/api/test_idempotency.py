"""``Idempotency-Key``: a replay returns the first response (also after Redis is flushed),
does the work once, and the same key with another body is 422."""

from __future__ import annotations

import os
import uuid

from autonomos.engines.redis import delete_prefix
from tests.api.conftest import files_config


def test_replay_returns_the_first_response_even_after_a_redis_flush(client, rt, make_tenant, key_for):
    tenant = make_tenant("api").id
    headers = {**key_for(tenant), "Idempotency-Key": uuid.uuid4().hex}
    body = {"provider": "files", "name": "once", "config": files_config(rt, tenant),
            "credentials": {"token": "t"}}
    first = client.post("/connections", headers=headers, json=body)
    assert first.status_code == 201, first.text
    if os.environ.get("AOS_TEST_REDIS_URL"):  # a shared server: flush only this session's keys
        delete_prefix(rt.redis, f"{rt.settings.redis_namespace}:")
    else:
        rt.redis.flushall()
    again = client.post("/connections", headers=headers, json=body)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/connections", headers=headers).json()["items"]
    assert [c["name"] for c in listed] == ["once"]


def test_same_key_with_another_body_is_422(client, rt, make_tenant, key_for):
    tenant = make_tenant("api").id
    headers = {**key_for(tenant), "Idempotency-Key": "k-1"}
    body = {"provider": "files", "name": "a", "config": files_config(rt, tenant)}
    assert client.post("/connections", headers=headers, json=body).status_code == 201
    other = client.post("/connections", headers=headers, json={**body, "name": "b"})
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-mismatch")


def test_a_failed_request_does_not_consume_the_key(client, make_tenant, key_for):
    headers = {**key_for(make_tenant("api").id), "Idempotency-Key": "k-2"}
    body = {"provider": "nope", "name": "a", "config": {}}
    assert client.post("/connections", headers=headers, json=body).status_code == 404
    assert client.post("/connections", headers=headers, json=body).status_code == 404


def test_keys_are_per_tenant(client, rt, make_tenant, key_for):
    for _ in range(2):
        tenant = make_tenant("api").id
        body = {"provider": "files", "name": "same", "config": files_config(rt, tenant)}
        headers = {**key_for(tenant), "Idempotency-Key": "shared"}
        response = client.post("/connections", headers=headers, json=body)
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
