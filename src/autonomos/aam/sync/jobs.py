"""The job queue (RQ on Redis). A job carries only (tenant id, run id), and its RQ job id
*is* the run id, so enqueueing the same run twice is harmless: the claim in Postgres lets
one execution through. Redis holds no other state worth keeping."""

from __future__ import annotations

import uuid

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from autonomos.aam.sync.hooks import SyncStage
from autonomos.aam.sync.inputs import JobQueue, SyncEngines
from autonomos.errors import ConfigurationError

_WORKER: tuple[SyncEngines, SyncStage] | None = None
"""Set by the worker process: jobs run in-process, with its engines and the stage it wired."""


def queue_name(namespace: str) -> str:
    """The sync queue of a Redis namespace (apply runs share it)."""
    return f"{namespace}-sync"


def sync_queue(queue: JobQueue) -> Queue:
    return Queue(queue.name, connection=queue.redis)


def enqueue_run(queue: JobQueue, tenant_id: uuid.UUID, run_id: uuid.UUID, *, trust_started: bool = True,
                function: str = "autonomos.aam.sync.jobs.run_sync_job") -> bool:
    """Put the run on the queue unless a job for it is waiting there; returns whether it did.

    ``trust_started=False`` (the reconciler) re-enqueues even when Redis says the job started:
    Postgres says the run is pending, so whoever started it is gone. A duplicate job is
    harmless, since the claim lets only one execution through. ``function`` is the job (the
    apply runs of DCL use the same queue, with their own job function).
    """
    try:
        status = Job.fetch(str(run_id), connection=queue.redis).get_status(refresh=True)
    except NoSuchJobError:
        status = None
    waiting = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
    if trust_started:
        waiting.add(JobStatus.STARTED)
    if status in waiting:
        return False
    sync_queue(queue).enqueue(
        function, str(tenant_id), str(run_id),
        job_id=str(run_id), job_timeout=-1, result_ttl=3600, failure_ttl=86400,
    )
    return True


def enqueue_front(queue: JobQueue, tenant_id: uuid.UUID, run_id: uuid.UUID) -> None:
    """Put the run's job at the head of the queue, taking it out of its place in the line
    first: a tenant whose running sync just ended goes next, instead of behind every run that
    waits for its own tenant's limit (a duplicate is harmless: the claim lets one through)."""
    rq_queue = sync_queue(queue)
    rq_queue.remove(str(run_id))
    rq_queue.enqueue("autonomos.aam.sync.jobs.run_sync_job", str(tenant_id), str(run_id), job_id=str(run_id),
                     job_timeout=-1, result_ttl=3600, failure_ttl=86400, at_front=True)


def run_sync_job(tenant_id: str, run_id: str) -> str | None:
    """The job function: claim and execute the run (see ``engine.execute_run``)."""
    from autonomos.aam.sync.engine import execute_run
    from autonomos.aam.sync.worker import worker_identity

    if _WORKER is None:  # the run stays pending; a worker started by ``aos worker`` takes it
        raise ConfigurationError("sync jobs run only in a worker started by `aos worker`", run=run_id)
    engines, stage = _WORKER
    return execute_run(engines, stage, uuid.UUID(tenant_id), uuid.UUID(run_id), worker_identity())


def set_worker(engines: SyncEngines | None, stage: SyncStage | None = None) -> None:
    """Install (or, with None, remove) the process's engines and stage for the jobs it runs."""
    global _WORKER
    if engines is not None and stage is None:
        raise ConfigurationError("a worker needs its sync stage (connector factory and post-landing hook)")
    _WORKER = None if engines is None else (engines, stage)
