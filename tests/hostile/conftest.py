"""Helpers for hostile-input tests: a files connection over bytes we write, synced by a worker."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from autonomos.services import connections, sync
from autonomos.services.worker import run_worker
from autonomos.store.tables import Quarantine, RawRecord
from tests.conftest import tenant_files


def sync_file(rt, tenant, name: str, data: bytes | None = None, **config):
    """Write ``data`` as the tenant's file ``name`` (unless None: already written), sync it as
    stream ``s`` keyed by ``id``, and return (run, {key: payload}, [quarantine reasons])."""
    path = tenant_files(rt, tenant) / name
    if data is not None:
        path.write_bytes(data)
    conn = f"src-{uuid.uuid4().hex[:6]}"
    connections.create_connection(rt, tenant.id, provider="files", name=conn, actor="test",
                                  config={"path": str(path), "stream": "s", "primary_key": ["id"], **config})
    run = sync.start_sync(rt, tenant.id, conn, actor="test").run
    run_worker(rt, burst=True)
    run = sync.get_run(rt, tenant.id, run.id)
    with rt.db.tenant(tenant.id) as session:
        landed = dict(session.execute(select(RawRecord.record_key, RawRecord.payload)
                                      .where(RawRecord.sync_run_id == run.id)).all())
        reasons = list(session.scalars(select(Quarantine.reason).where(Quarantine.sync_run_id == run.id)))
    return run, landed, reasons
