"""Concurrent landing: batches commit in read order, never share keys in flight, fail as a prefix."""

from __future__ import annotations

import csv
import random
import threading
import time

import pytest
from sqlalchemy import select

from autonomos.services.worker import run_worker
from autonomos.ordered_writers import Aborted, OrderedWriters
from autonomos.services import connections, sync
from autonomos.runtime import Runtime
from autonomos.store.tables import RawRecord, RawRecordHead
from tests.conftest import make_settings, tenant_files


def _work(log: list, name: str, delay: float, fail: bool = False):
    def work(wait_turn):
        time.sleep(delay)  # the writing part, of varying length
        if fail:
            raise RuntimeError(f"{name} failed")
        wait_turn()
        log.append(name)

    return work


def test_batches_commit_in_submission_order_whatever_their_duration():
    writers = OrderedWriters(3)
    log: list[str] = []
    rng = random.Random(3)
    for i in range(12):
        writers.submit(frozenset({f"k{i}"}), _work(log, f"b{i}", rng.uniform(0, 0.03)))
    writers.drain()
    writers.close()
    assert log == [f"b{i}" for i in range(12)]


def test_a_batch_sharing_a_key_with_one_in_flight_starts_only_after_it_committed():
    writers = OrderedWriters(4)
    events: list[str] = []
    lock = threading.Lock()

    def work(name, delay):
        def run(wait_turn):
            with lock:
                events.append(f"start {name}")
            time.sleep(delay)
            wait_turn()
            with lock:
                events.append(f"commit {name}")
        return run

    writers.submit(frozenset({"a", "b"}), work("first", 0.1))
    writers.submit(frozenset({"c"}), work("other", 0.0))
    writers.submit(frozenset({"b", "z"}), work("overlap", 0.0))
    writers.drain()
    writers.close()
    assert events.index("start overlap") > events.index("commit first")
    assert events.index("start other") < events.index("commit first")


def test_after_a_failure_later_batches_roll_back_and_drain_raises_it():
    writers = OrderedWriters(2)
    log: list[str] = []
    writers.submit(frozenset({"a"}), _work(log, "b0", 0.0))
    writers.drain()
    writers.submit(frozenset({"b"}), _work(log, "b1", 0.05, fail=True))
    with pytest.raises((RuntimeError, Aborted)):
        writers.submit(frozenset({"c"}), _work(log, "b2", 0.0))
        writers.submit(frozenset({"d"}), _work(log, "b3", 0.0))
        writers.drain()
    writers.close()
    assert log == ["b0"]


def test_many_small_batches_on_three_writers_keep_versions_in_read_order(database_url, redis_url, namespace, tmp_path,
                                                                           make_tenant):
    """A key updated in many batches: its versions follow the file's order and the head is the last row."""
    settings = make_settings(database_url, redis_url, tmp_path / "data", namespace,
                             AOS_SYNC_BATCH_SIZE="7", AOS_SYNC_WRITERS="3")
    rt = Runtime(settings)
    try:
        tenant = make_tenant("writers")
        path = tenant_files(rt, tenant) / "updates.csv"
        rows = [(f"k{i % 5}", f"v{i}") for i in range(200)]  # five keys, each changed 40 times
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([("id", "value"), *rows])
        connections.create_connection(rt, tenant.id, provider="files", name="updates",
                                      config={"path": str(path), "primary_key": ["id"], "checkpoint_every": 7},
                                      actor="test")
        run = sync.start_sync(rt, tenant.id, "updates", actor="test").run
        run_worker(rt, burst=True)
        final = sync.get_run(rt, tenant.id, run.id)
        assert final.status == "succeeded", final.error
        with rt.db.tenant(tenant.id) as session:
            versions = session.execute(select(RawRecord.record_key, RawRecord.version, RawRecord.payload)
                                       .order_by(RawRecord.record_key, RawRecord.version)).all()
            heads = dict(session.execute(select(RawRecordHead.record_key, RawRecordHead.version)).all())
            by_id = session.scalars(select(RawRecord.payload).order_by(RawRecord.id)).all()
        # One version per key per batch (the batch's last row of that key), batches in file order.
        chunks = [rows[i:i + 7] for i in range(0, len(rows), 7)]
        for key in (f"k{j}" for j in range(5)):
            expected = [[v for k, v in chunk if k == key][-1] for chunk in chunks if any(k == key for k, _ in chunk)]
            assert [p["value"] for k, _, p in versions if k == key] == expected
            assert heads[key] == len(expected) > 20
        # Raw ids grow with commit order (an incremental reader by id never skips a later commit).
        batch_of = [int(p["value"][1:]) // 7 for p in by_id]
        assert batch_of == sorted(batch_of)
    finally:
        rt.close()
