"""``aos worker``: an RQ worker for sync jobs, plus an upkeep thread.

Jobs run inside the worker process (RQ's SimpleWorker) and reuse its engines. The worker
reconciles at start, and every ``AOS_WORKER_UPKEEP_S`` seconds it runs ``services.upkeep``:
runs left by dead workers or lost in a Redis flush are picked up again even when no scheduler
runs, and the embedding outbox is drained into the vector store.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from rq import SimpleWorker

from autonomos.aam.sync import jobs
from autonomos.aam.sync.reconciler import reconcile
from autonomos.services.runtime import Runtime
from autonomos.services.upkeep import upkeep

logger = logging.getLogger(__name__)

_IDENTITY = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_identity() -> str:
    """This process's worker id, stored on the runs it claims (fencing uses it)."""
    return _IDENTITY


def run_worker(rt: Runtime, *, burst: bool = False) -> None:
    jobs.set_worker_runtime(rt)
    stop = threading.Event()
    reconcile(rt)

    def keep_up() -> None:
        while not stop.wait(rt.settings.worker_upkeep_s):
            upkeep(rt)  # logs and survives its own failures

    thread = threading.Thread(target=keep_up, name="upkeep", daemon=True)
    if not burst:
        thread.start()
    try:
        worker = SimpleWorker([jobs.sync_queue(rt)], connection=rt.queue_redis, name=f"aos-{_IDENTITY}".replace(":", "-"))
        worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
    finally:
        stop.set()
        jobs.set_worker_runtime(None)
