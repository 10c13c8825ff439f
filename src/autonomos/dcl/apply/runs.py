"""Apply runs are runs: created ``pending``, claimed, heartbeated, reconciled and resumed.

Like a sync run, an apply run is a row that any worker can pick up: ``claim`` takes a due
pending run with one atomic UPDATE; its executor heartbeats while it works and stores, with
every committed batch and in the same transaction, the position after that batch
(``resume_after``: a record key for a backfill, a raw record id for an incremental apply), so
an interrupted run continues from its last committed batch. A run whose worker stopped
heartbeating is sent back to ``pending`` by ``reconcile`` (a lost attempt), and failures follow
``store.attempts``: retry with backoff, ``failed`` at once, or ``abandoned`` after
``max_attempts`` in a row without a committed batch.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from autonomos.store import attempts
from autonomos.store.maintenance import MaintenanceDatabase
from autonomos.store.tables import ApplyRun

ACTIVE = ("pending", "running")


def create(session: Session, tenant_id: uuid.UUID, mapping_id: uuid.UUID, version_id: uuid.UUID, *, trigger: str,
           incremental: bool, after: int | str, high_water: int) -> uuid.UUID:
    """A pending run that starts after ``after`` and reads up to ``high_water`` (incremental)."""
    run = ApplyRun(id=uuid.uuid4(), tenant_id=tenant_id, mapping_id=mapping_id, mapping_version_id=version_id,
                   trigger=trigger, status="pending", incremental=incremental, resume_after=str(after),
                   high_water=high_water)
    session.add(run)
    session.flush()
    return run.id


def defer(session: Session, tenant_id: uuid.UUID, run_ids: list[uuid.UUID], seconds: float) -> int:
    """Keep pending runs from being claimed for ``seconds`` more (0: due now); returns how many."""
    due = func.now() + dt.timedelta(seconds=seconds) if seconds > 0 else None
    return len(session.execute(
        update(ApplyRun)
        .where(ApplyRun.tenant_id == tenant_id, ApplyRun.id.in_(run_ids), ApplyRun.status == "pending")
        .values(next_attempt_at=due).returning(ApplyRun.id)).all())


def discard_pending(session: Session, tenant_id: uuid.UUID, run_ids: list[uuid.UUID]) -> int:
    """Drop runs that never started (a held stream's apply: releasing it applies what landed)."""
    if not run_ids:
        return 0
    return len(session.execute(
        delete(ApplyRun).where(ApplyRun.tenant_id == tenant_id, ApplyRun.id.in_(run_ids), ApplyRun.status == "pending",
                               ApplyRun.attempts == 0).returning(ApplyRun.id)).all())


def claim(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, worker_id: str) -> ApplyRun | None:
    """Take the run if it is pending and due; None otherwise (final, running, or waiting for backoff)."""
    return session.execute(
        update(ApplyRun)
        .where(ApplyRun.tenant_id == tenant_id, ApplyRun.id == run_id, ApplyRun.status == "pending",
               ApplyRun.next_attempt_at.is_(None) | (ApplyRun.next_attempt_at <= func.now()))
        .values(status="running", worker_id=worker_id, attempts=ApplyRun.attempts + 1, next_attempt_at=None,
                heartbeat_at=func.now())
        .returning(ApplyRun)
    ).scalar_one_or_none()


def heartbeat(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, worker_id: str) -> bool:
    return session.execute(
        update(ApplyRun)
        .where(ApplyRun.tenant_id == tenant_id, ApplyRun.id == run_id, ApplyRun.worker_id == worker_id,
               ApplyRun.status == "running")
        .values(heartbeat_at=func.now()).returning(ApplyRun.id)
    ).scalar_one_or_none() is not None


def save_progress(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, worker_id: str, position: int | str,
                  counts: dict[str, int]) -> bool:
    """In the batch's own transaction: the position after it, the counts, and progress (the
    failures in a row reset). False if this worker no longer owns the run (the batch must not commit)."""
    return session.execute(
        update(ApplyRun)
        .where(ApplyRun.tenant_id == tenant_id, ApplyRun.id == run_id, ApplyRun.worker_id == worker_id,
               ApplyRun.status == "running")
        .values(resume_after=str(position), counts=counts, failures=0, heartbeat_at=func.now())
        .returning(ApplyRun.id)
    ).scalar_one_or_none() is not None


def finish(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, status: str, counts: dict[str, int]) -> None:
    session.execute(update(ApplyRun).where(ApplyRun.tenant_id == tenant_id, ApplyRun.id == run_id)
                    .values(status=status, counts=counts, error=None, next_attempt_at=None, worker_id=None,
                            finished_at=func.now()))


def unfinished_backfill(session: Session, tenant_id: uuid.UUID, version_id: uuid.UUID) -> ApplyRun | None:
    """The version's latest backfill if it never finished (pending, running, failed or
    abandoned, and no later backfill of the version succeeded)."""
    latest = session.scalar(select(ApplyRun).where(
        ApplyRun.tenant_id == tenant_id, ApplyRun.mapping_version_id == version_id, ApplyRun.incremental.is_(False))
        .order_by(ApplyRun.started_at.desc()).limit(1))
    if latest is None or latest.status in ("succeeded", "superseded"):
        return None
    return latest


def count_if_lost(session: Session, run: ApplyRun, heartbeat_timeout_s: float, base_s: float) -> None:
    """A running run whose heartbeat stopped: count its lost attempt now (as ``reconcile`` would)."""
    if run.status != "running":
        return
    now = session.scalar(select(func.now()))
    if run.heartbeat_at is None or run.heartbeat_at < now - dt.timedelta(seconds=heartbeat_timeout_s):
        attempts.record_failure(session, ApplyRun, run.tenant_id, run.id, attempts.lost_worker_record(),
                                worker_id=None, base_s=base_s, failed_at=run.heartbeat_at or now)


def reopen(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID) -> None:
    """A person asked again: a failed or abandoned run gets a fresh set of attempts, due now."""
    session.execute(update(ApplyRun).where(ApplyRun.tenant_id == tenant_id, ApplyRun.id == run_id,
                                           ApplyRun.status.in_(("failed", "abandoned", "pending")))
                    .values(status="pending", failures=0, next_attempt_at=None, finished_at=None))


@dataclass(frozen=True)
class Lost:
    tenant_id: uuid.UUID
    run_id: uuid.UUID
    outcome: attempts.Outcome


def reconcile(maintenance: MaintenanceDatabase, heartbeat_timeout_s: float, base_s: float
              ) -> tuple[list[Lost], list[tuple[uuid.UUID, uuid.UUID]]]:
    """Count a lost attempt for every running run whose heartbeat stopped (back to pending with
    backoff, or abandoned); returns those and the (tenant, run) of every due pending run."""
    lost: list[Lost] = []
    with maintenance.session() as session:
        stale = session.execute(
            select(ApplyRun.tenant_id, ApplyRun.id, ApplyRun.heartbeat_at)
            .where(ApplyRun.status == "running", text(attempts.stale_heartbeat_sql("apply_runs.heartbeat_at")))
            .with_for_update(skip_locked=True),
            {"timeout": heartbeat_timeout_s},
        ).all()
        for tenant_id, run_id, heartbeat_at in stale:
            outcome = attempts.record_failure(session, ApplyRun, tenant_id, run_id, attempts.lost_worker_record(),
                                              worker_id=None, base_s=base_s,
                                              failed_at=heartbeat_at or dt.datetime.now(dt.UTC))
            if outcome is not None:
                lost.append(Lost(tenant_id, run_id, outcome))
        due = session.execute(
            select(ApplyRun.tenant_id, ApplyRun.id)
            .where(ApplyRun.status == "pending",
                   ApplyRun.next_attempt_at.is_(None) | (ApplyRun.next_attempt_at <= func.now()))
            .order_by(ApplyRun.started_at)
        ).all()
    return lost, [(t, r) for t, r in due]
