"""Connections: sync health (recent runs, records/s, quarantine by reason, held streams) and
starting, pausing and resuming syncs (admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from autonomos.aam.sync.typing import ACTIVE_STATUSES
from autonomos.console import session
from autonomos.console.app import render
from autonomos.services import connections, overview, sync

router = APIRouter()


@router.get("/connections", include_in_schema=False)
async def list_page(request: Request, who: session.Viewer) -> Response:
    health = await run_in_threadpool(overview.connection_health, request.app.state.rt, who.tenant_id)
    active = any(r.status in ACTIVE_STATUSES for h in health for r in h.runs[:1])
    return render(request, "connections.html", {"health": health, "syncing": active})


@router.get("/connections/active.json", include_in_schema=False)
async def active(request: Request, who: session.Viewer) -> JSONResponse:
    """Whether any connection has an active run (the page reloads itself while one does)."""
    health = await run_in_threadpool(overview.connection_health, request.app.state.rt, who.tenant_id)
    runs = [{"connection": h.connection.name, "status": h.runs[0].status, "read": h.runs[0].counts.get("read", 0)}
            for h in health if h.runs]
    return JSONResponse({"active": any(r["status"] in ACTIVE_STATUSES for r in runs), "runs": runs})


def _steer(action: str):
    async def steer(connection_id: uuid.UUID, request: Request, who: session.Poster) -> Response:
        session.need(who, "admin")
        rt = request.app.state.rt
        info = await run_in_threadpool(connections.get_connection, rt, who.tenant_id, str(connection_id))
        if action == "start":
            started = await run_in_threadpool(lambda: sync.start_sync(rt, who.tenant_id, info.id, actor=who.actor))
            message = (f"Sync of {info.name} started." if started.created
                       else f"{info.name} already has an active sync ({started.run.status}).")
        else:
            steer_fn = {"pause": sync.pause_sync, "resume": sync.resume_sync, "cancel": sync.cancel_sync}[action]
            run = await run_in_threadpool(lambda: steer_fn(rt, who.tenant_id, info.id, actor=who.actor))
            message = f"{action.capitalize()} requested for {info.name} (run {run.status})."
        return session.back(f"{session.PATH}/connections", message)

    return steer


for _action in ("start", "pause", "resume", "cancel"):
    router.add_api_route(f"/connections/{{connection_id}}/{_action}", _steer(_action), methods=["POST"],
                         include_in_schema=False, name=f"connection-{_action}")
