"""Mapping versions: list, show, diff, publish the reviewed fields of a stream, roll back (admin role)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request

from autonomos.api import idempotency
from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit, ReaderTenant
from autonomos.api.models import MappingDiff, MappingVersion, Page, Published, PublishedList
from autonomos.api.pagination import page_of
from autonomos.api.schemas import MappingPublish
from autonomos.services import mappings

router = APIRouter(prefix="/mapping-versions", tags=["mappings"])


def view(v) -> dict[str, Any]:
    return asdict(v)


def published(r: mappings.PublishResult) -> dict[str, Any]:
    return {"version": view(r.version), "created": r.created, "applied": asdict(r.applied) if r.applied else None,
            "problem": r.problem}


@router.get("", response_model=Page[MappingVersion])
def list_versions(rt: RT, tenant: ReaderTenant, connection: str | None = None, cursor: Cursor = None,
                  limit: Limit = 100) -> dict[str, Any]:
    found = mappings.list_versions(rt, tenant, connection)
    page = page_of(found, lambda v: (v.connection, v.stream, v.entity, v.version), cursor, limit)
    return {**page, "items": [view(v) for v in page["items"]]}


@router.get("/{version_id}", response_model=MappingVersion)
def show_version(version_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return view(mappings.version_by_id(rt, tenant, version_id))


@router.get("/{version_id}/diff", response_model=MappingDiff)
def diff_version(version_id: uuid.UUID, rt: RT, tenant: ReaderTenant,
                 against: int | None = Query(default=None, ge=1, le=2**31 - 1, description=(
                     "Version number of the same mapping to compare with (default: the current one)."))
                 ) -> dict[str, Any]:
    """Field by field, what changed from this version to another of the same mapping."""
    old, new, changes = mappings.diff_by_id(rt, tenant, version_id, against)
    return {"old": view(old), "new": view(new), "changes": changes}


@router.post("", status_code=201, response_model=PublishedList)
def publish(body: MappingPublish, request: Request, rt: RT, who: Caller, tenant: AdminTenant):
    """Publish the accepted proposals of a stream, one version per canonical entity, and apply them."""

    def work():
        results = mappings.publish_reviewed(rt, tenant, body.connection, body.stream, actor=who.actor, apply=body.apply)
        return 201, {"items": [published(r) for r in results]}

    return idempotency.run(request, rt, who, body.model_dump(), work)


@router.post("/{version_id}/rollback", status_code=201, response_model=Published)
def rollback(version_id: uuid.UUID, request: Request, rt: RT, who: Caller, tenant: AdminTenant):
    """Publish a new version of the mapping with this version's content, and backfill it
    (422 when it already is the current content)."""

    def work():
        return 201, published(mappings.rollback_to(rt, tenant, version_id, actor=who.actor))

    return idempotency.run(request, rt, who, {"version_id": str(version_id)}, work)
