"""Fault drills over sync and apply runs, recovered with no person acting.

* the apply that follows a sync is SIGKILLed with its worker: another worker applies the records;
* PostgreSQL is stopped and started again mid-sync and mid-apply (an embedded server this
  module owns, never a shared or system one): both runs finish by themselves, and no
  attempt is spent on the outage; the drill prints how long recovery took; killing the
  worker's connections (server up) is an outage too, not a failure;
* Redis goes away mid-sync (an embedded Redis this module owns): the run is sent back to
  ``pending`` as transient, and resumes from its checkpoint once Redis is back.

Each record lands exactly once, and every landed record is applied.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from autonomos.aam.sync.engine import execute_run
from autonomos.aam.sync.hooks import SyncStage
from autonomos.services.sync_inputs import sync_engines
from autonomos.services.upkeep import upkeep
from autonomos.services.worker import ApplyAfterSync, run_worker, sync_stage
from autonomos.dcl.apply import start_apply
from autonomos.engines.postgres import EmbeddedPostgres, to_sqlalchemy_url
from autonomos.engines.redis import EmbeddedRedis
from autonomos.services import connections, mappings, sync, tenants
from autonomos.runtime import Runtime
from autonomos.store.tables import ApplyRun, CanonicalRecord, RawRecord
from tests.aam.connectors.rest.conftest import vendor  # noqa: F401  (the fixture)
from tests.aam.sync.conftest import write_accounts
from tests.conftest import tenant_files, discard_database, fresh_database, make_settings, subprocess_env, wait_for

ROWS = 40_000
FIELDS = [{"source_field": "Id", "canonical_field": "id"}, {"source_field": "Name", "canonical_field": "first_name"}]
HEARTBEAT_TIMEOUT_S = 3
FAST = {"AOS_SYNC_BATCH_SIZE": "500", "AOS_SYNC_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S),
        "AOS_WORKER_UPKEEP_S": "0.5", "AOS_RETRY_BACKOFF_S": "0.2"}


def _wait_for(predicate, timeout: float = 300, every: float = 0.05):
    return wait_for(predicate, timeout, every, tolerate_errors=True)


def _worker(settings, **extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autonomos.cli", "worker"],
                            env=subprocess_env(settings, **FAST, **extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _setup(rt, tmp_path: Path, slug: str):
    """A tenant with a files connection over ROWS accounts and a published mapping of them."""
    tenant = tenants.create_tenant(rt, f"{slug}-{uuid.uuid4().hex[:8]}", actor="test")
    path = tenant_files(rt, tenant) / "accounts.csv"
    write_accounts(path, ROWS)
    info = connections.create_connection(
        rt, tenant.id, provider="files", name="crm-files",
        config={"path": str(path), "format": "csv", "stream": "accounts", "primary_key": ["Id"],
                "checkpoint_every": 500}, actor="test")
    version = mappings.publish_fields(rt, tenant.id, info.name, "accounts", "contact", FIELDS, actor="test").version
    return tenant.id, info, version


def _counts(rt, tenant) -> tuple[int, int, int]:
    """(raw record versions, distinct keys, canonical records)."""
    with rt.db.tenant(tenant) as session:
        raw, keys = session.execute(select(func.count(), func.count(RawRecord.record_key.distinct()))).one()
        records = session.scalar(select(func.count()).select_from(CanonicalRecord))
    return raw, keys, records


def _apply_runs(rt, tenant, trigger: str) -> list[ApplyRun]:
    with rt.db.tenant(tenant) as session:
        rows = list(session.scalars(select(ApplyRun).where(ApplyRun.trigger == trigger)
                                    .order_by(ApplyRun.started_at)))
        session.expunge_all()
        return rows


def _own(database_url: str, redis_url: str, tmp_path: Path, **extra: str):
    """Settings over a database and Redis namespace of the drill's own: its workers' upkeep rounds
    drain every tenant's embedding outbox, which in the session's database is the whole backlog."""
    return make_settings(database_url, redis_url, tmp_path / "data", f"aosdrill{uuid.uuid4().hex[:8]}", **extra)


@pytest.fixture
def drill_rt(isolated_database_url, redis_url, tmp_path):
    runtime = Runtime(_own(isolated_database_url, redis_url, tmp_path, **FAST))
    yield runtime
    runtime.close()


def test_a_killed_post_sync_apply_is_finished_by_another_worker(drill_rt, tmp_path):
    rt, drill = drill_rt, drill_rt.settings
    tenant, info, _ = _setup(rt, tmp_path, "applykill")
    first = _worker(drill)
    try:
        run_id = sync.start_sync(rt, tenant, info.name, actor="test").run.id
        [applying] = _wait_for(lambda: [r for r in _apply_runs(rt, tenant, "sync") if r.status == "running"])
        os.kill(first.pid, signal.SIGKILL)
    finally:
        _stop(first)
    assert sync.get_run(rt, tenant, run_id).status == "succeeded"
    assert _apply_runs(rt, tenant, "sync")[0].status == "running"  # left behind by the dead worker

    second = _worker(drill)
    try:
        done = _wait_for(lambda: (r := _apply_runs(rt, tenant, "sync")[0]).status not in ("pending", "running") and r)
    finally:
        _stop(second)
    assert done.id == applying.id and done.status == "succeeded", done.error
    assert done.attempts == 2 and [h["error"]["kind"] for h in done.history] == ["WorkerLost"]
    assert _counts(rt, tenant) == (ROWS, ROWS, ROWS)


def test_a_worker_lost_between_a_syncs_success_and_its_apply_leaves_the_apply_to_others(isolated_database_url,
                                                                                        redis_url, tmp_path):
    """The sync's apply runs commit with its success: a worker that dies right after that commit
    (before its drift check and apply) leaves them pending, and once its hold lapses any worker
    applies them. Before, the sync stayed ``succeeded`` with nothing applied."""
    rt = Runtime(_own(isolated_database_url, redis_url, tmp_path, AOS_SYNC_HEARTBEAT_TIMEOUT_S="1",
                      AOS_RETRY_BACKOFF_S="0.2"))

    class DiesAfterTheCommit(ApplyAfterSync):
        def run_finished(self, run) -> None:
            pass  # the process is gone before it could check drift or apply

    try:
        tenant, info, _ = _setup(rt, tmp_path, "gap")
        stage = SyncStage(open_connector=sync_stage(rt).open_connector, post_landing=DiesAfterTheCommit(rt))
        run_id = sync.start_sync(rt, tenant, info.name, actor="test").run.id
        assert execute_run(sync_engines(rt), stage, tenant, run_id, "doomed-worker") == "succeeded"
        [left] = _apply_runs(rt, tenant, "sync")
        assert left.status == "pending" and left.next_attempt_at is not None and left.attempts == 0
        assert _counts(rt, tenant)[2] == 0

        def applied():
            upkeep(rt)  # what every worker's upkeep round does: enqueue due pending apply runs
            run_worker(rt, burst=True)
            run = _apply_runs(rt, tenant, "sync")[0]
            return run.status == "succeeded" and run

        done = _wait_for(applied, timeout=120)
        assert done.id == left.id
        assert _counts(rt, tenant) == (ROWS, ROWS, ROWS)
    finally:
        rt.close()


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory):
    """An embedded PostgreSQL server of this module's own, which the drills stop and start."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("own-pg"))
    admin = to_sqlalchemy_url(server.start()).set(database="postgres")
    url = fresh_database(admin, "aos_drill")
    from autonomos.store import migrate

    migrate.upgrade(url)
    yield server, url
    if server.running_url() is None:
        server.resume()
    discard_database(admin, url)
    server.stop()


