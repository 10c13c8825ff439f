"""Host slots: how many jobs run at once on one machine, across all of its worker processes.

Job slots (``slots``) let one worker fill a machine. Several workers on one machine would then
run workers x slots jobs, each with its reader and writer connections and batches in memory,
on cores that two jobs per core already keep busy. So a worker takes a host slot before it
takes a job off the queue, and gives it back when the job ends: the machine runs at most
``AOS_WORKER_HOST_SLOTS`` jobs however many workers it hosts (a job left on the queue is there
for another machine's workers).

A host slot is an exclusive ``flock`` on one of that many files in a directory private to the
user, so the kernel frees it the moment its process dies (a SIGKILL leaves nothing to expire).
Nothing of it is shared between machines or kept in Redis or Postgres.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from autonomos.errors import ConfigurationError

WAIT_S = 0.1
"""Pause between looks for a free host slot."""


def cpu_count() -> int:
    """CPUs this process may run on (a container's or taskset's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_host_slots() -> int:
    """Two jobs per CPU: one computes while the other waits on Postgres or its source."""
    return 2 * cpu_count()


def default_worker_slots() -> int:
    """One job per CPU, at least two: a second job computes while the first waits on Postgres."""
    return max(2, cpu_count())


def slot_directory() -> Path:
    """The user's own lock directory; one made by someone else (who could hold every slot) is refused."""
    path = Path(tempfile.gettempdir()) / f"autonomos-host-slots-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise ConfigurationError("the host slot directory is not a directory of this user's alone", path=str(path))
    return path


class HostSlot:
    """One held host slot; ``release`` gives it back (closing the file drops the lock)."""

    def __init__(self, handle: IO[bytes] | None) -> None:
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class HostSlots:
    """At most ``capacity`` holders at once on this machine (0: no limit)."""

    def __init__(self, capacity: int, directory: Path | None = None) -> None:
        self.capacity = capacity
        self.directory = directory

    def try_take(self) -> HostSlot | None:
        if self.capacity <= 0:
            return HostSlot(None)
        if self.directory is None:  # checked once: every idle slot polls here each second
            self.directory = slot_directory()
        for number in range(self.capacity):
            handle = (self.directory / f"slot-{number}.lock").open("a+b")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return HostSlot(handle)
        return None

    def take(self, stopping: threading.Event, keep_alive: Callable[[], object], keep_alive_s: float = 5.0
             ) -> HostSlot | None:
        """Wait for a free host slot; None if ``stopping`` is set first. ``keep_alive`` is called
        every ``keep_alive_s`` while waiting (the RQ worker's heartbeat)."""
        last = time.monotonic()
        while not stopping.is_set():
            slot = self.try_take()
            if slot is not None:
                return slot
            if time.monotonic() - last >= keep_alive_s:
                keep_alive()
                last = time.monotonic()
            stopping.wait(WAIT_S)
        return None
