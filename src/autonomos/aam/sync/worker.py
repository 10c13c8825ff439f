"""``aos worker``: an RQ worker for sync jobs, plus a reconciler thread.

Jobs run inside the worker process (RQ's SimpleWorker) and reuse its engines. The worker
reconciles at start and every ``RECONCILE_EVERY_S`` seconds, so runs left by dead workers or
lost in a Redis flush are picked up again even when no scheduler runs.
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

logger = logging.getLogger(__name__)

RECONCILE_EVERY_S = 10.0
_IDENTITY = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_identity() -> str:
    """This process's worker id, stored on the runs it claims (fencing uses it)."""
    return _IDENTITY


def run_worker(rt: Runtime, *, burst: bool = False, reconcile_every_s: float = RECONCILE_EVERY_S) -> None:
    jobs.set_worker_runtime(rt)
    stop = threading.Event()
    reconcile(rt)

    def keep_reconciling() -> None:
        while not stop.wait(reconcile_every_s):
            try:
                reconcile(rt)
            except Exception:
                logger.warning("reconcile failed; will retry", exc_info=True)

    thread = threading.Thread(target=keep_reconciling, daemon=True)
    if not burst:
        thread.start()
    try:
        worker = SimpleWorker([jobs.sync_queue(rt)], connection=rt.queue_redis, name=f"aos-{_IDENTITY}".replace(":", "-"))
        worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
    finally:
        stop.set()
        jobs.set_worker_runtime(None)
