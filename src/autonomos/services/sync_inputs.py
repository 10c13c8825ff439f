"""The sync stage's plain inputs, built from the process's ``Runtime``.

``autonomos.aam.sync`` takes a ``SyncEngines`` (tenant database, Redis, job queue, the settings
it reads) and, for the reconciler, the scheduler and the tenant-share choice of a worker's next
run, the maintenance database as an argument of its own; this is the one place that turns a
``Runtime`` into them. It also keeps the worker process's runtime for job functions of the
layer above the stage (the apply runs' job).
"""

from __future__ import annotations

import datetime as dt
import uuid

from autonomos.aam.sync.inputs import JobQueue, SyncEngines, SyncSettings
from autonomos.aam.sync.jobs import queue_name
from autonomos.aam.sync.reconciler import ReconcileReport, reconcile
from autonomos.aam.sync.scheduler import TickReport, tick
from autonomos.aam.sync.share import least_served
from autonomos.runtime import Runtime
from autonomos.store.maintenance import maintenance_database

_WORKER_RUNTIME: Runtime | None = None
"""Set while ``services.worker.run_worker`` works the queue (None in any other process)."""


def job_queue(rt: Runtime) -> JobQueue:
    """The sync queue (apply runs share it)."""
    return JobQueue(rt.queue_redis, queue_name(rt.settings.redis_namespace))


def sync_engines(rt: Runtime) -> SyncEngines:
    """The engines and settings of ``rt`` as the sync stage takes them (cheap: ``rt`` caches the clients)."""
    return SyncEngines(db=rt.db, redis=rt.redis, keys=rt.keys, queue=job_queue(rt),
                       settings=SyncSettings.from_settings(rt.settings))


def reconcile_syncs(rt: Runtime) -> ReconcileReport:
    """The sync reconciler over every tenant (lost runs counted, due pending runs enqueued)."""
    return reconcile(sync_engines(rt), maintenance_database(rt))


def scheduler_tick(rt: Runtime, now: dt.datetime | None = None) -> TickReport:
    """One scheduler tick: due scheduled syncs started, then the queue reconciled."""
    return tick(sync_engines(rt), maintenance_database(rt), now)


def least_served_runs(rt: Runtime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The due runs a freed worker should take first, least-served tenant first (``aam.sync.share``)."""
    with maintenance_database(rt).session() as session:
        return least_served(session, rt.settings.sync_heartbeat_timeout_s)


def set_worker_runtime(rt: Runtime | None) -> None:
    """Install (or, with None, remove) the worker process's runtime."""
    global _WORKER_RUNTIME
    _WORKER_RUNTIME = rt


def worker_runtime() -> Runtime | None:
    """The worker process's runtime, for job functions (None outside a worker)."""
    return _WORKER_RUNTIME
