"""Run claiming (once only, per-tenant limit), the reconciler, and schedules."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import update

from autonomos.aam.sync import runs
from autonomos.aam.sync.scheduler import next_due, validate_schedule
from autonomos.errors import InvalidInput
from autonomos.services import connections, sync
from autonomos.services.sync_inputs import reconcile_syncs, scheduler_tick
from autonomos.runtime import Runtime
from autonomos.store.maintenance import MaintenanceDatabase
from autonomos.store.tables import SyncRun, Tenant
from tests.conftest import make_settings, tenant_files


def _connection(rt, tenant_id, name, schedule=None):
    return connections.create_connection(rt, tenant_id, provider="files", name=name, schedule=schedule,
                                         config={"path": str(tenant_files(rt, tenant_id) / "none" / "*.csv")},
                                         actor="test")


def _one_sync_at_a_time(rt, tenant) -> None:
    maintenance = MaintenanceDatabase(rt.database_url)
    with maintenance.session() as session:
        session.execute(update(Tenant).where(Tenant.id == tenant.id).values(settings={"max_concurrent_syncs": 1}))
    maintenance.dispose()


def test_a_run_is_claimed_once(rt, make_tenant):
    tenant = make_tenant("claim")
    _connection(rt, tenant.id, "a")
    run = sync.start_sync(rt, tenant.id, "a", actor="test").run
    with rt.db.tenant(tenant.id) as session:
        first = runs.claim(session, tenant.id, run.id, "worker-1")
    with rt.db.tenant(tenant.id) as session:
        second = runs.claim(session, tenant.id, run.id, "worker-2")
    assert first is not None and first.attempts == 1 and second is None


def test_tenant_concurrency_limit_holds_across_workers(rt, make_tenant):
    tenant = make_tenant("limit")
    _one_sync_at_a_time(rt, tenant)
    for name in ("a", "b"):
        _connection(rt, tenant.id, name)
    run_a = sync.start_sync(rt, tenant.id, "a", actor="test").run
    run_b = sync.start_sync(rt, tenant.id, "b", actor="test").run
    with rt.db.tenant(tenant.id) as session:
        assert runs.claim(session, tenant.id, run_a.id, "w1") is not None
    with rt.db.tenant(tenant.id) as session:
        assert runs.claim(session, tenant.id, run_b.id, "w2") is None  # limit reached
    with rt.db.tenant(tenant.id) as session:
        runs.finish(session, tenant.id, run_a.id, "succeeded")
    with rt.db.tenant(tenant.id) as session:
        assert runs.claim(session, tenant.id, run_b.id, "w2") is not None


def test_reconciler_revives_runs_with_a_dead_heartbeat(rt, make_tenant):
    tenant = make_tenant("revive")
    _connection(rt, tenant.id, "a")
    run = sync.start_sync(rt, tenant.id, "a", actor="test").run
    with rt.db.tenant(tenant.id) as session:
        runs.claim(session, tenant.id, run.id, "gone-worker")
        session.execute(update(SyncRun).where(SyncRun.id == run.id)
                        .values(heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
    # A short timeout: nobody is declared lost until the server itself has been up that long.
    quick = Runtime(make_settings(rt.settings.database_url, rt.settings.redis_url, rt.settings.data_dir,
                                  rt.settings.redis_namespace, AOS_SYNC_HEARTBEAT_TIMEOUT_S="1"))
    try:
        report = reconcile_syncs(quick)
    finally:
        quick.close()
    assert report.revived >= 1  # its job is still queued in Redis, so nothing needs re-enqueueing
    assert sync.get_run(rt, tenant.id, run.id).status == "pending"
    sync.cancel_sync(rt, tenant.id, "a", actor="test")


def test_schedules(rt, make_tenant):
    validate_schedule("every 15m")
    validate_schedule("*/5 * * * *")
    with pytest.raises(InvalidInput):
        validate_schedule("whenever")
    last = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert next_due("every 15m", last, last) == last + dt.timedelta(minutes=15)
    assert next_due("0 * * * *", last, last) == last + dt.timedelta(hours=1)

    tenant = make_tenant("sched")
    info = _connection(rt, tenant.id, "scheduled", schedule="every 1h")
    first = scheduler_tick(rt)
    assert any(sync.get_run(rt, tenant.id, r).connection_id == uuid.UUID(info.id) for r in first.started)
    sync.cancel_sync(rt, tenant.id, "scheduled", actor="test")
    again = scheduler_tick(rt)  # created a minute ago: not due for an hour
    assert not any(sync.get_run(rt, tenant.id, r).connection_id == uuid.UUID(info.id) for r in again.started)
    with pytest.raises(InvalidInput):
        _connection(rt, tenant.id, "bad", schedule="sometimes")


def test_a_finished_run_hands_its_tenants_next_run_to_the_head_of_the_queue(rt, make_tenant):
    """A tenant held to one sync at a time: when its running sync ends, its next due run goes to
    the front of the queue at once, ahead of other tenants' work, not at the next upkeep."""
    from autonomos.aam.sync import jobs
    from autonomos.aam.sync.engine import execute_run
    from autonomos.services.sync_inputs import job_queue, sync_engines
    from autonomos.services.worker import sync_stage

    tenant, other = make_tenant("handoff"), make_tenant("handoff-other")
    _one_sync_at_a_time(rt, tenant)
    for name in ("a", "b"):
        _connection(rt, tenant.id, name)
    _connection(rt, other.id, "c")
    run_a = sync.start_sync(rt, tenant.id, "a", actor="test").run
    run_b = sync.start_sync(rt, tenant.id, "b", actor="test").run
    queue = jobs.sync_queue(job_queue(rt))
    queue.remove(str(run_b.id))  # B's job was tried while A ran: the claim refused it at the limit
    run_c = sync.start_sync(rt, other.id, "c", actor="test").run
    try:
        assert execute_run(sync_engines(rt), sync_stage(rt), tenant.id, run_a.id, "test-worker") == "succeeded"
        assert queue.job_ids[0] == str(run_b.id)
        assert str(run_c.id) in queue.job_ids, "the other tenant's run keeps its place behind"
    finally:
        sync.cancel_sync(rt, tenant.id, "b", actor="test")
        sync.cancel_sync(rt, other.id, "c", actor="test")
