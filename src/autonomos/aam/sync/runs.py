"""Sync-run records in Postgres: the durable truth that queue jobs only point at.

A run is created ``pending``; a worker *claims* it with one atomic UPDATE (so a job that was
enqueued twice, or re-enqueued by the reconciler, runs once); the worker heartbeats while it
works; the run ends ``succeeded``, ``failed``, ``abandoned``, ``cancelled`` or ``paused``. A
failed attempt goes through ``store.attempts``: back to ``pending`` with backoff (claimable
again from ``next_attempt_at``), ``failed`` at once, or ``abandoned`` after ``max_attempts``
failures in a row without a committed batch. A partial unique
index allows one active run per connection; a per-tenant limit on concurrently running syncs
is checked at claim time under a transaction-scoped advisory lock, so it holds across workers
and needs nothing from Redis.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from autonomos.aam.connectors.typing import SyncMode
from autonomos.aam.sync.typing import ACTIVE_STATUSES
from autonomos.store import attempts
from autonomos.store.database import Database
from autonomos.store.tables import SyncRun, Tenant

DEFAULT_TENANT_CONCURRENCY = 2
HEARTBEAT_TIMEOUT_S = 60


@dataclass(frozen=True)
class RunInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    streams: list[str]
    mode: SyncMode
    status: str
    attempts: int
    counts: dict[str, Any]
    error: dict[str, Any] | None
    """The last failure: kind, message, transient, causes."""
    control: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    failures: int = 0
    next_attempt_at: dt.datetime | None = None
    history: tuple[dict[str, Any], ...] = ()


def info(row: SyncRun) -> RunInfo:
    return RunInfo(row.id, row.tenant_id, row.connection_id, list(row.streams), row.mode, row.status, row.attempts,
                   dict(row.counts), row.error, row.control, row.created_at, row.started_at, row.finished_at,
                   row.failures, row.next_attempt_at, tuple(row.history or ()))


def create_or_get_active(
    session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID, streams: list[str], mode: SyncMode
) -> tuple[RunInfo, bool]:
    """A new pending run, or the connection's active one (returns it with ``created=False``)."""
    statement = (
        pg_insert(SyncRun)
        .values(id=uuid.uuid4(), tenant_id=tenant_id, connection_id=connection_id, streams=streams, mode=mode)
        .on_conflict_do_nothing(
            index_elements=["tenant_id", "connection_id"],
            index_where=SyncRun.status.in_(ACTIVE_STATUSES),
        )
        .returning(SyncRun.id)
    )
    new_id = session.execute(statement).scalar_one_or_none()
    if new_id is not None:
        return info(session.get(SyncRun, new_id)), True
    active = session.scalar(select(SyncRun).where(
        SyncRun.tenant_id == tenant_id, SyncRun.connection_id == connection_id, SyncRun.status.in_(ACTIVE_STATUSES)
    ))
    return info(active), False


def due() -> ColumnElement[bool]:
    """A run that is pending and due (no backoff, or its ``next_attempt_at`` passed): what a
    claim takes, the reconciler enqueues, a hand-off and the tenant-share choice offer."""
    waited = SyncRun.next_attempt_at.is_(None) | (SyncRun.next_attempt_at <= text("now()"))
    return (SyncRun.status == "pending") & waited


