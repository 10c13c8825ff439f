"""Canonical records (by entity, connection, field values, ``modified_after``) and the
canonical event feed, read by an ``after`` cursor that never skips an event."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder

from autonomos.api.deps import RT, Cursor, Limit, ReaderTenant
from autonomos.api.models import CanonicalRecord, EventPage, Page, RecordDetail
from autonomos.api.pagination import decode, encode
from autonomos.api.problems import ApiProblem
from autonomos.services import records

router = APIRouter(tags=["canonical data"])


@router.get("/records", response_model=Page[CanonicalRecord])
def list_records(rt: RT, tenant: ReaderTenant, entity: str = Query(min_length=1, max_length=64),
                 connection: str | None = None, modified_after: dt.datetime | None = None,
                 include_deleted: bool = False, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Current records of one entity in (connection id, stream, record key) order."""
    after = decode(cursor)
    rows = records.list_records(rt, tenant, entity, connection=connection, include_deleted=include_deleted,
                                limit=limit + 1, after=_position(after), modified_after=modified_after)
    chunk = rows[:limit]
    more = len(rows) > limit
    return {"items": chunk,
            "next_cursor": encode([chunk[-1]["connection_id"], chunk[-1]["stream"], chunk[-1]["record_key"]])
            if more else None}


@router.get("/records/{record_id}", response_model=RecordDetail)
def show_record(record_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    """One record with its change history and its unified view across sources."""
    found = records.show_record(rt, tenant, record_id)
    return {**found, "unified": jsonable_encoder(found["unified"])}


@router.get("/events", response_model=EventPage)
def read_events(rt: RT, tenant: ReaderTenant, after: int = Query(default=0, ge=0, le=2**63 - 1, description=(
                    "The last ``seq`` processed; events are served in ``seq`` order up to the "
                    "visibility watermark, so resuming from ``next_cursor`` never skips one.")),
                entity: str | None = None, limit: Limit = 100) -> dict[str, Any]:
    """Canonical events after a cursor. ``next_cursor`` is where to resume (equal to ``after``
    when there is nothing new yet: poll again with it)."""
    page = records.read_events(rt, tenant, entity=entity, after=after, limit=limit)
    return {"items": page.events, "next_cursor": page.next_cursor}


def _position(after) -> tuple[str, str, str] | None:
    if after is None:
        return None
    try:
        connection_id, stream, key = after
        return str(uuid.UUID(connection_id)), str(stream), str(key)
    except (TypeError, ValueError):
        raise ApiProblem(422, "the cursor is not one this server issued", kind="validation",
                         errors=[{"field": "query.cursor", "message": "invalid cursor", "type": "cursor"}]) from None
