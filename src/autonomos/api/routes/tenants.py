"""Tenants, for platform keys only: create, list, show, delete. These routes read no tenant
data (only the tenant rows themselves); a tenant key of any role is refused with 403."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from autonomos.api.deps import RT, Caller, Cursor, Limit, PlatformKey
from autonomos.api.models import Page, Tenant, TenantDeleted
from autonomos.api.pagination import page_of
from autonomos.api.schemas import TenantCreate
from autonomos.services import tenants

router = APIRouter(prefix="/tenants", tags=["platform"])


def _find(rt, tenant_id: uuid.UUID) -> tenants.TenantInfo:
    return tenants.find_tenant(rt, str(tenant_id))


@router.get("", response_model=Page[Tenant])
def list_tenants(rt: RT, key: PlatformKey, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    page = page_of(tenants.list_tenants(rt), lambda t: (t.slug, str(t.id)), cursor, limit)
    return {**page, "items": [asdict(t) for t in page["items"]]}


@router.post("", status_code=201, response_model=Tenant)
def create_tenant(body: TenantCreate, rt: RT, who: Caller, key: PlatformKey) -> dict[str, Any]:
    """A new tenant (409 if the slug is taken, which also makes a retried create safe)."""
    return asdict(tenants.create_tenant(rt, body.slug, body.name, actor=who.actor))


@router.get("/{tenant_id}", response_model=Tenant)
def show_tenant(tenant_id: uuid.UUID, rt: RT, key: PlatformKey) -> dict[str, Any]:
    return asdict(_find(rt, tenant_id))


@router.delete("/{tenant_id}", response_model=TenantDeleted)
def delete_tenant(tenant_id: uuid.UUID, rt: RT, who: Caller, key: PlatformKey) -> dict[str, Any]:
    """Purge the tenant: every row, vector and Redis key of it (recorded in the platform log)."""
    report = tenants.delete_tenant(rt, str(_find(rt, tenant_id).id), actor=who.actor)
    return {"tenant": asdict(report.tenant), "vectors": report.vectors, "redis_keys": report.redis_keys}
