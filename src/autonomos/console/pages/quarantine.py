"""Quarantine: records that could not be landed or applied, by reason; one item's raw text and
payload; retry with the stored or a corrected payload (admin)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from autonomos.console import session
from autonomos.console.app import render
from autonomos.errors import InvalidInput
from autonomos.services import quarantine

router = APIRouter()


@router.get("/quarantine", include_in_schema=False)
async def list_page(request: Request, who: session.Viewer, status: Annotated[str, Query(max_length=16)] = "open",
                    cursor: Annotated[int | None, Query(ge=0)] = None) -> Response:
    page = await run_in_threadpool(lambda: quarantine.list_items(request.app.state.rt, who.tenant_id,
                                                                 status=status or None, cursor=cursor))
    reasons: dict[str, int] = {}
    for item in page.items:
        reason = item.reason.split(":", 1)[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    return render(request, "quarantine.html", {"page": page, "status": status, "reasons": reasons})


@router.get("/quarantine/{item_id}", include_in_schema=False)
async def item_page(item_id: int, request: Request, who: session.Viewer) -> Response:
    item = await run_in_threadpool(quarantine.get_item, request.app.state.rt, who.tenant_id, item_id)
    payload = json.dumps(item.payload, indent=2, ensure_ascii=False) if item.payload is not None else ""
    return render(request, "quarantine_item.html", {"item": item, "payload": payload})


@router.post("/quarantine/{item_id}/retry", include_in_schema=False)
async def retry(item_id: int, request: Request, who: session.Poster,
                payload: Annotated[str, Form(max_length=1_000_000)] = "") -> Response:
    session.need(who, "admin")
    corrected = None
    if payload.strip():
        try:
            corrected = json.loads(payload)
        except ValueError:
            raise InvalidInput("the corrected payload is not valid JSON") from None
        if not isinstance(corrected, dict):
            raise InvalidInput("the corrected payload must be a JSON object")
    rt = request.app.state.rt
    await run_in_threadpool(lambda: quarantine.retry_item(rt, who.tenant_id, item_id, payload=corrected,
                                                          actor=who.actor))
    return session.back(f"{session.PATH}/quarantine", f"Record {item_id} landed and resolved.")
