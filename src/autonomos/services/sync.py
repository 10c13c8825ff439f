"""Starting and steering syncs: what ``aos sync`` and the API call.

Everything is decided in Postgres (the run row); the queue is told afterwards. Control
requests (cancel, pause) are written to the run and obeyed by its worker between batches.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from autonomos.aam.connectors.typing import SyncMode
from autonomos.aam.sync import runs
from autonomos.aam.sync.jobs import enqueue_run
from autonomos.aam.sync.typing import ACTIVE_STATUSES
from autonomos.errors import Conflict, InvalidInput, NotFound
from autonomos.services import audit
from autonomos.services.connections import get_connection, open_connector
from autonomos.runtime import Runtime
from autonomos.services.sync_inputs import job_queue
from autonomos.store.tables import StreamState, SyncRun


@dataclass(frozen=True)
class StartedSync:
    run: runs.RunInfo
    created: bool


def start_sync(rt: Runtime, tenant_id: uuid.UUID, connection: str, *, streams: list[str] | None = None,
               full: bool = False, actor: str) -> StartedSync:
    """Create a pending run (or return the connection's active one) and enqueue it."""
    info = get_connection(rt, tenant_id, connection)
    if streams:
        _check_streams(rt, tenant_id, info.name, streams)
    mode: SyncMode = "full" if full else "incremental"
    with rt.db.tenant(tenant_id) as session:
        run, created = runs.create_or_get_active(session, tenant_id, uuid.UUID(info.id), streams or [], mode)
        if created:
            audit.record(session, tenant_id, actor=actor, action="sync.start", target_type="sync_run",
                         target_id=run.id, after={"connection": info.name, "streams": streams or [], "mode": mode})
    if run.status == "pending":
        enqueue_run(job_queue(rt), tenant_id, run.id)
    return StartedSync(run, created)


def _check_streams(rt: Runtime, tenant_id: uuid.UUID, connection: str, streams: list[str]) -> None:
    """Refuse stream names the connection does not have (a typo would otherwise sync nothing)."""
    connector = open_connector(rt, tenant_id, connection)
    try:
        known = [s.name for s in connector.discover()]
    finally:
        connector.close()
    unknown = [s for s in streams if s not in known]
    if unknown:
        raise InvalidInput(f"no such stream {', '.join(map(repr, unknown))} in connection {connection!r}; "
                           f"it has {', '.join(known) or 'none'}")


def get_run(rt: Runtime, tenant_id: uuid.UUID, run_id: uuid.UUID) -> runs.RunInfo:
    with rt.db.tenant(tenant_id) as session:
        run = runs.get(session, tenant_id, run_id)
    if run is None:
        raise NotFound("no such sync run", tenant=tenant_id, run=run_id)
    return run


def list_runs(rt: Runtime, tenant_id: uuid.UUID, connection: str | None = None, limit: int = 20) -> list[runs.RunInfo]:
    query = select(SyncRun).where(SyncRun.tenant_id == tenant_id).order_by(SyncRun.created_at.desc()).limit(limit)
    if connection:
        query = query.where(SyncRun.connection_id == uuid.UUID(get_connection(rt, tenant_id, connection).id))
    with rt.db.tenant(tenant_id) as session:
        return [runs.info(r) for r in session.scalars(query)]


def _active_run(session, tenant_id: uuid.UUID, connection_id: str) -> SyncRun:
    row = session.scalar(select(SyncRun).where(
        SyncRun.tenant_id == tenant_id, SyncRun.connection_id == uuid.UUID(connection_id),
        SyncRun.status.in_(ACTIVE_STATUSES)).with_for_update())
    if row is None:
        raise NotFound("the connection has no active sync", tenant=tenant_id, connection=connection_id)
    return row


def _steer(rt: Runtime, tenant_id: uuid.UUID, connection: str, control: str, actor: str, at_once) -> runs.RunInfo:
    """Ask the running worker for ``control`` between batches, or apply ``at_once`` to a run
    that is not running; audited either way."""
    info = get_connection(rt, tenant_id, connection)
    with rt.db.tenant(tenant_id) as session:
        row = _active_run(session, tenant_id, info.id)
        if row.status == "running":
            row.control = control
        else:
            at_once(session, row)
        audit.record(session, tenant_id, actor=actor, action=f"sync.{control}", target_type="sync_run",
                     target_id=row.id)
        session.flush()
        session.refresh(row)
        return runs.info(row)


def cancel_sync(rt: Runtime, tenant_id: uuid.UUID, connection: str, *, actor: str) -> runs.RunInfo:
    """Cancel the active run: at once if it is not running, between batches if it is."""
    return _steer(rt, tenant_id, connection, "cancel", actor,
                  lambda session, row: runs.finish(session, tenant_id, row.id, "cancelled"))


def pause_sync(rt: Runtime, tenant_id: uuid.UUID, connection: str, *, actor: str) -> runs.RunInfo:
    """Pause the active run (a pending one pauses at once); ``resume`` continues from its checkpoint."""

    def pause_now(session, row: SyncRun) -> None:
        if row.status == "pending":
            row.status = "paused"

    return _steer(rt, tenant_id, connection, "pause", actor, pause_now)


def resume_sync(rt: Runtime, tenant_id: uuid.UUID, connection: str, *, actor: str) -> runs.RunInfo:
    info = get_connection(rt, tenant_id, connection)
    with rt.db.tenant(tenant_id) as session:
        row = _active_run(session, tenant_id, info.id)
        if row.status != "paused":
            raise Conflict("only a paused sync can be resumed", run=row.id, status=row.status)
        session.execute(update(SyncRun).where(SyncRun.tenant_id == tenant_id, SyncRun.id == row.id)
                        .values(status="pending", control=None, worker_id=None))
        audit.record(session, tenant_id, actor=actor, action="sync.resume", target_type="sync_run", target_id=row.id)
        run_id = row.id
    enqueue_run(job_queue(rt), tenant_id, run_id)
    return get_run(rt, tenant_id, run_id)


def reset_sync(rt: Runtime, tenant_id: uuid.UUID, connection: str, *, stream: str | None = None,
               actor: str) -> int:
    """Forget the cursors (all streams, or one): the next sync reads from the start. Landed
    records stay; re-reading them writes nothing new unless they changed."""
    info = get_connection(rt, tenant_id, connection)
    with rt.db.tenant(tenant_id) as session:
        active = session.scalar(select(SyncRun.id).where(
            SyncRun.tenant_id == tenant_id, SyncRun.connection_id == uuid.UUID(info.id),
            SyncRun.status.in_(ACTIVE_STATUSES)))
        if active is not None:
            raise Conflict("cancel or finish the active sync before resetting cursors", run=active)
        query = delete(StreamState).where(StreamState.tenant_id == tenant_id,
                                          StreamState.connection_id == uuid.UUID(info.id))
        if stream:
            query = query.where(StreamState.stream == stream)
        removed = session.execute(query).rowcount
        audit.record(session, tenant_id, actor=actor, action="sync.reset", target_type="connection",
                     target_id=info.id, after={"stream": stream, "cursors_removed": removed})
    return removed
