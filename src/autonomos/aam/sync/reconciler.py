"""The reconciler: makes the queue agree with Postgres again after anything went wrong.

Runs whose worker stopped heartbeating go back to ``pending``; every pending run without
a live job is enqueued. A Redis flush or a SIGKILLed worker therefore delays work but loses
none. It scans all tenants, so it uses the maintenance path.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text, update

from autonomos.aam.sync.jobs import enqueue_run
from autonomos.runtime import Runtime
from autonomos.store.maintenance import maintenance_database
from autonomos.store.tables import SyncRun


@dataclass(frozen=True)
class ReconcileReport:
    revived: int
    enqueued: int


def reconcile(rt: Runtime) -> ReconcileReport:
    timeout = rt.settings.sync_heartbeat_timeout_s
    with maintenance_database(rt).session() as session:
        revived = session.execute(
            update(SyncRun)
            .where(SyncRun.status == "running",
                   SyncRun.heartbeat_at < text("now() - make_interval(secs => :timeout)"))
            .values(status="pending", worker_id=None)
            .returning(SyncRun.id),
            {"timeout": timeout},
        ).all()
        pending = session.execute(
            select(SyncRun.tenant_id, SyncRun.id).where(SyncRun.status == "pending").order_by(SyncRun.created_at)
        ).all()
    enqueued = sum(1 for tenant_id, run_id in pending if enqueue_run(rt, tenant_id, run_id, trust_started=False))
    return ReconcileReport(len(revived), enqueued)
