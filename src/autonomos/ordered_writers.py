"""Writing batches on several connections at once, committing them strictly in read order.

One PostgreSQL backend uses one core, and a landing or apply batch is mostly server work
(COPY, versioning, index inserts). ``OrderedWriters`` lets up to ``size`` batches do that work
at the same time, each in its own transaction, but lets a batch commit only after every earlier
batch has committed. So a stream's cursor, which commits with its batch, never runs ahead of
the records before it, a record's events commit in order, and a crash leaves a committed
prefix of batches, as with one writer. Both bulk paths use it: the sync engine's landing and
DCL apply.

Two batches in flight never share a record key: a batch whose keys overlap an in-flight one
waits until that one has committed. Without that rule a later batch could hold the row lock
of a key an earlier batch needs, while waiting for the earlier batch to commit first.

The work function receives ``wait_turn``: it does its writing, calls ``wait_turn()``, then
does what must happen in order (fence, cursor, counts) and commits. If any batch fails,
every batch not yet committed stops at ``wait_turn`` (and rolls back), and ``drain`` raises
the first failure.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Set
from concurrent.futures import ThreadPoolExecutor

from autonomos.errors import AutonomosError

WaitTurn = Callable[[], None]


class Aborted(AutonomosError):
    """Raised in a writer whose turn will never come because an earlier batch failed."""


class OrderedWriters:
    """Up to ``size`` batches written concurrently, committed in submission order."""

    def __init__(self, size: int, name: str = "land") -> None:
        self.size = max(1, size)
        self._pool = ThreadPoolExecutor(self.size, thread_name_prefix=name)
        self._cond = threading.Condition()
        self._submitted = 0
        self._committed = 0
        self._in_flight: dict[int, Set[str]] = {}
        self._failure: BaseException | None = None

    def submit(self, keys: Set[str], work: Callable[[WaitTurn], None]) -> None:
        """Start ``work`` once a writer is free and no in-flight batch shares a key with ``keys``."""
        with self._cond:
            while self._failure is None and (
                len(self._in_flight) >= self.size
                or any(not keys.isdisjoint(other) for other in self._in_flight.values())
            ):
                self._cond.wait()
            self._raise_failure()
            index = self._submitted
            self._submitted += 1
            self._in_flight[index] = keys
        self._pool.submit(contextvars.copy_context().run, self._run, index, work)  # log ids follow

    def drain(self) -> None:
        """Wait until every submitted batch has committed; raise the first failure if one failed."""
        with self._cond:
            while self._in_flight:
                self._cond.wait()
            self._raise_failure()

    def abort(self, reason: BaseException) -> None:
        """Stop batches that have not committed (they roll back) and wait for the writers to end."""
        with self._cond:
            if self._failure is None:
                self._failure = reason
            self._cond.notify_all()
            while self._in_flight:
                self._cond.wait()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _run(self, index: int, work: Callable[[WaitTurn], None]) -> None:
        try:
            work(lambda: self._wait_turn(index))
        except BaseException as exc:  # noqa: BLE001 - handed to drain(), which raises it in the caller
            with self._cond:
                if self._failure is None:
                    self._failure = exc
                del self._in_flight[index]
                self._cond.notify_all()
            return
        with self._cond:
            self._committed = index + 1
            del self._in_flight[index]
            self._cond.notify_all()

    def _wait_turn(self, index: int) -> None:
        with self._cond:
            while self._failure is None and self._committed != index:
                self._cond.wait()
            if self._failure is not None:
                raise Aborted("an earlier batch failed") from self._failure

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
