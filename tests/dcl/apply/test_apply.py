"""Apply invariants: events, records and change log together; idempotence; A -> B -> A;
one bad value quarantines one record; deterministic event ids."""

from __future__ import annotations

from autonomos.dcl.apply import event_id, record_id
from autonomos.services.apply import apply_and_resolve

FIELDS = [
    {"source_field": "id", "canonical_field": "id"},
    {"source_field": "Email", "canonical_field": "email", "transform": [{"op": "trim"}, {"op": "lower"}]},
    {"source_field": "Name", "canonical_field": "first_name", "transform": {"op": "split", "part": 0}},
    {"source_field": "Name", "canonical_field": "last_name", "transform": {"op": "split", "part": "rest"}},
    {"source_field": "OptOut", "canonical_field": "email_opt_out"},
]


def test_apply_writes_event_record_and_change_log_with_deterministic_ids(source):
    source.land({"id": "c1", "Email": " Ada@Example.COM ", "Name": "Ada King Lovelace", "OptOut": "false",
                 "Extra": 7})
    result = source.publish("contact", FIELDS)
    assert result.created and result.applied.counts.as_dict() == {
        "read": 1, "changed": 1, "unchanged": 0, "deleted": 0, "quarantined": 0}
    assert source.records("contact") == {"c1": {"id": "c1", "email": "ada@example.com", "first_name": "Ada",
                                                "last_name": "King Lovelace", "email_opt_out": False}}
    [event] = source.events("contact")
    assert event.id == event_id(source.tenant_id, event.raw_record_id, result.version.id)
    assert event.record_id == record_id(source.tenant_id, "contact", source.connection_id, "contacts", "c1")
    assert (event.op, event.unknown_fields, event.source_system, event.stream, event.record_key) == (
        "upsert", {"Extra": 7}, "files", "contacts", "c1")
    [log] = source.change_log("contact")
    assert log.before is None and log.after == event.data and log.event_id == event.id
    assert log.diff["email"] == {"before": None, "after": "ada@example.com"}


def test_applying_twice_changes_nothing_and_a_to_b_to_a_gives_three_events(source):
    source.land({"id": "c1", "Email": "a@x.io", "Name": "A", "OptOut": "no"})
    version = source.publish("contact", FIELDS).version
    again = apply_and_resolve(source.rt, source.tenant_id, version.id, trigger="manual")
    assert (again.counts.read, again.counts.changed, again.counts.unchanged) == (1, 0, 1)
    for email in ("b@x.io", "a@x.io"):
        source.land({"id": "c1", "Email": email, "Name": "A", "OptOut": "no"})
        apply_and_resolve(source.rt, source.tenant_id, version.id, trigger="sync", incremental=True)
    events = source.events("contact")
    assert [e.data["email"] for e in events] == ["a@x.io", "b@x.io", "a@x.io"]
    assert len({e.id for e in events}) == 3
    assert source.records("contact")["c1"]["email"] == "a@x.io"
    assert [(l.diff["email"]["before"], l.diff["email"]["after"]) for l in source.change_log("contact")] == [
        (None, "a@x.io"), ("a@x.io", "b@x.io"), ("b@x.io", "a@x.io")]


def test_a_value_that_cannot_be_coerced_quarantines_only_its_record(source):
    source.land({"id": "c1", "Email": "ok@x.io", "OptOut": "true"},
                {"id": "c2", "Email": "bad@x.io", "OptOut": "maybe"},
                {"id": "c3", "Email": "fine@x.io"})
    result = source.publish("contact", FIELDS)
    assert (result.applied.counts.changed, result.applied.counts.quarantined) == (2, 1)
    assert sorted(source.records("contact")) == ["c1", "c3"]
    [bad] = source.quarantined()
    assert (bad.record_key, bad.stage, bad.payload["OptOut"]) == ("c2", "apply", "maybe")
    assert bad.reason == "email_opt_out: cannot convert OptOut value 'maybe' to boolean (mapping version 1)"
    apply_and_resolve(source.rt, source.tenant_id, result.version.id, trigger="manual")
    assert len(source.quarantined()) == 1  # re-applying does not quarantine it twice


def test_a_deleted_source_record_emits_a_delete_event(source):
    source.land({"id": "c1", "Email": "a@x.io"})
    version = source.publish("contact", FIELDS).version
    source.land({"id": "c1", "Email": "a@x.io"}, deleted=("c1",))
    report = apply_and_resolve(source.rt, source.tenant_id, version.id, trigger="sync", incremental=True)
    assert report.counts.deleted == 1
    assert [e.op for e in source.events("contact")] == ["upsert", "delete"]
    assert source.records("contact") == {}
    assert source.change_log("contact")[-1].after is None


def test_consumers_resume_reading_events_from_their_cursor(source):
    from autonomos.services.records import read_events

    source.land(*({"id": f"c{i}", "Email": f"p{i}@x.io"} for i in range(5)))
    source.publish("contact", FIELDS)
    first = read_events(source.rt, source.tenant_id, entity="contact", limit=2)
    rest = read_events(source.rt, source.tenant_id, entity="contact", after=first.next_cursor)
    assert [e["record_key"] for e in first.events + rest.events] == [f"c{i}" for i in range(5)]
    assert read_events(source.rt, source.tenant_id, entity="contact", after=rest.next_cursor).events == []
    assert read_events(source.rt, source.tenant_id, entity="account").events == []
