"""Failure drills: a worker killed with SIGKILL, and Redis flushed with FLUSHALL, each after at
least one batch has committed and before the end. On recovery the run resumes from its last
checkpoint (the recovering attempt reads fewer rows than the total), completes, and Postgres
holds every source record exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from sqlalchemy import func, select

from autonomos.services.worker import run_worker
from autonomos.services import sync
from autonomos.runtime import Runtime
from autonomos.store.tables import RawRecord
from tests.aam.sync.conftest import write_accounts
from tests.conftest import make_settings, subprocess_env, wait_for

ROWS = 40_000
HEARTBEAT_TIMEOUT_S = 3


def _env(settings) -> dict[str, str]:
    return subprocess_env(settings, AOS_SYNC_BATCH_SIZE="500", AOS_SYNC_HEARTBEAT_TIMEOUT_S=str(HEARTBEAT_TIMEOUT_S),
                          AOS_RETRY_BACKOFF_S="0.1")


def _start_worker(settings) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autonomos.cli", "worker"], env=_env(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _landed(rt, tenant) -> tuple[int, int]:
    with rt.db.tenant(tenant) as session:
        return session.execute(select(func.count(), func.count(RawRecord.record_key.distinct()))).one()


def _recover_and_finish(settings, tenant, run_id):
    """What operations would do: after the heartbeat times out, a fresh worker reconciles and works."""
    recovery = Runtime(settings)
    try:
        time.sleep(HEARTBEAT_TIMEOUT_S + 0.5)
        run_worker(recovery, burst=True)
        return sync.get_run(recovery, tenant, run_id)
    finally:
        recovery.close()


def _drill(rt, file_connection, settings, disaster) -> None:
    tenant, info, path = file_connection
    write_accounts(path, ROWS)
    started = sync.start_sync(rt, tenant, info.name, actor="test")
    worker = _start_worker(settings)
    try:
        first_batches = wait_for(lambda: sync.get_run(rt, tenant, started.run.id).counts.get("read", 0) >= 1000)
        assert first_batches
        disaster(worker)
        before = sync.get_run(rt, tenant, started.run.id)
        assert before.status == "running" and 0 < before.counts["read"] < ROWS, before
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()

    run = _recover_and_finish(settings, tenant, started.run.id)

    assert run.status == "succeeded", run.error
    assert run.attempts == 2
    resumed_read = run.counts["attempts"]["2"]["read"]
    assert 0 < resumed_read < ROWS, run.counts["attempts"]
    assert _landed(rt, tenant) == (ROWS, ROWS)  # every record exactly once


def _settings(settings):
    return make_settings(settings.database_url, settings.redis_url, settings.data_dir, settings.redis_namespace,
                         AOS_SYNC_BATCH_SIZE="500", AOS_SYNC_HEARTBEAT_TIMEOUT_S=str(HEARTBEAT_TIMEOUT_S),
                         AOS_RETRY_BACKOFF_S="0.1")


def test_worker_killed_with_sigkill_resumes_from_checkpoint(rt, settings, file_connection):
    _drill(rt, file_connection, _settings(settings), lambda worker: os.kill(worker.pid, signal.SIGKILL))


def test_redis_flushall_mid_sync_loses_nothing(rt, settings, file_connection):
    def flush_and_lose_the_worker(worker: subprocess.Popen) -> None:
        rt.redis.flushall()  # queue, job records, worker registry: all gone
        # The worker that was running cannot report to Redis any more; take it down too, so the
        # run must be recovered from Postgres alone.
        os.kill(worker.pid, signal.SIGKILL)

    _drill(rt, file_connection, _settings(settings), flush_and_lose_the_worker)


def test_flushall_while_a_worker_keeps_running(rt, settings, file_connection):
    tenant, info, path = file_connection
    write_accounts(path, ROWS)
    started = sync.start_sync(rt, tenant, info.name, actor="test")
    worker = _start_worker(_settings(settings))
    try:
        wait_for(lambda: sync.get_run(rt, tenant, started.run.id).counts.get("read", 0) >= 1000)
        rt.redis.flushall()
        run = wait_for(lambda: (r := sync.get_run(rt, tenant, started.run.id)).status in ("succeeded", "failed")
                        and r, timeout=180, every=0.2)
    finally:
        worker.kill()
        worker.wait()
    assert run.status == "succeeded", run.error
    assert _landed(rt, tenant) == (ROWS, ROWS)
    assert uuid.UUID(str(run.id))
