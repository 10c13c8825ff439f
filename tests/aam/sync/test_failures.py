"""Failure semantics of sync runs: a transient error retries with backoff and then succeeds, a
terminal one fails at once with a structured error, and a run whose worker dies on every
attempt ends ``abandoned`` after ``max_attempts`` and stops looping."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time

import orjson
from sqlalchemy import text

from autonomos.aam.sync import runs
from autonomos.services.worker import run_worker
from autonomos.notifications import subscribe
from autonomos.services import sync, tenants
from autonomos.services.sync_inputs import reconcile_syncs
from autonomos.runtime import Runtime
from tests.aam.connectors.rest.conftest import vendor  # noqa: F401  (the fixture)
from tests.conftest import make_settings, subprocess_env, wait_for

ROWS = [{"id": f"o{i}", "updated_at": f"2024-05-0{i + 1}"} for i in range(4)]


def _config(vendor) -> dict:
    return {"base_url": vendor.base, "auth": {"type": "bearer"}, "retry": {"attempts": 1},
            "streams": {"orders": {"path": "/orders", "records_path": "items", "primary_key": ["id"],
                                   "pagination": {"style": "page", "page_size": 10}}}}


def _ok(request):
    page = int(request.query.get("page", 1))
    return 200, {}, {"items": ROWS if page == 1 else []}


def _connection(rt, make_tenant, vendor, **settings):
    tenant = make_tenant("fail")
    if settings:
        tenants.update_settings(rt, str(tenant.id), settings, actor="test")
    from autonomos.services import connections

    info = connections.create_connection(rt, tenant.id, provider="rest", name="orders-api", config=_config(vendor),
                                         credentials={"token": "t"}, actor="test")
    return tenant.id, info


def _runtime(settings, **extra) -> Runtime:
    return Runtime(make_settings(settings.database_url, settings.redis_url, settings.data_dir,
                                 settings.redis_namespace, **extra))


def _make_due(rt, tenant, run_id) -> None:
    with rt.db.tenant(tenant) as session:
        session.execute(text("UPDATE sync_runs SET next_attempt_at = now() WHERE id = :r"), {"r": run_id})


def test_a_transient_connector_error_retries_with_backoff_then_succeeds(rt, settings, make_tenant, vendor):
    failures_left = [2]

    def flaky(request):
        if failures_left[0] > 0:
            failures_left[0] -= 1
            return 503, {}, {"error": "try later"}
        return _ok(request)

    vendor.app = flaky
    slow = _runtime(settings, AOS_RETRY_BACKOFF_S="30")
    try:
        tenant, info = _connection(slow, make_tenant, vendor)
        run_id = sync.start_sync(slow, tenant, info.name, actor="test").run.id
        run_worker(slow, burst=True)

        first = sync.get_run(slow, tenant, run_id)
        assert (first.status, first.attempts, first.failures) == ("pending", 1, 1)
        assert first.error["kind"] == "ConnectorFailed" and first.error["transient"] is True
        assert "RetryableHttpError" in [c["kind"] for c in first.error["causes"]]
        failed_at = dt.datetime.fromisoformat(first.history[0]["at"])
        first_wait = (first.next_attempt_at - failed_at).total_seconds()
        assert first_wait >= 30
        with slow.db.tenant(tenant) as session:  # not claimable before it is due
            assert runs.claim(session, tenant, run_id, "eager-worker") is None
        run_worker(slow, burst=True)  # reconciles, finds nothing due
        assert sync.get_run(slow, tenant, run_id).attempts == 1

        _make_due(slow, tenant, run_id)
        run_worker(slow, burst=True)
        second = sync.get_run(slow, tenant, run_id)
        assert (second.status, second.attempts, second.failures) == ("pending", 2, 2)
        second_wait = (second.next_attempt_at - dt.datetime.fromisoformat(second.history[1]["at"])).total_seconds()
        assert second_wait >= 60  # exponential: twice the first wait at least

        _make_due(slow, tenant, run_id)
        run_worker(slow, burst=True)
    finally:
        slow.close()
    done = sync.get_run(rt, tenant, run_id)
    assert done.status == "succeeded", done.error
    assert done.attempts == 3 and done.error is None and len(done.history) == 2
    assert done.counts["inserted"] == len(ROWS)


def test_a_terminal_error_fails_at_once_with_a_structured_error(rt, make_tenant, vendor):
    vendor.app = lambda request: (403, {}, {"error": "forbidden"})
    tenant, info = _connection(rt, make_tenant, vendor)
    run_id = sync.start_sync(rt, tenant, info.name, actor="test").run.id
    run_worker(rt, burst=True)
    run = sync.get_run(rt, tenant, run_id)
    assert (run.status, run.attempts, run.next_attempt_at) == ("failed", 1, None)
    assert run.error["kind"] == "ConnectorFailed" and run.error["transient"] is False
    assert "HttpStatusError" in [c["kind"] for c in run.error["causes"]] and "403" in run.error["message"]
    assert [h["error"]["kind"] for h in run.history] == ["ConnectorFailed"]
    assert reconcile_syncs(rt).enqueued == 0 or sync.get_run(rt, tenant, run_id).status == "failed"
    run_worker(rt, burst=True)
    assert sync.get_run(rt, tenant, run_id).attempts == 1  # nothing retried it


HEARTBEAT_TIMEOUT_S = 3
MAX_ATTEMPTS = 3


def test_a_run_that_kills_its_worker_every_time_ends_abandoned(rt, settings, make_tenant, vendor):
    """The source hangs on every read (as a poison record or an out-of-memory source would take
    the worker down), and each worker is SIGKILLed there, before any batch commits."""
    reached = threading.Semaphore(0)
    release = threading.Event()

    def hang(request):
        reached.release()
        release.wait(60)
        return 503, {}, {}

    vendor.app = hang
    tenant, info = _connection(rt, make_tenant, vendor, max_attempts=MAX_ATTEMPTS)
    events = subscribe(rt, tenant)
    env = subprocess_env(settings, AOS_SYNC_HEARTBEAT_TIMEOUT_S=str(HEARTBEAT_TIMEOUT_S), AOS_WORKER_UPKEEP_S="0.5",
                         AOS_RETRY_BACKOFF_S="0.1")
    run_id = sync.start_sync(rt, tenant, info.name, actor="test").run.id
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            worker = subprocess.Popen([sys.executable, "-m", "autonomos.cli", "worker"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                assert reached.acquire(timeout=120), f"attempt {attempt} never reached the source"
                running = sync.get_run(rt, tenant, run_id)
                assert (running.status, running.attempts) == ("running", attempt)
                os.kill(worker.pid, signal.SIGKILL)
            finally:
                worker.wait()
        # A last worker reconciles: the third lost attempt abandons the run.
        watcher = subprocess.Popen([sys.executable, "-m", "autonomos.cli", "worker"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            run = wait_for(lambda: (r := sync.get_run(rt, tenant, run_id)).status == "abandoned" and r)
            # Several more upkeep rounds: nothing picks it up again.
            for _ in range(4):
                reconcile_syncs(rt)
                time.sleep(0.5)
            assert not reached.acquire(timeout=1)
        finally:
            os.kill(watcher.pid, signal.SIGKILL)
            watcher.wait()
    finally:
        release.set()
    run = sync.get_run(rt, tenant, run_id)
    assert (run.status, run.attempts, run.failures) == ("abandoned", MAX_ATTEMPTS, MAX_ATTEMPTS)
    assert [h["error"]["kind"] for h in run.history] == ["WorkerLost"] * MAX_ATTEMPTS
    assert run.finished_at is not None and run.next_attempt_at is None
    types = []
    deadline = time.monotonic() + 10
    while "sync.abandoned" not in types and time.monotonic() < deadline:
        message = events.get_message(timeout=1)
        if message:
            types.append(orjson.loads(message["data"])["type"])
    events.close()
    assert "sync.abandoned" in types

    from typer.testing import CliRunner

    from autonomos.cli.app import app

    result = CliRunner().invoke(app, ["sync", "status", "--tenant", str(tenant)],
                                env={**subprocess_env(settings), "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "abandoned" in result.output and "WorkerLost" in result.output
