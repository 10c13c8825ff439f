"""Apply runs are runs: a backfill whose process is SIGKILLed is left ``running`` only until its
heartbeat times out, and publishing the unchanged version again continues it from its last
committed batch (every record read exactly once over both attempts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from autonomos.dcl.apply import start_apply
from autonomos.services import mappings
from autonomos.runtime import Runtime
from autonomos.store.tables import ApplyRun, CanonicalRecord
from tests.conftest import make_settings, subprocess_env

N = 20_000
FIELDS = [{"source_field": "id", "canonical_field": "id"}, {"source_field": "Name", "canonical_field": "first_name"}]
HEARTBEAT_TIMEOUT_S = 2

_APPLY = """
import sys, uuid
from autonomos.config import load_settings
from autonomos.dcl.apply import execute_apply
from autonomos.runtime import Runtime
rt = Runtime(load_settings())
execute_apply(rt.db, uuid.UUID(sys.argv[1]), uuid.UUID(sys.argv[2]), batch_size=200)
"""


def _run(rt, tenant_id, run_id) -> ApplyRun:
    with rt.db.tenant(tenant_id) as session:
        row = session.get(ApplyRun, run_id)
        session.expunge(row)
        return row


def test_a_killed_backfill_resumes_from_its_last_committed_batch_when_published_again(rt, settings, source):
    for start in range(0, N, 5000):
        source.land(*({"id": f"c{i:06d}", "Name": f"Person {i}"} for i in range(start, start + 5000)))
    published = mappings.publish_fields(rt, source.tenant_id, source.connection, source.stream.name, "contact",
                                        FIELDS, actor="test", apply=False)
    run_id = start_apply(rt.db, source.tenant_id, published.version.id, trigger="publish")
    process = subprocess.Popen([sys.executable, "-c", _APPLY, str(source.tenant_id), str(run_id)],
                               env=subprocess_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while _run(rt, source.tenant_id, run_id).counts.get("read", 0) < 1000 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    killed = _run(rt, source.tenant_id, run_id)
    assert killed.status == "running" and 0 < killed.counts["read"] < N, (killed.status, killed.counts)

    quick = Runtime(make_settings(settings.database_url, settings.redis_url, settings.data_dir,
                                  settings.redis_namespace, AOS_SYNC_HEARTBEAT_TIMEOUT_S=str(HEARTBEAT_TIMEOUT_S)))
    try:
        time.sleep(HEARTBEAT_TIMEOUT_S + 0.5)  # the dead process's heartbeat times out
        again = mappings.publish_fields(quick, source.tenant_id, source.connection, source.stream.name, "contact",
                                        FIELDS, actor="test")
    finally:
        quick.close()
    assert not again.created and again.applied is not None
    assert again.applied.run_id == run_id and again.applied.status == "succeeded"
    done = _run(rt, source.tenant_id, run_id)
    assert (done.status, done.attempts, done.failures) == ("succeeded", 2, 0)
    assert [h["error"]["kind"] for h in done.history] == ["WorkerLost"]
    assert done.counts["read"] == N  # the second attempt read only what the first had not committed
    with rt.db.tenant(source.tenant_id) as session:
        assert session.scalar(select(func.count()).select_from(CanonicalRecord)) == N

    third = source.publish("contact", FIELDS)
    assert not third.created and third.applied is None  # nothing left to resume


def test_an_apply_run_whose_worker_is_lost_every_time_ends_abandoned(rt, settings, source):
    from sqlalchemy import update

    from autonomos.dcl.apply import runs
    from autonomos.services import tenants
    from autonomos.services.apply import reconcile_applies

    tenants.update_settings(rt, str(source.tenant_id), {"max_attempts": 2}, actor="test")
    source.land({"id": "c1", "Name": "Ada"})
    published = mappings.publish_fields(rt, source.tenant_id, source.connection, source.stream.name, "contact",
                                        FIELDS, actor="test", apply=False)
    run_id = start_apply(rt.db, source.tenant_id, published.version.id, trigger="publish")
    quick = Runtime(make_settings(settings.database_url, settings.redis_url, settings.data_dir,
                                  settings.redis_namespace, AOS_SYNC_HEARTBEAT_TIMEOUT_S="1",
                                  AOS_RETRY_BACKOFF_S="0.01"))
    try:
        for attempt in (1, 2):
            time.sleep(0.1)  # past the (tiny) backoff
            with rt.db.tenant(source.tenant_id) as session:
                assert runs.claim(session, source.tenant_id, run_id, f"doomed-{attempt}") is not None
                session.execute(update(ApplyRun).where(ApplyRun.id == run_id)
                                .values(heartbeat_at=func.now() - func.make_interval(0, 0, 0, 0, 1)))
            reconcile_applies(quick)  # the worker is gone: a lost attempt
    finally:
        quick.close()
    run = _run(rt, source.tenant_id, run_id)
    assert (run.status, run.attempts, run.failures) == ("abandoned", 2, 2)
    assert [h["error"]["kind"] for h in run.history] == ["WorkerLost", "WorkerLost"]
    with rt.db.tenant(source.tenant_id) as session:
        assert runs.claim(session, source.tenant_id, run_id, "another") is None  # it stays abandoned
