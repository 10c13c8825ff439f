"""The apply's write path: what the change log stores, batches read ahead of their write,
events read across entities, and tenant purges of the canonical bulk tables."""

from __future__ import annotations

from sqlalchemy import func, select

from autonomos.dcl.apply.apply import _batches, _plan
from autonomos.dcl.apply.batch import BatchTransformer
from autonomos.dcl.apply.writer import reserve_seqs, write_batch
from autonomos.dcl.mappings.transforms import compile_fields
from autonomos.engines.duckdb import ephemeral_duckdb
from autonomos.services import tenants
from autonomos.services.apply import apply_and_resolve
from autonomos.services.records import read_events, show_record
from autonomos.store.maintenance import maintenance_database
from autonomos.store.purge import TENANT_BULK_TABLES
from autonomos.store.tables import ChangeLog
from tests.dcl.apply.conftest import make_source

FIELDS = [{"source_field": "id", "canonical_field": "id"}, {"source_field": "Email", "canonical_field": "email"},
          {"source_field": "Title", "canonical_field": "title"}]


def _stored_diffs(source) -> list:
    with source.rt.db.tenant(source.tenant_id) as session:
        return list(session.scalars(select(ChangeLog.diff).order_by(ChangeLog.id)))


def test_the_change_log_stores_only_what_the_event_does_not_hold(source):
    source.land({"id": "c1", "Email": "a@x.io", "Title": "CTO"})
    version = source.publish("contact", FIELDS).version
    source.land({"id": "c1", "Email": "a@x.io", "Title": "CEO"})
    apply_and_resolve(source.rt, source.tenant_id, version.id, trigger="sync", incremental=True)
    source.land({"id": "c1", "Email": "a@x.io", "Title": "CEO"}, deleted=("c1",))
    apply_and_resolve(source.rt, source.tenant_id, version.id, trigger="sync", incremental=True)

    # Creation and deletion: the event is the whole difference; the update: its changed field.
    assert _stored_diffs(source) == [None, {"title": {"before": "CTO", "after": "CEO"}}, None]
    [record_id] = {e.record_id for e in source.events("contact")}
    shown = show_record(source.rt, source.tenant_id, record_id)
    first = {"id": "c1", "email": "a@x.io", "title": "CTO"}
    second = {**first, "title": "CEO"}
    assert [(h["before"], h["after"], h["diff"]) for h in shown["history"]] == [
        (None, first, {k: {"before": None, "after": v} for k, v in first.items()}),
        (first, second, {"title": {"before": "CTO", "after": "CEO"}}),
        (second, None, {k: {"before": v, "after": None} for k, v in second.items()})]
    assert [h["event_id"] for h in shown["history"]] == [str(e.id) for e in source.events("contact")]


def test_a_batch_read_before_a_newer_version_landed_does_not_overwrite_it(source):
    source.land({"id": "c1", "Email": "old@x.io"}, {"id": "c2", "Email": "b@x.io"})
    version = source.publish("contact", FIELDS).version
    source.land({"id": "c1", "Email": "mid@x.io"}, {"id": "c2", "Email": "b2@x.io"})
    db, tenant = source.rt.db, source.tenant_id
    with db.tenant(tenant) as session:
        plan = _plan(session, tenant, version.id, None)
    t = plan.target
    with ephemeral_duckdb() as duck:
        transformer = BatchTransformer(duck, compile_fields(plan.fields, plan.types), tenant_id=tenant,
                                       entity=t.entity, connection_id=t.connection_id, stream=t.stream,
                                       mapping_version_id=version.id)
        [ahead] = list(_batches(db, plan, transformer, "", 0, 100))  # read ahead: c1@mid, c2@b2
    source.land({"id": "c1", "Email": "new@x.io"}, {"id": "c2", "Email": "b2@x.io"})  # c1 moves on
    apply_and_resolve(source.rt, tenant, version.id, trigger="sync", incremental=True)
    assert source.records("contact")["c1"]["email"] == "new@x.io"

    with db.tenant(tenant) as session:
        written = write_batch(session, t, ahead, reserve_seqs(session, ahead.read))
    assert (written.read, written.changed) == (2, 0)  # c1's version is no longer its head; c2 is current
    assert {k: r["email"] for k, r in source.records("contact").items()} == {"c1": "new@x.io", "c2": "b2@x.io"}


def test_reading_all_entities_merges_them_in_cursor_order(rt, make_tenant):
    tenant = make_tenant("merge")
    contacts = make_source(rt, tenant.id, "crm", "contacts", "id")
    leads = make_source(rt, tenant.id, "crm2", "leads", "id")
    contacts.land({"id": "c1", "Email": "a@x.io"}, {"id": "c2", "Email": "b@x.io"})
    contacts.publish("contact", FIELDS[:2])
    leads.land({"id": "l1", "Email": "l@x.io"})
    leads.publish("lead", FIELDS[:2])
    contacts.land({"id": "c3", "Email": "c@x.io"})
    apply_and_resolve(rt, tenant.id, contacts.events("contact")[0].mapping_version_id, trigger="sync",
                      incremental=True)

    seen, cursor = [], 0
    while page := read_events(rt, tenant.id, after=cursor, limit=2).events:
        seen += [(e["entity"], e["record_key"]) for e in page]
        cursor = page[-1]["seq"]
    assert seen == [("contact", "c1"), ("contact", "c2"), ("lead", "l1"), ("contact", "c3")]
    assert [e["record_key"] for e in read_events(rt, tenant.id, entity="lead").events] == ["l1"]


def test_deleting_a_tenant_purges_its_canonical_rows(rt, make_tenant):
    doomed, survivor = make_tenant("doomed"), make_tenant("kept")
    for tenant in (doomed, survivor):
        source = make_source(rt, tenant.id, "crm", "contacts", "id")
        source.land({"id": "c1", "Email": "a@x.io"})
        source.publish("contact", FIELDS[:2])
    tenants.delete_tenant(rt, doomed.slug, actor="test")
    with maintenance_database(rt).session() as session:
        left = {t.__tablename__: [session.scalar(select(func.count()).select_from(t).where(t.tenant_id == tid))
                                  for tid in (doomed.id, survivor.id)] for t in TENANT_BULK_TABLES}
    assert left == {"canonical_events": [0, 1], "canonical_records": [0, 1], "change_log": [0, 1]}

