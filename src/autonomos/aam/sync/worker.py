"""The RQ worker loop for sync jobs, plus an upkeep thread.

Jobs run inside the worker process (RQ's SimpleWorker) and reuse the engines and the
``SyncStage`` its entry point wired (``autonomos.services.worker``: connectors and the DCL
apply hook). The worker calls the given ``reconcile`` at start, and every ``AOS_WORKER_UPKEEP_S`` seconds it calls
the given ``upkeep``: runs left by dead workers or lost in a Redis flush are picked up again
even when no scheduler runs, and the embedding outbox is drained into the vector store.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue
from rq.worker import WorkerStatus

from autonomos.aam.sync import jobs
from autonomos.aam.sync.host_slots import HostSlots
from autonomos.aam.sync.hooks import SyncStage
from autonomos.aam.sync.inputs import SyncEngines

logger = logging.getLogger(__name__)

_IDENTITY = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_identity() -> str:
    """This process's worker id, stored on the runs it claims (fencing uses it)."""
    return _IDENTITY


SLOT_POLL_S = 0.2
"""How often a standing-by worker looks for a free job slot."""


class SlottedWorker(SimpleWorker):
    """RQ's in-process worker that takes one of its host's job slots before it takes a job."""

    slots: HostSlots

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None):
        self.set_state(WorkerStatus.IDLE)  # a stop signal while standing by ends the worker at once
        while not self.slots.try_acquire():
            self.heartbeat()
            time.sleep(SLOT_POLL_S)
        result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        if result is None:
            self.slots.release()
        return result

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            self.slots.release()


def host_slots(engines: SyncEngines) -> HostSlots:
    """This process's claim on its host's job slots (``AOS_WORKER_HOST_SLOTS``; 0: the cores
    this process may run on), leased for at most the heartbeat timeout."""
    slots = engines.settings.host_slots or len(os.sched_getaffinity(0))
    return HostSlots(engines.redis, engines.keys.platform("job-slots", socket.gethostname()), slots=slots,
                     holder=_IDENTITY, lease_s=min(engines.settings.heartbeat_timeout_s, 15.0))


def run_worker(engines: SyncEngines, *, stage: SyncStage, reconcile: Callable[[], object],
               upkeep: Callable[[], object], burst: bool = False) -> None:
    """Work the sync queue (until it is empty with ``burst``); ``upkeep`` must survive its own failures.

    ``reconcile`` runs once before the first job (the reconciler needs the maintenance database,
    which the entry point holds); ``upkeep`` every ``upkeep_s`` seconds after that."""
    jobs.set_worker(engines, stage)
    stop = threading.Event()
    reconcile()

    def keep_up() -> None:
        while not stop.wait(engines.settings.upkeep_s):
            upkeep()

    thread = threading.Thread(target=keep_up, name="upkeep", daemon=True)
    if not burst:
        thread.start()
    worker = SlottedWorker([jobs.sync_queue(engines.queue)], connection=engines.queue.redis,
                           name=f"aos-{_IDENTITY}".replace(":", "-"))
    worker.slots = host_slots(engines)
    try:
        worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
    finally:
        stop.set()
        worker.slots.close()
        jobs.set_worker(None)
