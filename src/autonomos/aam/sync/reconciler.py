"""The reconciler: makes the queue agree with Postgres again after anything went wrong.

Runs whose worker stopped heartbeating count a failed attempt (``store.attempts``): back to
``pending`` with backoff, or ``abandoned`` once ``max_attempts`` attempts in a row died without
committing a batch, so a run that kills its worker every time stops looping. Every pending run
that is due and has no live job is enqueued. A Redis flush or a SIGKILLed worker therefore
delays work but loses none. It scans all tenants, so it uses the maintenance path.
"""

from __future__ import annotations

from dataclasses import dataclass

import logging

from sqlalchemy import select, text

from autonomos.aam.sync.inputs import SyncEngines
from autonomos.aam.sync.jobs import enqueue_run
from autonomos.aam.sync.runs import due
from autonomos.notifications import publish
from autonomos.store import attempts
from autonomos.store.maintenance import MaintenanceDatabase
from autonomos.store.tables import SyncRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileReport:
    revived: int
    enqueued: int
    abandoned: int = 0


def reconcile(engines: SyncEngines, maintenance: MaintenanceDatabase) -> ReconcileReport:
    """One pass over every tenant's runs (``maintenance``: the cross-tenant database)."""
    timeout = engines.settings.heartbeat_timeout_s
    revived = abandoned = 0
    with maintenance.session() as session:
        stale = session.execute(
            select(SyncRun.tenant_id, SyncRun.id, SyncRun.connection_id, SyncRun.heartbeat_at)
            .where(SyncRun.status == "running", text(attempts.stale_heartbeat_sql("sync_runs.heartbeat_at")))
            .with_for_update(skip_locked=True),
            {"timeout": timeout},
        ).all()
        lost = []
        for tenant_id, run_id, connection_id, heartbeat_at in stale:
            outcome = attempts.record_failure(session, SyncRun, tenant_id, run_id, attempts.lost_worker_record(),
                                              worker_id=None, base_s=engines.settings.retry_backoff_s,
                                              failed_at=heartbeat_at)
            if outcome is not None:
                lost.append((tenant_id, run_id, connection_id, outcome))
        pending = session.execute(
            select(SyncRun.tenant_id, SyncRun.id)
            .where(due())
            .order_by(SyncRun.created_at)
        ).all()
    for tenant_id, run_id, connection_id, outcome in lost:
        revived += outcome.status == "pending"
        if outcome.status == "abandoned":
            abandoned += 1
            logger.warning("sync run abandoned after %d failed attempts in a row", outcome.failures,
                           extra={"run_id": str(run_id)})
        publish(engines, tenant_id, "sync.abandoned" if outcome.status == "abandoned" else "sync.retrying",
                {"run_id": str(run_id), "connection_id": str(connection_id), "error": outcome.error,
                 "failures": outcome.failures, "next_attempt_at": outcome.next_attempt_at})
    enqueued = sum(1 for tenant_id, run_id in pending if enqueue_run(engines.queue, tenant_id, run_id, trust_started=False))
    return ReconcileReport(revived, enqueued, abandoned)
