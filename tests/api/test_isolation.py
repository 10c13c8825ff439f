"""Tenant walls, proven for every route that takes an id (the list comes from the route
table): tenant A's admin key gets 404 for tenant B's object on every method, exactly as for
an id that exists nowhere, and B's object reads the same afterwards."""

from __future__ import annotations

import uuid

from autonomos.services import apikeys
from tests.api.routes import ID_VALUES, api_routes, fill, id_params

COMPARED = ("status", "type", "title", "detail")


def _b_views(client, app, seeded, headers) -> dict[str, object]:
    values = {p: getattr(seeded, attr) for p, attr in ID_VALUES.items()}
    views = {}
    for method, path in api_routes(app):
        if method == "GET" and id_params(path):
            response = client.get(fill(path, values), headers=headers)
            views[path] = (response.status_code, response.json())
    return views


def test_every_id_route_answers_404_for_another_tenants_object(rt, client, app, seeded, make_tenant, key_for):
    a_admin = key_for(make_tenant("api-a").id, "admin")
    b_reader = key_for(seeded.tenant_id, "reader")
    before = _b_views(client, app, seeded, b_reader)
    assert {status for status, _ in before.values()} == {200}, before  # B reads its own objects

    routes = [(m, p) for m, p in api_routes(app) if id_params(p)]
    assert {p for _, p in routes} >= {"/connections/{connection_id}", "/sync-runs/{run_id}", "/records/{record_id}",
                                      "/proposals/{proposal_id}", "/mapping-versions/{version_id}"}
    for method, path in routes:
        theirs = fill(path, {p: getattr(seeded, ID_VALUES[p]) for p in id_params(path)})
        nowhere = fill(path, {p: uuid.uuid4() for p in id_params(path)})
        got = client.request(method, theirs, headers=a_admin, json={})
        missing = client.request(method, nowhere, headers=a_admin, json={})
        assert got.status_code == 404, (method, path, got.text)
        assert got.headers["content-type"] == "application/problem+json"
        assert {k: got.json()[k] for k in COMPARED} == {k: missing.json()[k] for k in COMPARED}, (method, path)

    assert _b_views(client, app, seeded, b_reader) == before
    keys = {k.id: k.revoked for k in apikeys.list_keys(rt, seeded.tenant_id)}
    assert keys[seeded.key_id] is False  # A's revoke did not reach B's key
