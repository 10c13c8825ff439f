"""Bounded work per record and per run: wide files, a column cap, cancel inside one file, a
time budget, and headers that differ only in case."""

from __future__ import annotations

from sqlalchemy import select, text

from autonomos.aam.connectors.base import RecordMessage
from autonomos.aam.connectors.registry import connector_class
from autonomos.services.worker import run_worker
from autonomos.services import connections, sync
from autonomos.runtime import Runtime
from autonomos.store.tables import Quarantine, RawRecord
from tests.conftest import tenant_files


def _wide_csv(path, columns: int, rows: int) -> None:
    with path.open("w") as handle:
        handle.write("id," + ",".join(f"f{j}" for j in range(1, columns)) + "\n")
        for i in range(rows):
            handle.write(f"{i}," + ",".join(f"{i * j}" for j in range(1, columns)) + "\n")


def _connection(rt, tenant, path, **extra):
    return connections.create_connection(
        rt, tenant.id, provider="files", name="src",
        config={"path": str(path), "format": "csv", "stream": "rows", "primary_key": ["id"], **extra}, actor="test")


def _sync(rt, tenant, drain):
    run = sync.start_sync(rt, tenant.id, "src", actor="test").run
    drain()
    return sync.get_run(rt, tenant.id, run.id)


def test_a_cancelled_read_stops_between_chunks_inside_one_file(tmp_path):
    path = tmp_path / "wide.csv"
    _wide_csv(path, 10_000, 100)  # 20 rows per chunk at this width
    connector = connector_class("files")({"path": str(path), "primary_key": ["id"]})
    checks = []
    connector.control.install(lambda: checks.append(1) or ("cancel" if len(checks) >= 3 else None), max_columns=20_000)
    spec = connector.discover()[0]
    assert len(spec.fields) == 10_000 and {f.type for f in spec.fields} == {"integer"}
    read = 0
    try:
        for message in connector.read(spec, None):
            read += isinstance(message, RecordMessage)
    except Exception as stopped:
        assert getattr(stopped, "control", None) == "cancel"
    assert read == 40  # two chunks of 20 rows, then the third check stopped it


def test_cancel_requested_while_a_file_is_read_stops_before_any_batch_lands(rt, make_tenant, tmp_path, drain):
    tenant = make_tenant("cancel")
    path = tenant_files(rt, tenant) / "rows.csv"
    path.write_text("id,v\n" + "".join(f"{i},{i}\n" for i in range(30_000)))
    _connection(rt, tenant, path, checkpoint_every=100_000)
    run = sync.start_sync(rt, tenant.id, "src", actor="test").run
    with rt.db.tenant(tenant.id) as session:  # the cancel arrives as the worker starts the file
        session.execute(text("UPDATE sync_runs SET control = 'cancel' WHERE id = :r"), {"r": run.id})
    drain()
    final = sync.get_run(rt, tenant.id, run.id)
    assert final.status == "cancelled"
    assert final.counts["read"] == 0
    with rt.db.tenant(tenant.id) as session:
        assert session.scalar(select(text("count(*)")).select_from(RawRecord)) == 0


def test_a_run_over_its_time_budget_fails_with_the_reason(rt, make_tenant, tmp_path):
    tenant = make_tenant("budget")
    path = tenant_files(rt, tenant) / "rows.csv"
    path.write_text("id,v\n1,a\n")
    _connection(rt, tenant, path)
    run = sync.start_sync(rt, tenant.id, "src", actor="test").run
    hurried = Runtime(rt.settings.model_copy(update={"sync_max_run_s": 1e-9}))
    try:
        run_worker(hurried, burst=True)
    finally:
        hurried.close()
    final = sync.get_run(rt, tenant.id, run.id)
    assert final.status == "failed"
    assert "time budget" in final.error and "AOS_SYNC_MAX_RUN_S" in final.error


def test_a_file_wider_than_the_column_cap_is_quarantined_with_the_reason(rt, make_tenant, tmp_path, drain):
    tenant = make_tenant("cap")
    path = tenant_files(rt, tenant) / "wide.csv"
    _wide_csv(path, rt.settings.max_columns + 1, 2)
    _connection(rt, tenant, path)
    final = _sync(rt, tenant, drain)
    assert final.status == "succeeded" and final.counts["quarantined"] == 1
    with rt.db.tenant(tenant.id) as session:
        reason = session.scalar(select(Quarantine.reason))
    assert f"has {rt.settings.max_columns + 1} columns, over the limit of {rt.settings.max_columns}" in reason
    assert "AOS_MAX_COLUMNS" in reason


def test_a_wide_file_lands_every_field(rt, make_tenant, tmp_path, drain):
    tenant = make_tenant("wide")
    path = tenant_files(rt, tenant) / "wide.csv"
    _wide_csv(path, 5_000, 30)
    _connection(rt, tenant, path)
    final = _sync(rt, tenant, drain)
    assert final.status == "succeeded" and final.counts["inserted"] == 30
    with rt.db.tenant(tenant.id) as session:
        payload = session.scalar(select(RawRecord.payload).where(RawRecord.record_key == "7"))
    assert len(payload) == 5_000 and payload["f4999"] == str(7 * 4999)


def test_headers_differing_only_in_case_keep_both_fields(rt, make_tenant, tmp_path, drain):
    tenant = make_tenant("case")
    path = tenant_files(rt, tenant) / "people.csv"
    path.write_text("id,email,Email\n1,a@x.io,A@X.IO\n2,b@x.io,\n")
    _connection(rt, tenant, path)
    spec = connections.open_connector(rt, tenant.id, "src").discover()[0]
    assert [f.name for f in spec.fields] == ["id", "email", "Email"]
    final = _sync(rt, tenant, drain)
    assert final.status == "succeeded" and final.counts["inserted"] == 2 and final.counts["quarantined"] == 0
    with rt.db.tenant(tenant.id) as session:
        payloads = {p["id"]: p for p in session.scalars(select(RawRecord.payload))}
    assert payloads["1"] == {"id": "1", "email": "a@x.io", "Email": "A@X.IO"}
    assert payloads["2"] == {"id": "2", "email": "b@x.io", "Email": None}
