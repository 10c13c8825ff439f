"""The job queue (RQ on Redis). A job carries only (tenant id, run id), and its RQ job id
*is* the run id, so enqueueing the same run twice is harmless: the claim in Postgres lets
one execution through. A job is a trigger more than an order: the worker that takes it runs
the least-served tenant's due run, and its own only when none comes first (``share``). Redis
holds no other state worth keeping."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from autonomos.aam.sync.hooks import SyncStage
from autonomos.aam.sync.inputs import JobQueue, SyncEngines
from autonomos.errors import ConfigurationError

Choose = Callable[[], list[tuple[uuid.UUID, uuid.UUID]]]
"""Offers (tenant, run) pairs of due runs, least-served tenant first (see ``share``)."""

_WORKER: tuple[SyncEngines, SyncStage, Choose | None] | None = None
"""Set by the worker process: jobs run in-process, with its engines, the stage it wired and its
choice of the least-served tenant (``share``)."""


def queue_name(namespace: str) -> str:
    """The sync queue of a Redis namespace (apply runs share it)."""
    return f"{namespace}-sync"


def sync_queue(queue: JobQueue) -> Queue:
    return Queue(queue.name, connection=queue.redis)


def enqueue_run(queue: JobQueue, tenant_id: uuid.UUID, run_id: uuid.UUID, *, trust_started: bool = True,
                at_front: bool = False, function: str = "autonomos.aam.sync.jobs.run_sync_job") -> bool:
    """Put the run on the queue unless a job for it is waiting there; returns whether it did.

    ``trust_started=False`` (the reconciler) re-enqueues even when Redis says the job started:
    Postgres says the run is pending, so whoever started it is gone. A duplicate job is
    harmless, since the claim lets only one execution through. ``at_front`` (a hand-off) takes
    a waiting job for the run out of its place in the line and puts it at the head: a tenant
    whose running sync just ended goes next. ``function`` is the job (the apply runs of DCL use
    the same queue, with their own job function).
    """
    rq_queue = sync_queue(queue)
    if at_front:  # a forced replace: out of its place in the line, in at the head
        rq_queue.remove(str(run_id))
    elif _waiting(queue, run_id, trust_started):
        return False
    rq_queue.enqueue(function, str(tenant_id), str(run_id), job_id=str(run_id), job_timeout=-1, result_ttl=3600,
                     failure_ttl=86400, at_front=at_front)
    return True


def _waiting(queue: JobQueue, run_id: uuid.UUID, trust_started: bool) -> bool:
    """Whether Redis holds a job for the run that is still to run (or running, if trusted)."""
    try:
        status = Job.fetch(str(run_id), connection=queue.redis).get_status(refresh=True)
    except NoSuchJobError:
        return False
    waiting = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
    if trust_started:
        waiting.add(JobStatus.STARTED)
    return status in waiting


def run_sync_job(tenant_id: str, run_id: str) -> str | None:
    """The job function: claim and execute the least-served tenant's run, else this one (see
    ``share.execute_next``)."""
    from autonomos.aam.sync.share import execute_next
    from autonomos.aam.sync.worker import worker_identity

    if _WORKER is None:  # the run stays pending; a worker started by ``aos worker`` takes it
        raise ConfigurationError("sync jobs run only in a worker started by `aos worker`", run=run_id)
    engines, stage, choose = _WORKER
    return execute_next(engines, stage, choose, uuid.UUID(tenant_id), uuid.UUID(run_id), worker_identity())


def set_worker(engines: SyncEngines | None, stage: SyncStage | None = None,
               choose: Choose | None = None) -> None:
    """Install (or, with None, remove) the process's engines, stage and tenant-share choice
    (None: every job runs its own run) for the jobs it runs."""
    global _WORKER
    if engines is not None and stage is None:
        raise ConfigurationError("a worker needs its sync stage (connector factory and post-landing hook)")
    _WORKER = None if engines is None else (engines, stage, choose)