def _outage(server: EmbeddedPostgres, down_s: float = 3.0) -> float:
    """Stop the server (fast shutdown: sessions are cut), wait, start it; returns when it is back."""
    server.stop()
    time.sleep(down_s)
    server.resume()
    return time.monotonic()


def test_postgres_stopped_and_started_mid_sync_and_mid_apply(own_postgres, redis_url, tmp_path, capsys):
    server, url = own_postgres
    drill = make_settings(url, redis_url, tmp_path / "data", f"aosdrill{uuid.uuid4().hex[:8]}", **FAST)
    rt = Runtime(drill)
    worker = _worker(drill)
    try:
        tenant, info, version = _setup(rt, tmp_path, "pgdown")

        # Mid-sync.
        run_id = sync.start_sync(rt, tenant, info.name, actor="test").run.id
        _wait_for(lambda: sync.get_run(rt, tenant, run_id).counts.get("read", 0) >= 2000)
        back = _outage(server)
        run = _wait_for(lambda: (r := sync.get_run(rt, tenant, run_id)).status in ("succeeded", "failed",
                                                                                    "abandoned") and r)
        sync_recovery = time.monotonic() - back
        assert run.status == "succeeded", run.error
        assert run.failures == 0 and any(h["error"]["outage"] for h in run.history), run.history
        assert run.attempts == 1 + len(run.history)  # every failed attempt was an outage, none spent

        # Mid-apply: a backfill of everything that landed, run by the worker.
        _wait_for(lambda: (rs := _apply_runs(rt, tenant, "sync")) and all(r.status == "succeeded" for r in rs))
        apply_id = start_apply(rt.db, tenant, version.id, trigger="publish")
        _wait_for(lambda: next(r for r in _apply_runs(rt, tenant, "publish") if r.id == apply_id).status == "running")
        back = _outage(server)
        applied = _wait_for(lambda: (r := next(r for r in _apply_runs(rt, tenant, "publish") if r.id == apply_id))
                            .status in ("succeeded", "failed", "abandoned") and r)
        apply_recovery = time.monotonic() - back
    finally:
        _stop(worker)
    try:
        assert applied.status == "succeeded", applied.error
        assert applied.failures == 0 and all(h["error"]["outage"] for h in applied.history), applied.history
        assert _counts(rt, tenant) == (ROWS, ROWS, ROWS)
    finally:
        rt.close()
    with capsys.disabled():
        print(f"\nPostgreSQL down 3 s: the sync finished {sync_recovery:.1f} s after the server was back "
              f"({len(run.history)} outage attempt(s)); the apply {apply_recovery:.1f} s after "
              f"({len(applied.history)} outage attempt(s))")


