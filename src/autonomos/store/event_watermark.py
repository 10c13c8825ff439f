"""Visibility watermarks of append-only tables with a ``seq`` (canonical events, notifications).

``seq`` is drawn when a row is inserted, not when it commits, so a reader can see seq 11
while seq 10 is still in flight; a cursor that moved past 11 would skip 10 for good.
A transaction that draws a seq holds a RowExclusiveLock on the table until it
ends. So: read the sequence's last value L, then the set X of other transactions holding
that lock. Every seq <= L was drawn by a transaction in X or by one that has already ended.
Once none of X holds the lock any more, every row up to L is committed (or never will be):
L is then a watermark. Samples (L, X) wait in this process until they settle; when X is
empty at once, L is a watermark immediately. Readers serve only rows with seq <= watermark.
"""

from __future__ import annotations

import threading
from collections import deque

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_SAMPLES = 256


class Watermark:
    """The watermark of one table whose identity column ``seq`` orders its rows."""

    def __init__(self, table: str) -> None:
        self.table = table
        self._last_value = text(f"SELECT pg_sequence_last_value(pg_get_serial_sequence('{table}', 'seq')::regclass)")
        self._writers = text(
            "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            f"AND relation = '{table}'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"
        )
        self._lock = threading.Lock()
        self._samples: deque[tuple[int, frozenset[str]]] = deque(maxlen=MAX_SAMPLES)
        self._settled = 0

    def __call__(self, session: Session) -> int:
        """The highest seq below which every row is visible to statements run after this call."""
        last = int(session.execute(self._last_value).scalar() or 0)
        writers = frozenset(session.execute(self._writers).scalars())
        with self._lock:
            if not writers:
                self._settled = max(self._settled, last)
                self._samples.clear()
                return self._settled
            self._samples.append((last, writers))
            while self._samples and not (self._samples[0][1] & writers):
                self._settled = max(self._settled, self._samples.popleft()[0])
            return self._settled


watermark = Watermark("canonical_events")
"""The canonical events' watermark (``services.records.read_events``)."""
notification_watermark = Watermark("notifications")
"""The notification log's watermark (``notifications.log.read``, SSE resumption)."""
