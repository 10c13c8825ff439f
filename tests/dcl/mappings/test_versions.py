"""Mapping versions: immutable, re-publishing backfills exactly the changed records, rollback
restores the previous values (recorded in the change log), every publish is audited and
feeds the matcher's memory."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from autonomos.services import mappings
from autonomos.store.tables import ApplyRun, AuditLog, EmbeddingOutbox, MappingVersion
from tests.dcl.apply.conftest import make_source

V1 = [{"source_field": "id", "canonical_field": "id"},
      {"source_field": "Email", "canonical_field": "email"},
      {"source_field": "Title", "canonical_field": "title"}]
V2 = [*V1[:2], {"source_field": "Title", "canonical_field": "title",
                "transform": {"op": "map", "values": {"VP": "Vice President"}}}]


@pytest.fixture
def crm(rt, make_tenant):
    source = make_source(rt, make_tenant("versions").id, "crm", "contacts", "id")
    source.land(*({"id": f"c{i}", "Email": f"p{i}@x.io", "Title": "VP" if i in (2, 4) else "Engineer"}
                  for i in range(6)))
    return source


def test_republishing_backfills_exactly_the_changed_records_and_rollback_restores(crm):
    v1 = crm.publish("contact", V1)
    assert (v1.version.version, v1.applied.counts.changed) == (1, 6)
    v2 = crm.publish("contact", V2)
    assert (v2.version.version, v2.applied.counts.read, v2.applied.counts.changed) == (2, 6, 2)
    assert {k: r["title"] for k, r in crm.records("contact").items()} == {
        "c0": "Engineer", "c1": "Engineer", "c2": "Vice President", "c3": "Engineer", "c4": "Vice President",
        "c5": "Engineer"}
    assert crm.publish("contact", list(reversed(V2))).created is False  # same content, order ignored

    back = mappings.rollback(crm.rt, crm.tenant_id, "crm", "contacts", "contact", 1, actor="test")
    assert (back.version.version, back.version.rollback_of, back.applied.counts.changed) == (3, v1.version.id, 2)
    assert crm.records("contact")["c2"]["title"] == "VP"
    last = crm.change_log("contact")[-2:]
    assert [(l.before["title"], l.after["title"], l.diff) for l in last] == [
        ("Vice President", "VP", {"title": {"before": "Vice President", "after": "VP"}})] * 2
    assert len(crm.events("contact")) == 6 + 2 + 2
    assert mappings.diff_versions(crm.rt, crm.tenant_id, "crm", "contacts", "contact", 2) == [
        {"canonical_field": "title", "change": "changed", "after": V1[2],
         "before": {**V2[2], "transform": [V2[2]["transform"]]}}]


def test_published_versions_are_immutable_audited_and_feed_memory(crm):
    published = crm.publish("contact", V1).version
    with pytest.raises(DBAPIError):
        with crm.rt.db.tenant(crm.tenant_id) as session:
            session.execute(text("UPDATE mapping_versions SET fields = '[]' WHERE id = :id"), {"id": published.id})
    with crm.rt.db.tenant(crm.tenant_id) as session:
        audit = session.scalars(select(AuditLog.action).where(AuditLog.target_id == str(published.id))).all()
        outbox = session.scalars(select(EmbeddingOutbox.item_id).where(
            EmbeddingOutbox.item_kind == "mapping_example")).all()
        runs = session.scalars(select(ApplyRun.status).where(ApplyRun.mapping_version_id == published.id)).all()
        stored = session.scalar(select(MappingVersion.fields).where(MappingVersion.id == published.id))
    assert audit == ["mapping.publish"] and runs == ["succeeded"]
    assert sorted(outbox) == sorted(f"{published.id}:{f}" for f in ("id", "Email", "Title"))
    assert stored == sorted(V1, key=lambda f: f["canonical_field"])


def test_new_syncs_apply_the_published_version_to_what_landed(crm):
    from autonomos.services.apply import apply_connection

    crm.publish("contact", V1)
    crm.land({"id": "c1", "Email": "new@x.io", "Title": "Engineer"}, {"id": "c9", "Email": "n@x.io"})
    [report] = apply_connection(crm.rt, crm.tenant_id, crm.connection_id)
    assert (report.counts.read, report.counts.changed) == (2, 2)
    assert crm.records("contact")["c1"]["email"] == "new@x.io" and "c9" in crm.records("contact")
