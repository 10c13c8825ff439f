"""Canonical records (by entity, connection, field values, ``modified_after``) and the
canonical event feed, read by an ``after`` cursor that never skips an event."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from autonomos.api.deps import RT, Cursor, Limit, ReaderTenant
from autonomos.api.body import JSONBody, dumps_json
from autonomos.api.models import CanonicalRecord, EventPage, Page, RecordDetail
from autonomos.api.pagination import decode, encode
from autonomos.api.problems import ApiProblem
from autonomos.services import records

router = APIRouter(tags=["canonical data"])


# The two record reads answer with the JSON they built (``JSONBody``), not a dict to be checked
# against the declared model and encoded again: for a page of records that work cost several
# times the query. The models still describe the answers (OpenAPI, schemathesis checks them).
# Both run on the event loop (``Database.reads``): no thread hop, one round trip to Postgres.

@router.get("/records", response_model=Page[CanonicalRecord])
async def list_records(request: Request, tenant: ReaderTenant, entity: str = Query(min_length=1, max_length=64),
                 connection: str | None = None, modified_after: dt.datetime | None = None,
                 include_deleted: bool = False, cursor: Cursor = None, limit: Limit = 100) -> Response:
    """Current records of one entity in (connection id, stream, record key) order."""
    page = await records.read_records_json(request.app.state.rt, tenant, entity, connection=connection,
                                           include_deleted=include_deleted, limit=limit,
                                           after=_position(decode(cursor)), modified_after=modified_after)
    next_cursor = orjson.dumps(encode(list(page.last)) if page.more and page.last else None)
    return JSONBody(b'{"items":' + page.items + b',"next_cursor":' + next_cursor + b"}")


@router.get("/records/{record_id}", response_model=RecordDetail)
async def show_record(record_id: uuid.UUID, request: Request, tenant: ReaderTenant) -> Response:
    """One record with its change history and its unified view across sources."""
    return JSONBody(dumps_json(await records.read_record(request.app.state.rt, tenant, record_id)))


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
