"""The route table, as the tests walk it: every route, its methods, its id parameters, and a
valid body for each route whose body has required fields (a new such route fails the walk
until it has one here, so no route escapes the checks)."""

from __future__ import annotations

import re
import uuid
from typing import Any

MUTATING = {"POST", "PATCH", "PUT", "DELETE"}
OPEN_ROUTES = {"/healthz", "/readyz", "/metrics"}
ENDLESS = {"/events/stream"}
"""Server-sent events never end by design (a client reads until it leaves): tests/api/test_event_stream.py
covers that route's walls; a walk that reads a whole body would wait forever."""
PLATFORM_PREFIX = "/tenants"
"""Platform-key routes: they address tenants, not a tenant's objects (tenant keys get 403)."""
GLOBAL_PARAMS = {"provider"}
"""Path parameters naming something every tenant shares (the connector catalogue)."""
ID_VALUES = {"connection_id": "connection_id", "run_id": "run_id", "record_id": "record_id",
             "proposal_id": "proposal_id", "version_id": "version_id", "key_id": "key_id", "item_id": "item_id",
             "snapshot_id": "snapshot_id", "ontology_version_id": "ontology_version_id",
             "agent_run_id": "agent_run_id", "eval_run_id": "eval_run_id", "link_id": "link_id",
             "webhook_id": "webhook_id", "delivery_id": "delivery_id", "drift_event_id": "drift_event_id"}
"""Path parameter -> the ``Seeded`` attribute holding tenant B's object of that kind."""

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/connections"): {"provider": "files", "name": "walk", "config": {"path": "x.csv"}},
    ("POST", "/sync-runs"): {"connection": "crm"},
    ("POST", "/mapping-versions"): {"connection": "crm", "stream": "contacts"},
    ("POST", "/proposals/accept-auto"): {"connection": "crm"},
    ("POST", "/proposals/{proposal_id}/split"): {"fields": ["contact.first_name", "contact.last_name"],
                                                 "separator": " "},
    ("POST", "/ontology-versions"): {"document": {"name": "crm", "tables": []}},
    ("POST", "/api-keys"): {"role": "reader"},
    ("POST", "/tenants"): {"slug": "walk-tenant"},
    ("PATCH", "/settings"): {"source_precedence": []},
    ("POST", "/webhooks"): {"url": "http://127.0.0.1:9/walk", "kinds": []},
}


def api_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every documented route, from the OpenAPI document the app serves."""
    return sorted((method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item)


def operation(app, method: str, path: str) -> dict[str, Any]:
    return app.openapi()["paths"][path][method.lower()]


def id_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)


def body_for(app, method: str, path: str) -> dict[str, Any] | None:
    """A valid body for the route: ``{}`` when no field is required, else ``BODIES``'s."""
    spec = operation(app, method, path).get("requestBody")
    if spec is None:
        return None
    if (method, path) in BODIES:
        return BODIES[(method, path)]
    schema = spec["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = app.openapi()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert not schema.get("required"), f"add a valid body for {method} {path} to tests/api/routes.py BODIES"
    return {}


def nowhere(app, method: str, path: str) -> dict[str, Any]:
    """Values of the route's path parameters that name no object at all, of the declared types."""
    types = {p["name"]: p["schema"] for p in operation(app, method, path).get("parameters", []) if p["in"] == "path"}
    return {name: 2**62 if types[name].get("type") == "integer" else uuid.uuid4() for name in id_params(path)}
