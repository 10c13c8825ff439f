"""Job slots: one ``aos worker`` runs several jobs at once, each slot with a worker id of its own,
and a sync's apply runs go on the queue as jobs instead of holding the sync's slot."""

from __future__ import annotations

import uuid

import pytest
from rq.job import Job
from sqlalchemy import func, select

from autonomos.runtime import Runtime
from autonomos.services import connections, mappings, sync, tenants
from autonomos.services.apply import APPLY_JOB
from autonomos.services.worker import run_worker
from autonomos.store.tables import ApplyRun, CanonicalRecord, SyncRun
from tests.aam.sync.conftest import write_accounts
from tests.conftest import make_settings, tenant_files

ROWS = 12_000
FIELDS = [{"source_field": "Id", "canonical_field": "id"}, {"source_field": "Name", "canonical_field": "first_name"}]


@pytest.fixture
def slots_rt(isolated_database_url, redis_url, tmp_path):
    runtime = Runtime(make_settings(isolated_database_url, redis_url, tmp_path / "data",
                                    f"aosslots{uuid.uuid4().hex[:8]}", AOS_WORKER_SLOTS="2",
                                    AOS_SYNC_BATCH_SIZE="500"))
    yield runtime
    runtime.close()


def _tenant_with_a_mapped_connection(rt: Runtime, slug: str):
    tenant = tenants.create_tenant(rt, f"{slug}-{uuid.uuid4().hex[:8]}", actor="test")
    path = tenant_files(rt, tenant) / "accounts.csv"
    write_accounts(path, ROWS)
    info = connections.create_connection(
        rt, tenant.id, provider="files", name="crm-files",
        config={"path": str(path), "format": "csv", "stream": "accounts", "primary_key": ["Id"]}, actor="test")
    mappings.publish_fields(rt, tenant.id, info.name, "accounts", "contact", FIELDS, actor="test")
    return tenant.id, info


def test_one_worker_runs_two_syncs_at_once_and_queues_their_applies(slots_rt):
    rt = slots_rt
    made = [_tenant_with_a_mapped_connection(rt, slug) for slug in ("slot-a", "slot-b")]
    runs = {tenant: sync.start_sync(rt, tenant, info.name, actor="test").run.id for tenant, info in made}

    run_worker(rt, burst=True)

    spans, owners = [], set()
    for tenant, run_id in runs.items():
        with rt.db.tenant(tenant) as session:
            run = session.get(SyncRun, run_id)
            [apply_run] = session.scalars(select(ApplyRun).where(ApplyRun.trigger == "sync")).all()
            records = session.scalar(select(func.count()).select_from(CanonicalRecord))
        assert run.status == "succeeded" and apply_run.status == "succeeded" and records == ROWS
        spans.append((run.started_at, run.finished_at))
        owners.add(run.worker_id or "")
        job = Job.fetch(str(apply_run.id), connection=rt.queue_redis)
        assert job.func_name == APPLY_JOB  # applied by a job of its own, not inside the sync's job
    (a_start, a_end), (b_start, b_end) = spans
    assert a_start < b_end and b_start < a_end, "the two syncs did not overlap: one slot ran both"
    assert len(owners) == 2 and len({o.split("/")[0] for o in owners}) == 1  # two slots of one process
