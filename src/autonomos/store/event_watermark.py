"""The visibility watermark of canonical events: below it, no event can still appear.

``seq`` is drawn when a row is inserted, not when it commits, so a reader can see seq 11
while seq 10 is still in flight; a cursor that moved past 11 would skip 10 for good.
A transaction that draws a seq holds a RowExclusiveLock on ``canonical_events`` until it
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

_LAST_VALUE = text("SELECT pg_sequence_last_value(pg_get_serial_sequence('canonical_events', 'seq')::regclass)")
_WRITERS = text(
    "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation' AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND relation = 'canonical_events'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"
)
MAX_SAMPLES = 256

_lock = threading.Lock()
_samples: deque[tuple[int, frozenset[str]]] = deque(maxlen=MAX_SAMPLES)
_settled = 0


def _last_value(session: Session) -> int:
    return int(session.execute(_LAST_VALUE).scalar() or 0)


def watermark(session: Session) -> int:
    """The highest seq below which every event is visible to statements run after this call."""
    global _settled
    last = _last_value(session)
    writers = frozenset(session.execute(_WRITERS).scalars())
    with _lock:
        if not writers:
            _settled = max(_settled, last)
            _samples.clear()
            return _settled
        _samples.append((last, writers))
        while _samples and not (_samples[0][1] & writers):
            _settled = max(_settled, _samples.popleft()[0])
        return _settled
