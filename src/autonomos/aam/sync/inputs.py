"""The plain inputs of the sync stage: the engines it runs on and the settings it reads.

The stage never sees the process's ``Runtime``: the composition root
(``autonomos.services.sync_inputs``) builds a ``SyncEngines`` from it, and tests may build one
from whatever they hold. The cross-tenant maintenance database is not in here: only the
reconciler and the scheduler take one, as an argument of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from autonomos.aam.sync.host_slots import default_host_slots, default_worker_slots
from autonomos.config import Settings
from autonomos.engines.redis import Keys
from autonomos.store.database import Database


@dataclass(frozen=True)
class SyncSettings:
    """The settings the stage reads (each documented on ``autonomos.config.Settings``)."""

    batch_size: int
    writers: int
    heartbeat_timeout_s: float
    retry_backoff_s: float
    max_run_s: float
    max_columns: int
    upkeep_s: float
    slots: int = 1
    host_slots: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncSettings:
        return cls(batch_size=settings.sync_batch_size, writers=settings.sync_writers,
                   heartbeat_timeout_s=settings.sync_heartbeat_timeout_s, retry_backoff_s=settings.retry_backoff_s,
                   max_run_s=settings.sync_max_run_s, max_columns=settings.max_columns,
                   upkeep_s=settings.worker_upkeep_s, slots=settings.worker_slots or default_worker_slots(),
                   host_slots=default_host_slots() if settings.worker_host_slots is None else settings.worker_host_slots)


@dataclass(frozen=True)
class JobQueue:
    """Where runs are enqueued: a Redis client without a socket timeout (workers block on it)
    and the queue's name."""

    redis: redis.Redis
    name: str


@dataclass(frozen=True)
class SyncEngines:
    """What the stage runs on. ``db``, ``redis`` and ``keys`` are also what
    ``autonomos.notifications`` needs to record and announce the stage's notifications."""

    db: Database
    redis: redis.Redis
    keys: Keys
    queue: JobQueue
    settings: SyncSettings
