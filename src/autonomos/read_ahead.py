"""Producing the next items on a thread while the caller works on the current one.

Both bulk paths use it: the sync engine reads and prepares the next landing batch while
writers land earlier ones, and apply reads and transforms the next batch while the previous
one is written. The producer runs at most ``depth`` items ahead (bounded memory); its
exception re-raises in the consumer at the point it happened; leaving the ``with`` block
early stops the producer at its next item and waits for its thread to end.
"""

from __future__ import annotations

import queue
import contextvars
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


@contextmanager
def read_ahead(items: Iterable[T], *, depth: int = 1, name: str = "read-ahead",
               stop: threading.Event | None = None) -> Iterator[Iterator[T]]:
    """``items`` produced on a thread named ``name``, consumed from the iterator this yields.

    ``stop`` is set when the block is left; a producer that may take long between items
    (a slow source) checks it to end sooner than at its next item.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = stop or threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer
            put(exc)

    def consume() -> Iterator[T]:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    worker = threading.Thread(target=contextvars.copy_context().run, args=(produce,), name=name,
                              daemon=True)  # the caller's log context follows
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()
