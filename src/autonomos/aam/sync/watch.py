"""Whether a running sync should stop: a person's cancel or pause, another worker's takeover,
or the attempt's time budget spent.

The sync engine hands a ``RunWatch`` to connectors (through ``ConnectorContext.control``) and
polls it between messages itself, so a stop takes effect between bounded chunks of reading,
even inside one file, rather than only when a batch lands.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sqlalchemy import select

from autonomos.store.tables import SyncRun

POLL_S = 1.0
"""The run's row is read at most this often (the first call always reads it)."""


class RunWatch:
    """Callable: None while the run may go on, else why it must stop
    (``cancel``, ``pause``, ``lost`` or ``timeout``)."""

    def __init__(self, session_factory: Callable, tenant_id: uuid.UUID, run_id: uuid.UUID, worker_id: str, *,
                 budget_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._session = session_factory
        self._tenant, self._run, self._worker = tenant_id, run_id, worker_id
        self.budget_s = budget_s
        self._clock = clock
        self._started = clock()
        self._polled: float | None = None
        self._control: str | None = None

    def __call__(self) -> str | None:
        now = self._clock()
        if self.budget_s > 0 and now - self._started > self.budget_s:
            return "timeout"
        if self._control is None and (self._polled is None or now - self._polled >= POLL_S):
            self._polled = now
            self._control = self._read()
        return self._control

    def _read(self) -> str | None:
        with self._session(self._tenant) as session:
            row = session.execute(select(SyncRun.status, SyncRun.worker_id, SyncRun.control).where(
                SyncRun.tenant_id == self._tenant, SyncRun.id == self._run)).first()
        if row is None or row.status != "running" or row.worker_id != self._worker:
            return "lost"
        return row.control if row.control in ("cancel", "pause") else None
