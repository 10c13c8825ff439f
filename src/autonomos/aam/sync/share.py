"""Tenant-share scheduling: which due sync run a freed worker takes.

A job on the queue is a trigger, not an order. A worker that takes one first asks Postgres
which tenants are least served: those with a due pending run and a free place under their
``max_concurrent_syncs``, fewest running syncs relative to that limit first (then the oldest
run). It claims the first of their oldest due runs it can and falls back to the job's own run.
So a tenant held to one sync at a time never waits behind other tenants' queued runs, and a job
for a run whose tenant is at its limit still sets a worker to work instead of being dropped.

Correctness stays where it was: the claim checks the tenant's limit under the tenant's lock,
so workers choosing at once cannot breach it (the one that loses the race tries its next
choice), and the claim lets a run through once. The run whose job was used for another stays
pending; the job of the run taken in its place is still queued and stands in for it (whoever
takes that job finds its run taken and chooses again), a hand-off re-enqueues a tenant's next
run when one of its runs ends, and the reconciler enqueues every due run without a live job.
Nothing of the choice is kept in Redis: a flush or a killed worker changes who takes the next
run, never what runs or how many at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import Float, Integer, cast, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from autonomos.aam.sync import runs
from autonomos.aam.sync.engine import execute_run
from autonomos.aam.sync.hooks import SyncStage
from autonomos.aam.sync.jobs import Choose
from autonomos.aam.sync.inputs import SyncEngines
from autonomos.store.tables import SyncRun, Tenant

logger = logging.getLogger(__name__)

CHOICES = 4
"""Tenants offered per choice: enough to get past the ones other workers claim at the same moment."""


def least_served(session: Session, heartbeat_timeout_s: float,
                 count: int = CHOICES) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Each tenant's oldest due run, for tenants under their limit, least-served tenant first.

    Running syncs count as the claim counts them (a heartbeat within the timeout). ``session``
    must see every tenant (the maintenance path); in one tenant's session it offers that tenant's."""
    alive = func.now() - dt.timedelta(seconds=heartbeat_timeout_s)
    running = (select(SyncRun.tenant_id, func.count().label("n"))
               .where(SyncRun.status == "running", SyncRun.heartbeat_at > alive)
               .group_by(SyncRun.tenant_id).subquery())
    oldest = (select(SyncRun.tenant_id, SyncRun.id, SyncRun.created_at)
              .where(runs.due())
              .ext(distinct_on(SyncRun.tenant_id)).order_by(SyncRun.tenant_id, SyncRun.created_at).subquery())
    cap = func.coalesce(cast(Tenant.settings["max_concurrent_syncs"].astext, Integer), runs.DEFAULT_TENANT_CONCURRENCY)
    busy = func.coalesce(running.c.n, 0)
    rows = session.execute(
        select(oldest.c.tenant_id, oldest.c.id)
        .join(Tenant, Tenant.id == oldest.c.tenant_id)
        .outerjoin(running, running.c.tenant_id == oldest.c.tenant_id)
        .where(busy < cap)
        .order_by(cast(busy, Float) / func.greatest(cap, 1), oldest.c.created_at)
        .limit(count)).all()
    return [(tenant_id, run_id) for tenant_id, run_id in rows]


def execute_next(engines: SyncEngines, stage: SyncStage, choose: Choose | None, tenant_id: uuid.UUID,
                 run_id: uuid.UUID, worker_id: str) -> str | None:
    """A job's turn on a worker: the least-served tenant's run, else the job's own; returns the
    executed run's final status, or None if nothing offered was claimable."""
    offered: list[tuple[uuid.UUID, uuid.UUID]] = []
    if choose is not None:
        try:
            offered = choose()
        except Exception:  # the job's own run still goes; the choice is only an order
            logger.warning("choosing the least-served tenant failed", exc_info=True)
    for tenant, run in dict.fromkeys([*offered, (tenant_id, run_id)]):
        status = execute_run(engines, stage, tenant, run, worker_id)
        if status is not None:
            return status
    return None