def claim(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, worker_id: str,
          heartbeat_timeout_s: int = HEARTBEAT_TIMEOUT_S) -> RunInfo | None:
    """Atomically take a pending run that is due (``next_attempt_at`` passed).

    Returns None when the run is not claimable: final, paused, running, waiting for its next
    attempt, or the tenant already runs as many syncs as its limit allows. A run whose worker
    stopped heartbeating is sent back to ``pending`` by the reconciler first, which counts the
    lost attempt.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:t, 7))"), {"t": str(tenant_id)})
    limit = _tenant_limit(session, tenant_id)
    running = session.execute(text(
        "SELECT count(*) FROM sync_runs WHERE tenant_id = :t AND status = 'running' AND id <> :r"
        " AND heartbeat_at > now() - make_interval(secs => :timeout)"
    ), {"t": tenant_id, "r": run_id, "timeout": heartbeat_timeout_s}).scalar_one()
    if running >= limit:
        return None
    row = session.execute(
        update(SyncRun)
        .where(SyncRun.tenant_id == tenant_id, SyncRun.id == run_id, due())
        .values(status="running", worker_id=worker_id, attempts=SyncRun.attempts + 1, next_attempt_at=None,
                heartbeat_at=text("now()"), started_at=text("coalesce(started_at, now())"))
        .returning(SyncRun),
    ).scalar_one_or_none()
    return info(row) if row is not None else None


def next_due(session: Session, tenant_id: uuid.UUID) -> uuid.UUID | None:
    """The tenant's oldest pending run that is due: the one to hand a freed place to."""
    return session.scalar(
        select(SyncRun.id)
        .where(SyncRun.tenant_id == tenant_id, due())
        .order_by(SyncRun.created_at).limit(1))


def _tenant_limit(session: Session, tenant_id: uuid.UUID) -> int:
    settings = session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)) or {}
    return int(settings.get("max_concurrent_syncs", DEFAULT_TENANT_CONCURRENCY))


def heartbeat(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, worker_id: str) -> str | None:
    """Refresh the heartbeat; returns the run's control request (cancel/pause) if any."""
    return session.execute(
        update(SyncRun)
        .where(SyncRun.tenant_id == tenant_id, SyncRun.id == run_id, SyncRun.worker_id == worker_id)
        .values(heartbeat_at=text("now()"))
        .returning(SyncRun.control)
    ).scalar_one_or_none()


def fence(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, worker_id: str) -> tuple[bool, str | None]:
    """Lock the run row if this worker still owns it; returns (owned, control request).

    Every batch takes this lock in its own transaction before committing, so a worker that
    was presumed dead and replaced can never commit another batch of the same run.
    """
    row = session.execute(
        select(SyncRun.control)
        .where(SyncRun.tenant_id == tenant_id, SyncRun.id == run_id, SyncRun.worker_id == worker_id,
               SyncRun.status == "running")
        .with_for_update()
    ).first()
    return (row is not None, row[0] if row is not None else None)


def save_counts(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, counts: dict[str, Any]) -> str | None:
    """Store progress with the batch that made it (progress resets the failures in a row);
    returns the control request, if any."""
    return session.execute(
        update(SyncRun)
        .where(SyncRun.tenant_id == tenant_id, SyncRun.id == run_id)
        .values(counts=counts, heartbeat_at=text("now()"), failures=0)
        .returning(SyncRun.control)
    ).scalar_one_or_none()


def finish(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, status: str, *,
           counts: dict[str, Any] | None = None, error: dict[str, Any] | None = None) -> None:
    values: dict[str, Any] = {"status": status, "control": None, "error": error, "next_attempt_at": None}
    if status != "paused":
        values["finished_at"] = text("now()")
    if counts is not None:
        values["counts"] = counts
    session.execute(update(SyncRun).where(SyncRun.tenant_id == tenant_id, SyncRun.id == run_id).values(**values))


def get(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID) -> RunInfo | None:
    row = session.scalar(select(SyncRun).where(SyncRun.tenant_id == tenant_id, SyncRun.id == run_id))
    return info(row) if row is not None else None


def record_failure(db: Database, run: RunInfo, worker_id: str, exc: BaseException, *, counts: dict[str, Any],
                   base_s: float = attempts.BACKOFF_BASE_S) -> attempts.Outcome | None:
    """Store a failed attempt's outcome with the run's counts (see ``store.attempts``); waits
    out an engine outage. None if the run is no longer this worker's."""
    return attempts.record_failure_durably(db, SyncRun, run.tenant_id, run.id, exc, worker_id=worker_id,
                                           base_s=base_s, values={"counts": counts})
