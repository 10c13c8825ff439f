"""Errors are application/problem+json: malformed JSON (400), wrong types and unknown fields
(422 naming the fields), product errors mapped from the exception tree; no stack trace."""

from __future__ import annotations

PROBLEM = "application/problem+json"
from tests.api.conftest import files_config


def test_malformed_json_is_a_400_problem(client, make_tenant, key_for):
    headers = {**key_for(make_tenant("api").id), "Content-Type": "application/json"}
    response = client.post("/connections", headers=headers, content=b'{"provider": "files", "name": ')
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == 400
    assert "Traceback" not in response.text


def test_wrong_types_name_the_failing_fields_without_echoing_input(client, make_tenant, key_for):
    headers = key_for(make_tenant("api").id)
    secret = "s3cr3t-value-never-echoed"
    response = client.post("/connections", headers=headers,
                           json={"provider": 7, "name": "x", "config": "not an object", "credentials": secret})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.provider", "body.config", "body.credentials"} <= fields
    assert secret not in response.text


def test_bad_query_and_path_values_are_422(client, make_tenant, key_for):
    headers = key_for(make_tenant("api").id, "reader")
    for url in ("/records?entity=contact&limit=5000", "/events?after=-1", "/connections/not-a-uuid",
                "/connections?cursor=%%%"):
        response = client.get(url, headers=headers)
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"] == PROBLEM and response.json()["errors"]


def test_product_errors_map_to_statuses(client, rt, make_tenant, key_for):
    tenant = make_tenant("api").id
    headers = key_for(tenant)
    refused = client.post("/connections", headers=headers, json={
        "provider": "files", "name": "outside", "config": {"path": "/etc/passwd", "stream": "s"}})
    assert refused.status_code == 422 and refused.json()["type"].endswith("/SourceRefused"), refused.text
    body = {"provider": "files", "name": "dup", "config": files_config(rt, tenant, "nonexistent.csv")}
    first = client.post("/connections", headers=headers, json=body)
    assert first.status_code == 201, first.text
    assert "credentials" not in first.json() and first.json()["has_credentials"] is False
    conflict = client.post("/connections", headers=headers, json=body)
    assert conflict.status_code == 409 and conflict.json()["type"].endswith("/Conflict")
    unknown = client.post("/connections", headers=headers, json={**body, "name": "other", "provider": "nope"})
    assert unknown.status_code == 404


def test_an_unexpected_error_is_a_500_problem_without_a_trace(rt):
    from starlette.testclient import TestClient

    from autonomos.api import create_app

    app = create_app(rt, listen_for_revocations=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail: password=hunter2")

    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500 and response.headers["content-type"] == PROBLEM
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert response.headers["X-Request-Id"]


def test_a_value_postgres_cannot_hold_is_the_callers_422(client, make_tenant, key_for):
    headers = key_for(make_tenant("api").id)
    response = client.post("/connections", headers=headers, json={"provider": "fi\u0000les", "name": "x"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert client.get("/proposals", headers=headers, params={"connection": "a\x00b"}).status_code == 422
