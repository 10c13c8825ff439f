"""Drift: events with before/after and their evidence, accept/reject (reviewer), mute a kind
of a stream (admin); a held stream is released and applied when its last event is decided."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from autonomos.console import session
from autonomos.console.app import render
from autonomos.console.errors import ConsoleForbidden
from autonomos.services import connections, drift

router = APIRouter()


@router.get("/drift", include_in_schema=False)
async def list_page(request: Request, who: session.Viewer,
                    status: Annotated[str, Query(max_length=16)] = "open") -> Response:
    rt = request.app.state.rt

    def load():
        names = {c.id: c.name for c in connections.list_connections(rt, who.tenant_id)}
        events = drift.list_events(rt, who.tenant_id, status=status or None)
        return names, events

    names, events = await run_in_threadpool(load)
    return render(request, "drift.html", {"events": events, "names": names, "status": status,
                                          "statuses": drift.STATUSES})


@router.post("/drift/{event_id}/{decision}", include_in_schema=False)
async def decide(event_id: uuid.UUID, decision: str, request: Request, who: session.Poster) -> Response:
    rt = request.app.state.rt
    if decision == "mute":
        session.need(who, "admin")
        event = await run_in_threadpool(drift.get_event, rt, who.tenant_id, str(event_id))
        kinds = await run_in_threadpool(lambda: drift.mute(rt, who.tenant_id, str(event.connection_id), event.stream,
                                                           event.kind, actor=who.actor))
        return session.back(f"{session.PATH}/drift",
                            f"Muted {event.kind} on {event.stream} (muted kinds: {', '.join(kinds)}).")
    if decision not in ("accepted", "rejected"):
        raise ConsoleForbidden("unknown decision")
    session.need(who, "reviewer")
    info = await run_in_threadpool(lambda: drift.resolve_event(rt, who.tenant_id, str(event_id), decision,
                                                               actor=who.actor))
    return session.back(f"{session.PATH}/drift", f"Drift event on {info.stream}.{info.field} {decision}.")
