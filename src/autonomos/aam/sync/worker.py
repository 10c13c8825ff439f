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

from autonomos.aam.sync import jobs
from autonomos.aam.sync.hooks import SyncStage
from autonomos.aam.sync.inputs import SyncEngines
from autonomos.aam.sync.host_slots import HostSlots
from autonomos.aam.sync.slots import ExtraWorker, MainWorker, slot_identity, start_slots

logger = logging.getLogger(__name__)

_IDENTITY = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_identity() -> str:
    """The worker id of this process's job slot on the calling thread, stored on the runs it
    claims (fencing uses it)."""
    return slot_identity(_IDENTITY)


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
    stopping, host = threading.Event(), HostSlots(engines.settings.host_slots)
    queue, name = jobs.sync_queue(engines.queue), f"aos-{_IDENTITY}".replace(":", "-")

    def make_slot(number: int) -> ExtraWorker:
        return ExtraWorker([queue], connection=engines.queue.redis, name=f"{name}-{number}", stopping=stopping,
                           host=host)

    slots: list[threading.Thread] = []
    warm = False
    try:
        slots = start_slots(engines.settings.slots - 1, make_slot, _IDENTITY, burst=burst)
        worker = MainWorker([queue], connection=engines.queue.redis, name=name, stopping=stopping, host=host)
        worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
        warm = True
    finally:
        if warm:  # every slot finishes the job it is on (a cold stop leaves them to the heartbeat takeover)
            if not burst:
                stopping.set()
            for slot in slots:
                slot.join()
        stopping.set()
        stop.set()
        jobs.set_worker(None)
