"""The server's own routes: health, readiness, metrics, OpenAPI, docs from the package,
request ids."""

from __future__ import annotations


def test_healthz_and_readyz_report_engines_and_migrations(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"postgres": "ok", "redis": "ok", "migrations": "ok"}}


def test_metrics_count_requests_by_route(client):
    client.get("/healthz")
    body = client.get("/metrics").text
    assert 'aos_api_requests_total{method="GET",route="/healthz",status="200"}' in body


def test_openapi_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/openapi.json").json()
    assert "/events" in schema["paths"] and "/connections/{connection_id}" in schema["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    asset = client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000


def test_request_id_is_echoed_or_made(client):
    given = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert len(made.headers["X-Request-Id"]) == 32 and made.headers["X-Request-Id"] != "bad id\twith spaces"
