"""The outbox keeps the store a mirror of Postgres: drained rows are marked, failures kept,
hits resolved through their rows, and a rebuild restores the same answers after a wipe."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from autonomos.dcl.vectors import VectorHit, enqueue, make_ref, resolve, vector_store
from autonomos.dcl.vectors.outbox import MAX_ATTEMPTS
from autonomos.services import ontology, vectors
from autonomos.store.tables import EmbeddingOutbox


def _rows(rt, tenant_id):
    with rt.db.tenant(tenant_id) as session:
        return session.scalars(select(EmbeddingOutbox).where(EmbeddingOutbox.tenant_id == tenant_id)
                               .order_by(EmbeddingOutbox.id)).all()


def test_drain_marks_rows_processed_and_keeps_a_failing_row_with_its_error(vrt, make_tenant, eventually):
    tenant = make_tenant("obx")
    ontology.list_ontologies(vrt, tenant.id)  # seeds crm: one outbox row per canonical field
    with vrt.db.tenant(tenant.id) as session:
        enqueue(session, tenant.id, "canonical_field", ["not-a-reference"])
        enqueue(session, tenant.id, "no_such_kind", [make_ref(uuid.uuid4(), "x")])  # type: ignore[arg-type]
    report = vectors.drain_outbox(vrt, tenant_id=tenant.id)
    rows = _rows(vrt, tenant.id)
    good = [r for r in rows if r.item_id != "not-a-reference" and r.item_kind != "no_such_kind"]
    assert report.upserted == len(good) and report.failed == 2
    assert all(r.processed_at is not None and r.error is None and r.attempts == 1 for r in good)
    bad = [r for r in rows if r not in good]
    # Terminal errors: retrying cannot help, so the rows end at once (kept, for a person).
    assert [(r.processed_at, r.attempts) for r in bad] == [(None, MAX_ATTEMPTS), (None, MAX_ATTEMPTS)]
    assert "malformed" in bad[0].error and "unknown item kind" in bad[1].error
    assert all(r.error.startswith("terminal: ") for r in bad)
    assert eventually(lambda: vector_store(vrt).count(tenant.id) == len(good))
    again = vectors.drain_outbox(vrt, tenant_id=tenant.id)  # not retried, still kept
    assert again.failed == 0 and [r.attempts for r in _rows(vrt, tenant.id) if r.processed_at is None] == [
        MAX_ATTEMPTS, MAX_ATTEMPTS]


def test_a_drain_with_a_budget_stops_after_a_batch_and_says_more_is_left(vrt, make_tenant):
    tenant = make_tenant("obx")
    ontology.list_ontologies(vrt, tenant.id)  # seeds crm: one outbox row per canonical field
    seeded = len(_rows(vrt, tenant.id))
    assert seeded > 5
    sliced = vectors.drain_outbox(vrt, tenant_id=tenant.id, batch_size=5, budget_s=0)
    assert (sliced.processed, sliced.more) == (5, True)
    assert len([r for r in _rows(vrt, tenant.id) if r.processed_at is None]) == seeded - 5
    rest = vectors.drain_outbox(vrt, tenant_id=tenant.id, batch_size=5, budget_s=3600)
    assert (rest.processed, rest.more) == (seeded - 5, False)
    assert all(r.processed_at is not None for r in _rows(vrt, tenant.id))


def test_hits_are_resolved_through_postgres_and_dropped_when_their_row_is_gone(vrt, make_tenant):
    tenant = make_tenant("obx")
    crm = ontology.ontology_version(vrt, tenant.id)
    ghost = VectorHit("canonical_field", make_ref(crm.schema_id, "contact.no_such_field"), 0.99)
    stranger = VectorHit("canonical_field", make_ref(uuid.uuid4(), "contact.email"), 0.98)
    real = VectorHit("canonical_field", make_ref(crm.schema_id, "contact.email"), 0.9)
    with vrt.db.tenant(tenant.id) as session:
        resolved = resolve(session, tenant.id, [ghost, stranger, real])
    assert [(r.item.object_type, r.item.field_name, r.score) for r in resolved] == [("contact", "email", 0.9)]
    assert resolved[0].item.details["description"] == "Primary email address."


def test_rebuild_restores_the_same_answers_after_a_wipe(vrt, make_tenant, eventually):
    tenant = make_tenant("obx")
    ontology.list_ontologies(vrt, tenant.id)
    vectors.drain_outbox(vrt, tenant_id=tenant.id)
    question = "work email address of the person"
    before = eventually(lambda: vectors.similar(vrt, tenant.id, question, k=5, kind="canonical_field"))
    assert before and before[0].item.field_name == "email"
    vector_store(vrt).purge_tenant(tenant.id)
    assert eventually(lambda: vectors.similar(vrt, tenant.id, question, k=5) == [])
    report = vectors.rebuild(vrt, tenant.id, actor="test")
    assert report.enqueued == report.drain.upserted == 115 and report.drain.failed == 0
    after = eventually(lambda: (r := vectors.similar(vrt, tenant.id, question, k=5, kind="canonical_field"))
                       and len(r) == 5 and r)
    assert [h.item.ref_id for h in after] == [h.item.ref_id for h in before]
    assert [round(h.score, 5) for h in after] == [round(h.score, 5) for h in before]
    assert tenant.slug in {s.tenant for s in vectors.status(vrt)}


def test_a_failed_row_waits_with_backoff_and_an_outage_spends_no_attempt():
    from autonomos.dcl.vectors.exceptions import VectorStoreUnavailable
    from autonomos.dcl.vectors.outbox import DrainReport, _fail
    from autonomos.errors import EngineUnavailable

    report = DrainReport()
    transient = EmbeddingOutbox(item_kind="canonical_field", item_id="x", attempts=1)
    _fail(transient, VectorStoreUnavailable("the store answered 503"), report)
    assert transient.attempts == 2 and transient.next_attempt_at is not None
    assert transient.error.startswith("transient: ")
    outage = EmbeddingOutbox(item_kind="canonical_field", item_id="y", attempts=1)
    _fail(outage, EngineUnavailable("database unreachable"), report)
    assert outage.attempts == 1 and outage.next_attempt_at is not None and outage.error.startswith("outage: ")
