"""The review queue and the matcher's memory, against real PostgreSQL + pgvector: proposals carry
the tenant's nearest approved examples, a rejection demotes that target for near-identical
fields of the same tenant only, a full name splits into given and family names from review,
and every review action and publish is audited and queued in the embedding outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from autonomos.dcl.mappings.review import split_targets
from autonomos.services import mappings, review, vectors
from autonomos.store import migrate
from autonomos.store.tables import AuditLog, EmbeddingOutbox
from tests.dcl.apply.conftest import make_source

PEOPLE = [{"Id": "p1", "Email": "ada@example.com", "FullName": "Ada King Lovelace", "Title": "Countess"},
          {"Id": "p2", "Email": "alan@example.com", "FullName": "Alan Turing", "Title": "Researcher"},
          {"Id": "p3", "Email": "grace@example.com", "FullName": "Grace Hopper", "Title": "Rear Admiral"}]


@pytest.fixture
def pgvector(rt, database_url):
    if not (migrate.pgvector_available(database_url) and migrate.state(database_url, migrate.VECTORS).at_head):
        pytest.skip("this PostgreSQL has no pgvector extension, so there is no vector store for memory")
    return rt


def _land(rt, tenant_id, name: str, rows=PEOPLE, rename: dict[str, str] | None = None):
    source = make_source(rt, tenant_id, name, "contacts", "Id")
    source.land(*({(rename or {}).get(k, k): v for k, v in r.items()} for r in rows))
    return source


def _proposals(rt, tenant_id, connection: str) -> dict:
    return {p.source_field: p for p in review.list_queue(rt, tenant_id, connection=connection, status=None)}


def _top(p) -> str:
    return f"{p.candidates[0]['entity']}.{p.candidates[0]['field']}"


def test_show_lists_the_nearest_approved_examples_resolved_to_their_rows(pgvector, make_tenant):
    rt, tenant = pgvector, make_tenant("ex").id
    legacy = _land(rt, tenant, "legacy")
    published = mappings.publish_fields(rt, tenant, legacy.connection, "contacts", "contact", [
        {"source_field": "Id", "canonical_field": "id"}, {"source_field": "Email", "canonical_field": "email"},
        {"source_field": "Title", "canonical_field": "title"}], actor="person", apply=False).version
    assert vectors.drain_outbox(rt, tenant_id=tenant).failed == 0
    _land(rt, tenant, "crm", rename={"Email": "EMAIL"})  # a case rename is the same text for memory

    review.propose_stream(rt, tenant, "crm", "contacts", actor="test")
    shown = review.show(rt, tenant, _proposals(rt, tenant, "crm")["EMAIL"].id)
    nearest = shown.evidence["examples"][0]
    assert {k: nearest[k] for k in ("source_system", "object", "field", "entity", "canonical_field")} == {
        "source_system": "files", "object": "contacts", "field": "Email", "entity": "contact",
        "canonical_field": "email"}
    assert nearest["similarity"] == pytest.approx(1.0, abs=1e-3)
    assert nearest["example"] == f"{published.id}:Email"
    assert [e["similarity"] for e in shown.evidence["examples"]] == sorted(
        (e["similarity"] for e in shown.evidence["examples"]), reverse=True)
    assert shown.evidence["rejections"] == []
    assert shown.candidates[0]["signals"]["memory"] == pytest.approx(1.0, abs=1e-3)


def test_a_rejection_demotes_that_target_for_near_identical_fields_of_that_tenant_only(pgvector, make_tenant):
    rt, tenant, other = pgvector, make_tenant("neg").id, make_tenant("neg").id
    for t in (tenant, other):
        _land(rt, t, "first")
        review.propose_stream(rt, t, "first", "contacts", actor="test")
    before = _proposals(rt, tenant, "first")["Title"]
    assert (_top(before), before.decision) == ("contact.title", "auto")

    review.review(rt, tenant, before.id, "reject", actor="person", comment="holds honours, not job titles")
    assert vectors.drain_outbox(rt, tenant_id=tenant).failed == 0
    for t in (tenant, other):
        _land(rt, t, "second", rename={"Title": "TITLE"})
        review.propose_stream(rt, t, "second", "contacts", actor="test")

    after = _proposals(rt, tenant, "second")["TITLE"]
    assert _top(after) != "contact.title" and after.decision != "auto"
    demoted = [c for c in after.candidates if (c["entity"], c["field"]) == ("contact", "title")]
    assert all(c["signals"]["rejected"] == pytest.approx(1.0, abs=1e-3) for c in demoted)  # if still ranked at all
    assert after.candidates[0]["score"] < before.candidates[0]["score"]
    assert [(r["field"], r["canonical_field"]) for r in after.evidence["rejections"]] == [("Title", "title")]
    untouched = _proposals(rt, other, "second")["TITLE"]  # the other tenant never rejected anything
    assert (_top(untouched), untouched.decision) == ("contact.title", "auto")
    assert untouched.candidates == _proposals(rt, other, "first")["Title"].candidates
    assert untouched.evidence["rejections"] == []

    # A person changing their mind withdraws the negative example; the index follows Postgres.
    review.review(rt, tenant, before.id, "approve", actor="person")
    vectors.drain_outbox(rt, tenant_id=tenant)
    assert vectors.similar(rt, tenant, "contacts . title", kind="rejected_example") == []


def test_rejected_examples_are_rebuilt_from_postgres(pgvector, make_tenant):
    rt, tenant = pgvector, make_tenant("rb").id
    _land(rt, tenant, "crm")
    review.propose_stream(rt, tenant, "crm", "contacts", actor="test")
    title = _proposals(rt, tenant, "crm")["Title"]
    review.review(rt, tenant, title.id, "reject", field="contact.department", actor="person")
    vectors.rebuild(rt, tenant, actor="test")
    [hit] = vectors.similar(rt, tenant, "contacts . title", kind="rejected_example")
    assert hit.item.ref_id == f"{title.id}:Title"
    assert (hit.item.details["canonical_entity"], hit.item.details["canonical_field"]) == ("contact", "department")


def test_a_full_name_splits_into_given_and_family_names_from_review(rt, make_tenant):
    tenant = make_tenant("split").id
    source = _land(rt, tenant, "crm")
    review.propose_stream(rt, tenant, "crm", "contacts", actor="test")
    review.accept_auto(rt, tenant, "crm", "contacts", actor="test")
    full_name = _proposals(rt, tenant, "crm")["FullName"]
    review.review(rt, tenant, full_name.id, "edit", actor="person",
                  targets=split_targets(["contact.first_name", "contact.last_name"], " "))
    review.reject_open(rt, tenant, "crm", "contacts", actor="person")

    [published] = mappings.publish_reviewed(rt, tenant, "crm", "contacts", actor="person")
    by_field = {f["canonical_field"]: f for f in published.version.fields}
    assert by_field["first_name"] == {"source_field": "FullName", "canonical_field": "first_name",
                                      "transform": [{"op": "split", "separator": " ", "part": 0}]}
    assert by_field["last_name"] == {"source_field": "FullName", "canonical_field": "last_name",
                                     "transform": [{"op": "split", "separator": " ", "part": "rest"}]}
    assert {k: (r["first_name"], r["last_name"]) for k, r in source.records("contact").items()} == {
        "p1": ("Ada", "King Lovelace"), "p2": ("Alan", "Turing"), "p3": ("Grace", "Hopper")}


def test_memory_remembers_every_part_of_a_split_field(pgvector, make_tenant):
    rt, tenant = pgvector, make_tenant("split").id
    legacy = _land(rt, tenant, "legacy")
    mappings.publish_fields(rt, tenant, legacy.connection, "contacts", "contact", [
        {"source_field": "Id", "canonical_field": "id"},
        {"source_field": "FullName", "canonical_field": "first_name", "transform": [
            {"op": "split", "separator": " ", "part": 0}]},
        {"source_field": "FullName", "canonical_field": "last_name", "transform": [
            {"op": "split", "separator": " ", "part": "rest"}]}], actor="person", apply=False)
    assert vectors.drain_outbox(rt, tenant_id=tenant).failed == 0
    hits = vectors.similar(rt, tenant, "contacts . full name", k=5, kind="mapping_example")
    remembered = {(h.item.field_name, h.item.details["canonical_field"]) for h in hits}
    assert {("FullName", "first_name"), ("FullName", "last_name")} <= remembered


def test_every_review_action_and_publish_is_audited_and_queued_for_memory(rt, make_tenant):
    tenant = make_tenant("audit").id
    _land(rt, tenant, "crm")
    review.propose_stream(rt, tenant, "crm", "contacts", actor="test")
    auto = {p.source_field: p.id for p in review.accept_auto(rt, tenant, "crm", "contacts", actor="test")}
    assert sorted(auto) == ["Email", "FullName", "Title"]
    [left] = review.list_queue(rt, tenant, connection="crm")
    review.review(rt, tenant, left.id, "approve", actor="person")
    review.review(rt, tenant, auto["Title"], "reject", actor="person")
    review.review(rt, tenant, auto["FullName"], "edit", actor="person",
                  targets=split_targets(["first_name", "last_name"], " "))
    [published] = mappings.publish_reviewed(rt, tenant, "crm", "contacts", actor="person", apply=False)

    with rt.db.tenant(tenant) as session:
        audited = session.execute(select(AuditLog.target_id, AuditLog.action, AuditLog.after)
                                  .where(AuditLog.action.like("review.%") | AuditLog.action.like("mapping.%"))
                                  .order_by(AuditLog.id)).all()
        queued = session.execute(select(EmbeddingOutbox.item_kind, EmbeddingOutbox.item_id, EmbeddingOutbox.action)
                                 .order_by(EmbeddingOutbox.id)).all()
    ids = {**auto, left.source_field: left.id}
    trail = {field: [a for t, a, _ in audited if t == str(pid)] for field, pid in ids.items()}
    assert trail == {"Email": ["review.accept-auto"], "Title": ["review.accept-auto", "review.reject"],
                     "FullName": ["review.accept-auto", "review.edit"], "Id": ["review.approve"]}
    split = next(after for t, a, after in audited if t == str(auto["FullName"]) and a == "review.edit")
    assert [(t["field"], t["transform"][0]["part"]) for t in split["targets"]] == [("first_name", 0),
                                                                                  ("last_name", "rest")]
    rejected = next(after for t, a, after in audited if a == "review.reject")
    assert (rejected["entity"], rejected["field"]) == ("contact", "title")
    assert [a for t, a, _ in audited if t == str(published.version.id)] == ["mapping.publish"]

    # Each decision queues the proposal's rejected example: a rejection adds it, an acceptance withdraws it.
    memory = {field: [a for k, i, a in queued if k == "rejected_example" and i == f"{pid}:{field}"]
              for field, pid in ids.items()}
    assert memory == {"Email": ["delete"], "Title": ["delete", "upsert"], "FullName": ["delete", "delete"],
                      "Id": ["delete"]}
    examples = {i for k, i, a in queued if k == "mapping_example" and a == "upsert"}
    version = published.version.id
    assert examples == {f"{version}:Email", f"{version}:Id", f"{version}:FullName -> first_name",
                        f"{version}:FullName -> last_name"}  # each part of a split is its own example
    assert {f["canonical_field"] for f in published.version.fields} == {
        "email", "first_name", "last_name", "id"}
