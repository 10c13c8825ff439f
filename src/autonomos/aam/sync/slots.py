"""Job slots: one worker process running several jobs at once, each on a thread of its own.

A sync or apply job alternates between Python (reading, hashing, transforming) and one
Postgres backend (COPY, versioning, index inserts), and its start and end (discovery, the
drift check) run on one core: one job at a time left a third of a 2-core machine idle in the
load benchmark. So a worker runs ``AOS_WORKER_SLOTS`` jobs at once, as worker daemons of other
queues do. Each slot is an RQ worker with a name and a worker id of its own (runs are claimed
and fenced by it), so two slots of one process never own one run. Before it takes a job off the
queue a slot takes a host slot (``host_slots``), which bounds the jobs of every worker on the
machine together.

The main thread's RQ worker keeps the signals: a first SIGTERM or SIGINT lets every slot finish
the job it is on and stop (warm shutdown); a second ends the process (cold: the runs in flight
are taken over once their heartbeat lapses, as after a crash). Slots wait for jobs in turns of
``POLL_S`` so they see a stop, and give a host slot back between turns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from autonomos.aam.sync.host_slots import HostSlot, HostSlots

logger = logging.getLogger(__name__)

_slot = threading.local()
POLL_S = 1
"""Longest a slot waits for a job (holding a host slot) before it looks at the stop flag again."""


def slot_identity(default: str) -> str:
    """The worker id of the slot running on this thread (``default`` on the main slot)."""
    return getattr(_slot, "identity", default)


class _SlotWorker(SimpleWorker):
    """An RQ worker that takes a host slot before each job and gives it back after."""

    def __init__(self, *args, stopping: threading.Event, host: HostSlots, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stopping, self.host = stopping, host
        self._held: HostSlot | None = None

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        while not self.stopping.is_set():
            held = self.host.take(self.stopping, self.heartbeat)
            if held is None:
                return None
            try:
                if timeout is None:  # burst: one look at the queue, as RQ does
                    result = super().dequeue_job_and_maintain_ttl(None, max_idle_time)
                else:
                    result = super().dequeue_job_and_maintain_ttl(min(timeout, POLL_S), POLL_S)
            except BaseException:
                held.release()
                raise
            if result is not None:
                self._held = held
                return result
            held.release()
            if timeout is None:
                return None
        return None

    def execute_job(self, job, queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            if self._held is not None:
                self._held.release()
                self._held = None


class MainWorker(_SlotWorker):
    """The main thread's RQ worker: a stop request it receives reaches every slot."""

    def request_stop(self, signum, frame) -> None:
        self.stopping.set()
        super().request_stop(signum, frame)


class ExtraWorker(_SlotWorker):
    """The RQ worker of an extra slot: no signal handlers (only the main thread may install
    them) and a timer for job timeouts (RQ's default is a SIGALRM)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        """The main slot's worker handles the signals and sets ``stopping``."""


def start_slots(count: int, make: Callable[[int], ExtraWorker], identity: str, *, burst: bool
                ) -> list[threading.Thread]:
    """``count`` extra slot threads, each working the queue with the worker ``make`` builds."""
    threads = []
    for number in range(2, count + 2):
        worker = make(number)

        def work(worker: ExtraWorker = worker, number: int = number) -> None:
            _slot.identity = f"{identity}/{number}"
            try:
                worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
            except Exception:  # a slot that fails leaves the others working; its runs are taken over
                logger.exception("job slot %d stopped on an error", number)

        thread = threading.Thread(target=work, name=f"job-slot-{number}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
