"""Tenant-share scheduling: a freed worker takes the least-served tenant's run, within limits."""

from __future__ import annotations

import contextlib

from autonomos.aam.sync import jobs, runs
from autonomos.aam.sync.share import least_served
from autonomos.errors import NotFound
from autonomos.services import connections, sync, tenants
from autonomos.services.sync_inputs import job_queue, sync_engines
from autonomos.services.worker import sync_stage
from autonomos.store.maintenance import MaintenanceDatabase
from tests.conftest import tenant_files


def _connections(rt, tenant, *names):
    for name in names:
        connections.create_connection(rt, tenant.id, provider="files", name=name, actor="test",
                                      config={"path": str(tenant_files(rt, tenant.id) / "none" / "*.csv")})


def _offered(rt, maintenance, *tenant_ids):
    """What the worker's choice offers, narrowed to these tenants (the session's database holds
    other tests' tenants too)."""
    with maintenance.session() as session:
        offered = least_served(session, rt.settings.sync_heartbeat_timeout_s, count=10_000)
    return [pair for pair in offered if pair[0] in tenant_ids]


def test_a_freed_worker_takes_the_least_served_tenants_run(rt, make_tenant):
    """``busy`` (two syncs at a time) runs one sync and has three queued; ``idle`` (one at a time)
    runs none and has one queued behind them; ``full`` (one at a time) runs one and has one
    queued. The worker takes the job at the head of the queue, one of busy's, and runs idle's
    run with it; full's run is never offered, and busy's keeps waiting for its turn."""
    busy, idle, full = make_tenant("share-busy"), make_tenant("share-idle"), make_tenant("share-full")
    for tenant, limit in ((busy, 2), (idle, 1), (full, 1)):
        tenants.update_settings(rt, tenant.slug, {"max_concurrent_syncs": limit}, actor="test")
    _connections(rt, busy, "a", "b", "c", "d")
    _connections(rt, idle, "e")
    _connections(rt, full, "f", "g")
    queue = jobs.sync_queue(job_queue(rt))
    running_a = sync.start_sync(rt, busy.id, "a", actor="test").run
    running_f = sync.start_sync(rt, full.id, "f", actor="test").run
    for tenant, run in ((busy, running_a), (full, running_f)):
        with rt.db.tenant(tenant.id) as session:
            assert runs.claim(session, tenant.id, run.id, "another-worker") is not None
        queue.remove(str(run.id))
    queued_b, _, _ = (sync.start_sync(rt, busy.id, n, actor="test").run for n in ("b", "c", "d"))
    queued_g = sync.start_sync(rt, full.id, "g", actor="test").run
    queued_e = sync.start_sync(rt, idle.id, "e", actor="test").run
    maintenance = MaintenanceDatabase(rt.database_url)
    mine = (busy.id, idle.id, full.id)
    try:
        assert _offered(rt, maintenance, *mine) == [(idle.id, queued_e.id), (busy.id, queued_b.id)]
        head = queue.job_ids.index(str(queued_b.id))
        assert head < queue.job_ids.index(str(queued_e.id)), "idle's run waits behind busy's in the queue"
        jobs.set_worker(sync_engines(rt), sync_stage(rt), lambda: _offered(rt, maintenance, *mine))
        assert jobs.run_sync_job(str(busy.id), str(queued_b.id)) == "succeeded"
        assert sync.get_run(rt, idle.id, queued_e.id).status == "succeeded", "the least-served tenant went first"
        assert sync.get_run(rt, busy.id, queued_b.id).status == "pending"
        assert sync.get_run(rt, full.id, queued_g.id).status == "pending", "a tenant at its limit is never offered"
        assert _offered(rt, maintenance, *mine) == [(busy.id, queued_b.id)]
    finally:
        jobs.set_worker(None)
        maintenance.dispose()
        for tenant, name in ((busy, "a"), (busy, "b"), (busy, "c"), (busy, "d"), (idle, "e"), (full, "f"), (full, "g")):
            with contextlib.suppress(NotFound):  # a run that ended has nothing to cancel
                sync.cancel_sync(rt, tenant.id, name, actor="test")
        for run in (running_a, running_f):
            with rt.db.tenant(run.tenant_id) as session:
                runs.finish(session, run.tenant_id, run.id, "cancelled")