def test_a_redis_outage_mid_sync_is_transient_and_the_run_resumes(rt, settings, make_tenant, vendor, tmp_path):
    own_redis = EmbeddedRedis(tmp_path / "own-redis")
    redis_url = own_redis.start()
    drill = Runtime(make_settings(settings.database_url, redis_url, settings.data_dir,
                                  f"aosdrill{uuid.uuid4().hex[:8]}", AOS_SYNC_BATCH_SIZE="2",
                                  AOS_RETRY_BACKOFF_S="0.2"))
    rows = [{"id": f"o{i:02d}"} for i in range(20)]
    stopped = []

    def app(request):
        page = int(request.query.get("page", 1))
        if page == 4 and not stopped:
            stopped.append(own_redis.stop())  # Redis goes away while the sync reads; the next request needs it
        return 200, {}, {"items": rows[(page - 1) * 2:page * 2]}

    vendor.app = app
    try:
        tenant = make_tenant("redisdown")
        info = connections.create_connection(
            drill, tenant.id, provider="rest", name="orders-api", credentials={"token": "t"}, actor="test",
            config={"base_url": vendor.base, "auth": {"type": "bearer"}, "retry": {"attempts": 1},
                    "rate_limit": {"per_second": 1000, "burst": 1000},
                    "streams": {"orders": {"path": "/orders", "records_path": "items", "primary_key": ["id"],
                                           "pagination": {"style": "page", "page_size": 2}}}})
        run_id = sync.start_sync(drill, tenant.id, info.name, actor="test").run.id
        assert execute_run(sync_engines(drill), sync_stage(drill), tenant.id, run_id, "drill-worker") == "pending"
        waiting = sync.get_run(drill, tenant.id, run_id)
        assert waiting.error["outage"] and waiting.error["transient"] and waiting.failures == 0
        assert "ConnectionError" in [c["kind"] for c in waiting.error["causes"]] + [waiting.error["kind"]]
        assert 0 < waiting.counts["read"] < len(rows)

        own_redis.start()
        run = _wait_for(lambda: run_worker(drill, burst=True) or (
            (r := sync.get_run(drill, tenant.id, run_id)).status not in ("pending", "running") and r), timeout=120,
            every=0.2)
    finally:
        drill.close()
        own_redis.stop()
    assert run.status == "succeeded", run.error
    assert run.attempts == 2 and run.failures == 0
    assert 0 < run.counts["attempts"]["2"]["read"] < len(rows)  # resumed from its checkpoint
    with rt.db.tenant(tenant.id) as session:
        assert session.execute(select(func.count(), func.count(RawRecord.record_key.distinct()))).one() == (20, 20)


def test_killing_the_workers_postgres_connections_mid_sync_is_an_outage_not_a_failure(own_postgres, redis_url,
                                                                                      tmp_path, capsys):
    import psycopg

    from autonomos.engines.postgres import libpq_dsn

    server, url = own_postgres
    drill = make_settings(url, redis_url, tmp_path / "data", f"aosdrill{uuid.uuid4().hex[:8]}", **FAST)
    rt = Runtime(drill)
    worker = _worker(drill)
    try:
        tenant, info, _ = _setup(rt, tmp_path, "pgkill")
        run_id = sync.start_sync(rt, tenant, info.name, actor="test").run.id
        _wait_for(lambda: sync.get_run(rt, tenant, run_id).counts.get("read", 0) >= 2000)
        with psycopg.connect(libpq_dsn(to_sqlalchemy_url(url)), autocommit=True) as admin:
            killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                   " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
        run = _wait_for(lambda: (r := sync.get_run(rt, tenant, run_id)).status in ("succeeded", "failed",
                                                                                    "abandoned") and r)
        _wait_for(lambda: (rs := _apply_runs(rt, tenant, "sync")) and all(r.status == "succeeded" for r in rs))
        counts = _counts(rt, tenant)
    finally:
        _stop(worker)
        rt.close()
    assert killed > 0
    assert run.status == "succeeded", run.error
    assert run.failures == 0 and all(h["error"]["outage"] for h in run.history), run.history
    assert counts == (ROWS, ROWS, ROWS)
    with capsys.disabled():
        print(f"\n{killed} connections killed mid-sync: {len(run.history)} outage attempt(s), run succeeded")
