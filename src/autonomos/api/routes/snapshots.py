"""Schema snapshots: each stream's observed schema over time (fingerprint, fields, profile)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query

from autonomos.api.deps import RT, Cursor, Limit, ReaderTenant
from autonomos.api.models import Page, Snapshot
from autonomos.api.pagination import keyset_page, pair
from autonomos.services import streams

router = APIRouter(prefix="/schema-snapshots", tags=["connections"])


@router.get("", response_model=Page[Snapshot])
def list_snapshots(rt: RT, tenant: ReaderTenant, connection: str | None = Query(default=None, max_length=200),
                   stream: str | None = Query(default=None, max_length=500), cursor: Cursor = None,
                   limit: Limit = 100) -> dict[str, Any]:
    """Newest first; without ``profile`` (on the single snapshot)."""
    rows = streams.list_snapshots(rt, tenant, connection=connection, stream=stream, after=pair(cursor),
                                  limit=limit + 1)
    return keyset_page(rows, limit, lambda s: [s["observed_at"], s["id"]])


@router.get("/{snapshot_id}", response_model=Snapshot)
def show_snapshot(snapshot_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return streams.get_snapshot(rt, tenant, snapshot_id)
