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
import uuid
from collections.abc import Callable

from rq import SimpleWorker

from autonomos.aam.sync import jobs
from autonomos.aam.sync.hooks import SyncStage
from autonomos.aam.sync.inputs import SyncEngines

logger = logging.getLogger(__name__)

_IDENTITY = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_identity() -> str:
    """This process's worker id, stored on the runs it claims (fencing uses it)."""
    return _IDENTITY


def run_worker(engines: SyncEngines, *, stage: SyncStage, reconcile: Callable[[], object],
               upkeep: Callable[[], object], choose: jobs.Choose | None = None, burst: bool = False) -> None:
    """Work the sync queue (until it is empty with ``burst``); ``upkeep`` must survive its own failures.

    ``reconcile`` runs once before the first job (the reconciler needs the maintenance database,
    which the entry point holds); ``upkeep`` every ``upkeep_s`` seconds after that (at once
    after a round whose result says ``more``). ``choose``
    offers the least-served tenants' runs to each job (``share``; it needs the maintenance
    database too)."""
    jobs.set_worker(engines, stage, choose)
    stop = threading.Event()
    reconcile()

    def keep_up() -> None:
        delay = engines.settings.upkeep_s
        while not stop.wait(delay):  # a round that reports ``more`` work is followed at once
            delay = 0 if getattr(upkeep(), "more", False) else engines.settings.upkeep_s

    thread = threading.Thread(target=keep_up, name="upkeep", daemon=True)
    if not burst:
        thread.start()
    try:
        worker = SimpleWorker([jobs.sync_queue(engines.queue)], connection=engines.queue.redis, name=f"aos-{_IDENTITY}".replace(":", "-"))
        worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
    finally:
        stop.set()
        jobs.set_worker(None)
