"""The OpenAPI document as the server really answers: every error is ``application/problem+json``
(FastAPI's default 422 body is replaced), and each operation lists the statuses it can refuse with."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from autonomos.api.models import Problem
from autonomos.api.problems import MEDIA_TYPE, TITLES

PUBLIC = {"/healthz", "/readyz", "/metrics"}
"""Routes that need no key (and so answer no 401/403/429)."""


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        doc.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path, item in doc["paths"].items():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                statuses = ["400", "404", "405", "409", "415", "422", "500", "503"]
                if path not in PUBLIC:
                    statuses += ["401", "403", "429"]
                    operation["security"] = [{"bearer": []}]
                for status in statuses:
                    if status == "422" or status not in responses:  # FastAPI's own 422 body is not ours
                        responses[status] = _problem(TITLES.get(int(status), "Error"))
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
