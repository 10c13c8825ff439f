"""The caller's tenant settings: read (reader), change the tenant-editable ones (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from autonomos.api.deps import RT, AdminTenant, Caller, ReaderTenant
from autonomos.services import tenant_settings

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("", response_model=dict[str, Any])
def get_settings(rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return tenant_settings.get_settings(rt, tenant)


@router.patch("", response_model=dict[str, Any])
def patch_settings(rt: RT, who: Caller, tenant: AdminTenant,
                   changes: dict[str, Any] = Body(description=(
                       "Keys to set (null removes one): source_precedence (list of connection names), "
                       "match_keys (entity -> keys), drift_auto_threshold (0-1)."))) -> dict[str, Any]:
    return tenant_settings.patch_settings(rt, tenant, changes, actor=who.actor)
