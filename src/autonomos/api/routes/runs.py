"""Sync runs: start (idempotent with ``Idempotency-Key``), list, show, cancel, pause, resume.
Resetting cursors is a connection's (``POST /connections/{id}/reset``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request

from autonomos.api import idempotency
from autonomos.api.deps import RT, AdminTenant, Caller, Cursor, Limit, ReaderTenant
from autonomos.api.models import Page, StartedRun, SyncRun
from autonomos.api.pagination import decode, encode
from autonomos.api.problems import ApiProblem
from autonomos.api.schemas import SyncStart
from autonomos.services import sync

router = APIRouter(prefix="/sync-runs", tags=["sync runs"])

LIST_WINDOW = 10_000
"""Runs are listed newest first from the latest ``LIST_WINDOW`` (older ones stay in the store)."""


def view(run) -> dict[str, Any]:
    out = asdict(run)
    out.pop("tenant_id")
    out["history"] = list(out["history"])
    return out


@router.get("", response_model=Page[SyncRun])
def list_runs(rt: RT, tenant: ReaderTenant, connection: str | None = Query(default=None),
              cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    runs = sync.list_runs(rt, tenant, connection, limit=LIST_WINDOW)  # newest first
    after = decode(cursor)
    if after is not None:
        if not (isinstance(after, list) and len(after) == 2 and all(isinstance(a, str) for a in after)):
            raise ApiProblem(422, "the cursor is not one this server issued", kind="validation",
                             errors=[{"field": "query.cursor", "message": "invalid cursor", "type": "cursor"}])
        runs = [r for r in runs if (r.created_at.isoformat(), str(r.id)) < tuple(after)]
    chunk = runs[:limit]
    more = len(runs) > limit
    return {"items": [view(r) for r in chunk],
            "next_cursor": encode([chunk[-1].created_at.isoformat(), str(chunk[-1].id)]) if more else None}


@router.post("", status_code=202, response_model=StartedRun, responses={200: {"model": StartedRun}})
def start_run(body: SyncStart, request: Request, rt: RT, who: Caller, tenant: AdminTenant):
    """Start a run, or answer with the connection's active one (200 instead of 202)."""

    def work():
        started = sync.start_sync(rt, tenant, body.connection, streams=body.streams, full=body.full, actor=who.actor)
        return (202 if started.created else 200), {**view(started.run), "created": started.created}

    return idempotency.run(request, rt, who, body.model_dump(), work)


@router.get("/{run_id}", response_model=SyncRun)
def show_run(run_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return view(sync.get_run(rt, tenant, run_id))


def _steer(rt, tenant: uuid.UUID, run_id: uuid.UUID, steer: Callable[..., Any], actor: str) -> dict[str, Any]:
    """Apply a control to ``run_id``, which must be its connection's active run (409 otherwise)."""
    run = sync.get_run(rt, tenant, run_id)
    if run.finished_at is not None:
        raise ApiProblem(409, f"the run has finished ({run.status})", kind="Conflict")
    active = steer(rt, tenant, str(run.connection_id), actor=actor)
    if active.id != run.id:
        raise ApiProblem(409, "the run is not its connection's active run", kind="Conflict")
    return view(active)


@router.post("/{run_id}/cancel", response_model=SyncRun)
def cancel_run(run_id: uuid.UUID, rt: RT, who: Caller, tenant: AdminTenant) -> dict[str, Any]:
    """Cancel at once if the run is not running, else between batches."""
    return _steer(rt, tenant, run_id, sync.cancel_sync, who.actor)


@router.post("/{run_id}/pause", response_model=SyncRun)
def pause_run(run_id: uuid.UUID, rt: RT, who: Caller, tenant: AdminTenant) -> dict[str, Any]:
    """Pause (a pending run at once, a running one between batches); ``resume`` continues from its checkpoint."""
    return _steer(rt, tenant, run_id, sync.pause_sync, who.actor)


@router.post("/{run_id}/resume", response_model=SyncRun)
def resume_run(run_id: uuid.UUID, rt: RT, who: Caller, tenant: AdminTenant) -> dict[str, Any]:
    """Resume a paused run (409 if it is not paused)."""
    return _steer(rt, tenant, run_id, sync.resume_sync, who.actor)
