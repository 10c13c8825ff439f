"""Records: search the canonical records of an entity (by connection and a field value), and
one record's unified view (each value with its source) and change history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from autonomos.console import session
from autonomos.console.app import render
from autonomos.services import connections, ontology, records

router = APIRouter()
PAGE = 50


@router.get("/records", include_in_schema=False)
async def search_page(request: Request, who: session.Viewer,
                      entity: Annotated[str | None, Query(max_length=64)] = None,
                      connection: Annotated[str | None, Query(max_length=200)] = None,
                      field: Annotated[str | None, Query(max_length=200)] = None,
                      value: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    rt = request.app.state.rt

    def load():
        entities = [t["name"] for t in ontology.ontology_version(rt, who.tenant_id).content.get("tables", [])]
        names = [c.name for c in connections.list_connections(rt, who.tenant_id)]
        chosen = entity if entity in entities else (entities[0] if entities else None)
        where = {field: value} if field and value is not None and value != "" else None
        found = (records.list_records(rt, who.tenant_id, chosen, connection=connection or None, where=where,
                                      limit=PAGE) if chosen else [])
        return entities, names, chosen, found

    entities, names, chosen, found = await run_in_threadpool(load)
    return render(request, "records.html", {"entities": entities, "connections": names, "entity": chosen,
                                            "connection": connection or "", "field": field or "",
                                            "value": value or "", "records": found, "page": PAGE})


@router.get("/records/{record_id}", include_in_schema=False)
async def record_page(record_id: uuid.UUID, request: Request, who: session.Viewer) -> Response:
    record = await run_in_threadpool(records.show_record, request.app.state.rt, who.tenant_id, record_id)
    return render(request, "record.html", {"r": record})
