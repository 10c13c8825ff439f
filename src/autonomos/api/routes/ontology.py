"""Ontology versions: import (a new immutable version), list, show, export (admin imports)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from autonomos.api import idempotency
from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit, ReaderTenant
from autonomos.api.models import OntologyImported, OntologyVersion, Page
from autonomos.api.pagination import page_of
from autonomos.api.schemas import OntologyImport
from autonomos.dcl.ontology import dump
from autonomos.services import ontology

router = APIRouter(prefix="/ontology-versions", tags=["ontology"])


def view(v, content: bool = False) -> dict[str, Any]:
    out = {"id": v.version_id, "name": v.name, "version": v.version, "content_hash": v.content_hash,
           "entities": len(v.content["tables"]), "fields": sum(len(t["fields"]) for t in v.content["tables"]),
           "created_by": v.created_by, "created_at": v.created_at}
    if content:
        out["content"] = dict(v.content)
    return out


@router.get("", response_model=Page[OntologyVersion])
def list_versions(rt: RT, tenant: ReaderTenant, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Every version of every ontology of the tenant, by name and version (content on the single version)."""
    page = page_of(ontology.list_ontologies(rt, tenant), lambda v: (v.name, v.version), cursor, limit)
    return {**page, "items": [view(v) for v in page["items"]]}


@router.post("", status_code=201, response_model=OntologyImported, responses={200: {"model": OntologyImported}})
def import_version(body: OntologyImport, request: Request, rt: RT, who: Caller, tenant: AdminTenant):
    """Import a document as the next version (200 and the current version when the content is unchanged)."""

    def work():
        result = ontology.import_document(rt, tenant, body.document, extend=body.extend, actor=who.actor)
        return (201 if result.created else 200), {"version": view(result.version, True), "created": result.created}

    return idempotency.run(request, rt, who, body.model_dump(), work)


@router.get("/{ontology_version_id}", response_model=OntologyVersion)
def show_version(ontology_version_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return view(ontology.version_by_id(rt, tenant, ontology_version_id), True)


@router.get("/{ontology_version_id}/export", response_class=PlainTextResponse,
            responses={200: {"content": {"application/yaml": {"schema": {"type": "string"}},
                                         "application/json": {"schema": {"type": "object"}}}}})
def export_version(ontology_version_id: uuid.UUID, rt: RT, tenant: ReaderTenant,
                   format: Literal["yaml", "json"] = Query(default="yaml")):
    """The version in the import format (YAML or JSON), ready for ``aos ontology import`` or ``POST``."""
    found = ontology.version_by_id(rt, tenant, ontology_version_id)
    if format == "json":
        return JSONResponse(dict(found.content))
    return PlainTextResponse(dump(found.content, "yaml"), media_type="application/yaml")
