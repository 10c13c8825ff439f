"""The tenant's own API keys (admin role): list, create (the key is in this response only),
revoke. The caller's tenant is the key's tenant; no route takes a tenant from the request."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit
from autonomos.api.models import ApiKey, NewApiKey, Page
from autonomos.api.pagination import page_of
from autonomos.api.schemas import ApiKeyCreate
from autonomos.services import apikeys

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.get("", response_model=Page[ApiKey])
def list_keys(rt: RT, tenant: AdminTenant, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    page = page_of(apikeys.list_keys(rt, tenant), lambda k: (k.created_at, str(k.id)), cursor, limit)
    return {**page, "items": [asdict(k) for k in page["items"]]}


@router.post("", status_code=201, response_model=NewApiKey)
def create_key(body: ApiKeyCreate, rt: RT, who: Caller, tenant: AdminTenant) -> dict[str, Any]:
    """A new key of this tenant; ``key`` is in this response only. ``Idempotency-Key`` is not
    honoured here: storing the response for a replay would store the key in clear."""
    info, key = apikeys.create_key(rt, tenant, body.role, name=body.name, actor=who.actor)
    return {**asdict(info), "key": key}


@router.post("/{key_id}/revoke", response_model=ApiKey)
def revoke_key(key_id: uuid.UUID, rt: RT, who: Caller, tenant: AdminTenant) -> dict[str, Any]:
    return asdict(apikeys.revoke_key(rt, tenant, str(key_id), actor=who.actor))
