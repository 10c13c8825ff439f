"""The route table, as the tests walk it: every route, its methods, its id parameters."""

from __future__ import annotations

import re

MUTATING = {"POST", "PATCH", "PUT", "DELETE"}
OPEN_ROUTES = {"/healthz", "/readyz", "/metrics"}
ID_VALUES = {"connection_id": "connection_id", "run_id": "run_id", "record_id": "record_id",
             "proposal_id": "proposal_id", "version_id": "version_id", "key_id": "key_id",
             "webhook_id": "webhook_id", "delivery_id": "delivery_id"}
"""Path parameter -> the ``Seeded`` attribute holding tenant B's object of that kind."""


def api_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every documented route, from the OpenAPI document the app serves."""
    return sorted((method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item)


def id_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)
