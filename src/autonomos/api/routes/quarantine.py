"""Quarantine: records that could not be landed or applied; list, show, retry (with a corrected payload)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Path, Query, Request

from autonomos.api import idempotency
from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit, ReaderTenant
from autonomos.api.models import Page, QuarantineItem
from autonomos.api.pagination import encode, number
from autonomos.api.schemas import QuarantineRetry
from autonomos.services import quarantine

router = APIRouter(prefix="/quarantine", tags=["quarantine"])

ItemId = Path(ge=1, le=2**63 - 1, description="Quarantine item id.")


@router.get("", response_model=Page[QuarantineItem])
def list_items(rt: RT, tenant: ReaderTenant, status: str | None = Query(default="open", max_length=16, description=(
                   "open or resolved; empty: all.")), stream: str | None = Query(default=None, max_length=500),
               cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Newest first."""
    page = quarantine.list_items(rt, tenant, status=status or None, stream=stream, limit=limit, cursor=number(cursor))
    return {"items": [asdict(i) for i in page.items],
            "next_cursor": encode(page.next_cursor) if page.next_cursor is not None else None}


@router.get("/{item_id}", response_model=QuarantineItem)
def show_item(rt: RT, tenant: ReaderTenant, item_id: int = ItemId) -> dict[str, Any]:
    return asdict(quarantine.get_item(rt, tenant, item_id))


@router.post("/{item_id}/retry", response_model=QuarantineItem)
def retry_item(body: QuarantineRetry, request: Request, rt: RT, who: Caller, tenant: AdminTenant,
               item_id: int = ItemId):
    """Land the stored payload (or ``payload``, a corrected record) again; 409 if it still cannot be landed."""

    def work():
        return 200, asdict(quarantine.retry_item(rt, tenant, item_id, payload=body.payload, actor=who.actor))

    return idempotency.run(request, rt, who, body.model_dump(), work)
