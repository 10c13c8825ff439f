"""Tenant walls and roles, proven for every route of the route table (read from the app, so a
route added later is walked too): tenant A's admin key gets 404 for tenant B's object on every
method of every route that takes an id, exactly as for an id that exists nowhere, and B's
objects read the same afterwards; a reader key gets 403 on every mutating route; a revoked
key gets 401 everywhere."""

from __future__ import annotations

from autonomos.services import apikeys
from tests.api.routes import (
    ENDLESS,
    GLOBAL_PARAMS,
    ID_VALUES,
    MUTATING,
    OPEN_ROUTES,
    PLATFORM_PREFIX,
    api_routes,
    body_for,
    fill,
    id_params,
    nowhere,
)

COMPARED = ("status", "type", "title", "detail")
PROBLEM = "application/problem+json"


def _tenant_id_routes(app) -> list[tuple[str, str]]:
    return [(m, p) for m, p in api_routes(app) if id_params(p) and not p.startswith(PLATFORM_PREFIX)
            and not set(id_params(p)) & GLOBAL_PARAMS]


def _b_values(seeded) -> dict[str, object]:
    return {p: getattr(seeded, attr) for p, attr in ID_VALUES.items()}


def _b_views(client, app, seeded, headers) -> dict[str, object]:
    """Every GET of B's objects (and B's lists), as B sees them."""
    views = {}
    for method, path in api_routes(app):
        if method != "GET" or path in OPEN_ROUTES or path in ENDLESS or path.startswith(PLATFORM_PREFIX) or "{provider}" in path:
            continue
        response = client.get(fill(path, _b_values(seeded)), headers=headers,
                              params={"entity": "contact", "status": ""})
        views[path] = (response.status_code, response.text)
    return views


def test_every_id_route_answers_404_for_another_tenants_object(rt, client, app, seeded, make_tenant, key_for):
    a_admin = key_for(make_tenant("api-a").id, "admin")
    b_admin = key_for(seeded.tenant_id, "admin")
    before = _b_views(client, app, seeded, b_admin)
    assert {path: status for path, (status, _) in before.items() if status != 200} == {}  # B reads its own

    routes = _tenant_id_routes(app)
    assert {name for _, p in routes for name in id_params(p)} == set(ID_VALUES), "every id kind is walked"
    assert {m for m, _ in routes} >= {"GET", "POST", "PATCH", "DELETE"}
    for method, path in routes:
        unknown = set(id_params(path)) - set(ID_VALUES)
        assert not unknown, f"{path}: seed tenant B with an object for {unknown} (tests/api/conftest.py)"
        body = body_for(app, method, path)
        theirs = fill(path, {p: getattr(seeded, ID_VALUES[p]) for p in id_params(path)})
        missing = fill(path, nowhere(app, method, path))
        got = client.request(method, theirs, headers=a_admin, json=body)
        absent = client.request(method, missing, headers=a_admin, json=body)
        assert got.status_code == 404, (method, path, got.text)
        assert got.headers["content-type"] == PROBLEM
        assert {k: got.json()[k] for k in COMPARED} == {k: absent.json()[k] for k in COMPARED}, (method, path)

    assert _b_views(client, app, seeded, b_admin) == before  # nothing of B changed
    keys = {k.id: k.revoked for k in apikeys.list_keys(rt, seeded.tenant_id)}
    assert keys[seeded.key_id] is False  # A's revoke did not reach B's key


def test_reader_gets_403_on_every_mutating_route_even_on_its_own_objects(client, app, seeded, key_for):
    reader = key_for(seeded.tenant_id, "reader")
    routes = [(m, p) for m, p in api_routes(app) if m in MUTATING]
    assert len(routes) >= 20
    values = {**_b_values(seeded), "tenant_id": seeded.tenant_id}
    for method, path in routes:
        response = client.request(method, fill(path, values), headers=reader, json=body_for(app, method, path))
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM


def test_tenant_keys_cannot_reach_the_platform_routes(client, app, seeded, key_for):
    admin = key_for(seeded.tenant_id, "admin")
    routes = [(m, p) for m, p in api_routes(app) if p.startswith(PLATFORM_PREFIX)]
    assert {m for m, _ in routes} == {"GET", "POST", "DELETE"}
    for method, path in routes:
        url = fill(path, {"tenant_id": seeded.tenant_id})
        response = client.request(method, url, headers=admin, json=body_for(app, method, path))
        assert response.status_code == 403, (method, path, response.text)
    assert client.get(f"/connections/{seeded.connection_id}", headers=admin).status_code == 200  # still there


def test_a_revoked_key_gets_401_on_every_route(rt, client, app, seeded):
    info, key = apikeys.create_key(rt, seeded.tenant_id, "admin", actor="test")
    apikeys.revoke_key(rt, seeded.tenant_id, info.prefix, actor="test")
    headers = {"Authorization": f"Bearer {key}"}
    values = {**_b_values(seeded), "tenant_id": seeded.tenant_id, "provider": "files"}
    for method, path in api_routes(app):
        if path in OPEN_ROUTES:
            continue
        response = client.request(method, fill(path, values), headers=headers, json=body_for(app, method, path))
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
