"""Mapping versions: list, show, publish the reviewed fields of a stream (admin role)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from autonomos.api import idempotency
from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit, ReaderTenant
from autonomos.api.pagination import page_of
from autonomos.api.schemas import MappingPublish
from autonomos.errors import NotFound
from autonomos.services import mappings

router = APIRouter(prefix="/mapping-versions", tags=["mappings"])


def view(v) -> dict[str, Any]:
    return asdict(v)


@router.get("")
def list_versions(rt: RT, tenant: ReaderTenant, connection: str | None = None, cursor: Cursor = None,
                  limit: Limit = 100) -> dict[str, Any]:
    found = mappings.list_versions(rt, tenant, connection)
    page = page_of(found, lambda v: (v.connection, v.stream, v.entity, v.version), cursor, limit)
    return {**page, "items": [view(v) for v in page["items"]]}


@router.get("/{version_id}")
def show_version(version_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    for v in mappings.list_versions(rt, tenant):
        if v.id == version_id:
            return view(v)
    raise NotFound("no such mapping version", version=version_id)


@router.post("", status_code=201)
def publish(body: MappingPublish, request: Request, rt: RT, who: Caller, tenant: AdminTenant):
    """Publish the accepted proposals of a stream, one version per canonical entity, and apply them."""

    def work():
        results = mappings.publish_reviewed(rt, tenant, body.connection, body.stream, actor=who.actor, apply=body.apply)
        return 201, {"items": [{"version": view(r.version), "created": r.created,
                                "applied": asdict(r.applied) if r.applied else None} for r in results]}

    return idempotency.run(request, rt, who, body.model_dump(), work)
