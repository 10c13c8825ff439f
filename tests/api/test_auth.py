"""Keys and roles: 401 without a valid key (unknown, malformed, revoked, even when cached),
403 for a platform key on tenant routes (the route-table walks of readers and revoked keys are
in ``test_isolation``)."""

from __future__ import annotations

import time
import uuid

from autonomos.services import apikeys, platform_keys
from tests.api.routes import OPEN_ROUTES, PLATFORM_PREFIX, api_routes, fill, id_params

PROBLEM = "application/problem+json"


def test_missing_unknown_and_malformed_keys_get_401(client):
    for headers in ({}, {"Authorization": "Bearer aos_000000000000_nope"}, {"Authorization": "Basic x"},
                    {"Authorization": "Bearer not-a-key"}):
        response = client.get("/connections", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["status"] == 401


def test_key_is_stored_as_prefix_and_argon2_hash_only(rt, make_tenant):
    tenant = make_tenant("api").id
    info, key = apikeys.create_key(rt, tenant, "reader", actor="test")
    from sqlalchemy import select

    from autonomos.store.tables import ApiKey

    with rt.db.tenant(tenant) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.id == info.id))
    assert key.startswith(f"aos_{row.prefix}_") and row.key_hash.startswith("$argon2")
    assert key not in row.key_hash and row.scopes == ["reader"]


def test_revoked_key_gets_401_on_every_server_within_seconds(rt, client, make_tenant):
    tenant = make_tenant("api").id
    info, key = apikeys.create_key(rt, tenant, "reader", actor="test")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/connections", headers=headers).status_code == 200  # now cached
    apikeys.revoke_key(rt, tenant, info.prefix, actor="test")
    assert _refused_within(client, headers, 5) == 401


def test_reviewer_decides_proposals_but_manages_nothing(client, make_tenant, key_for):
    headers = key_for(make_tenant("api").id, "reviewer")
    assert client.post(f"/proposals/{uuid.uuid4()}/approve", headers=headers, json={}).status_code == 404
    assert client.post("/connections", headers=headers, json={"provider": "files", "name": "x"}).status_code == 403


def test_platform_key_reads_no_tenant_data(rt, client, app):
    _, key = platform_keys.create_platform_key(rt, actor="test")
    headers = {"Authorization": f"Bearer {key}"}
    for method, path in api_routes(app):
        if path in OPEN_ROUTES or method != "GET" or path.startswith(PLATFORM_PREFIX):
            continue
        url = fill(path, {name: uuid.uuid4() for name in id_params(path)})
        response = client.get(url, headers=headers, params={"entity": "contact"})
        assert response.status_code == 403, (path, response.text)


def test_a_wrong_secret_under_a_real_prefix_is_refused_and_remembered(rt, client, app, make_tenant):
    tenant = make_tenant("api").id
    info, key = apikeys.create_key(rt, tenant, "reader", actor="test")
    forged = f"aos_{info.prefix}_{'x' * 43}"
    assert client.get("/connections", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert app.state.key_cache.refused(forged) and not app.state.key_cache.refused(key)
    assert client.get("/connections", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_cached_key_is_renewed_in_the_background_and_a_revoked_one_dropped(rt, make_tenant, monkeypatch):
    """Past half its TTL a cached key keeps serving while its row is read again (no argon2:
    ``verify_key`` is not called again); revoked without any announcement reaching this
    server, it is refused within the TTL all the same."""
    from starlette.testclient import TestClient

    from autonomos.api import create_app
    from autonomos.api.auth import KeyCache

    app = create_app(rt, listen_for_revocations=False)  # no revocation announcements: the TTL path
    app.state.key_cache = KeyCache(ttl=1.0)
    tenant = make_tenant("api").id
    info, key = apikeys.create_key(rt, tenant, "reader", actor="test")
    headers = {"Authorization": f"Bearer {key}"}
    verified = []
    real_verify = apikeys.verify_key
    monkeypatch.setattr(apikeys, "verify_key", lambda rt_, k: verified.append(k) or real_verify(rt_, k))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/connections", headers=headers).status_code == 200
        deadline = time.monotonic() + 3  # three TTLs, each renewed on the way
        while time.monotonic() < deadline:
            assert client.get("/connections", headers=headers).status_code == 200
            time.sleep(0.05)
        assert len(verified) == 1  # the first request only: renewals read the row, not argon2
        apikeys.revoke_key(rt, tenant, info.prefix, actor="test")
        assert _refused_within(client, headers, 5) == 401


def _refused_within(client, headers: dict[str, str], seconds: float) -> int:
    """The status of ``/connections`` once it stops being 200, or 200 if it never did."""
    deadline = time.monotonic() + seconds
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = client.get("/connections", headers=headers).status_code
        time.sleep(0.05)
    return status
