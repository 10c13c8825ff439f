"""Parallel apply writers: the same canonical output as one writer, events in read order.

Small batches on several writers keep many batches in flight at once, so these runs exercise
the ordered commits (``ordered_writers``) and the event ``seq`` values drawn in read order.
"""

from __future__ import annotations

from sqlalchemy import select

from autonomos.dcl.apply import apply_version
from autonomos.store.tables import CanonicalRecord
from tests.dcl.apply.conftest import Source, make_source

FIELDS = [
    {"source_field": "id", "canonical_field": "id"},
    {"source_field": "Email", "canonical_field": "email", "transform": [{"op": "trim"}, {"op": "lower"}]},
    {"source_field": "Name", "canonical_field": "first_name", "transform": {"op": "split", "part": 0}},
    {"source_field": "OptOut", "canonical_field": "email_opt_out"},
]
KEYS = [f"a{i:03d}" for i in range(120)]


def _contact(key: str, round_: int) -> dict:
    return {"id": key, "Email": f" {key}.{round_}@Example.io ", "Name": f"Ada{round_} King",
            "OptOut": "maybe" if key == "a050" and round_ == 2 else str(round_ % 2 == 0).lower(), "Extra": round_}


def _rounds(source: Source, writers: int) -> list[str]:
    """Backfill, then two incremental applies of changed, deleted and new records; statuses."""
    source.land(*[_contact(k, 1) for k in KEYS])
    version = source.publish_only("contact", FIELDS)
    statuses = []
    for round_ in (1, 2, 3):
        if round_ > 1:
            changed = KEYS[round_::3] + [f"b{round_}{i:02d}" for i in range(15)]
            gone = [k for k in KEYS[round_ + 1::11] if k not in changed]
            source.land(*[_contact(k, round_) for k in changed + gone], deleted=tuple(gone))
        report = apply_version(source.rt.db, source.tenant_id, version.id, trigger="test", incremental=round_ > 1,
                               batch_size=7, writers=writers)
        statuses.append(report.status)
    return statuses


def _output(source: Source) -> dict[str, object]:
    """Everything apply wrote, without the ids that name the tenant or the connection."""
    events = source.events("contact")
    per_record: dict[str, list] = {}
    for e in events:
        per_record.setdefault(e.record_key, []).append((e.op, e.data, e.unknown_fields))
    with source.rt.db.tenant(source.tenant_id) as session:
        records = {r.record_key: (r.data, r.is_deleted, r.version)
                   for r in session.scalars(select(CanonicalRecord).where(CanonicalRecord.entity == "contact"))}
    keys_of = {e.id: e.record_key for e in events}
    changes: dict[str, list] = {}
    for change in source.change_log("contact"):
        changes.setdefault(keys_of[change.event_id], []).append((change.before, change.after, change.diff))
    quarantined = sorted((q.record_key, q.reason) for q in source.quarantined())
    return {"events": per_record, "records": records, "changes": changes, "quarantined": quarantined}


def test_several_writers_write_exactly_what_one_writer_writes(rt, make_tenant):
    one = make_source(rt, make_tenant("one").id, "crm", "contacts", "id")
    many = make_source(rt, make_tenant("many").id, "crm", "contacts", "id")
    assert _rounds(one, writers=1) == _rounds(many, writers=3) == ["succeeded"] * 3
    expected, got = _output(one), _output(many)
    assert got == expected
    assert sum(len(v) for v in got["events"].values()) > len(KEYS) + 30  # several events for many records
    assert got["quarantined"] == [("a050", got["quarantined"][0][1])]


def test_events_follow_read_order_and_each_records_events_stay_in_order(rt, make_tenant):
    source = make_source(rt, make_tenant("order").id, "crm", "contacts", "id")
    _rounds(source, writers=3)
    events = source.events("contact")  # in seq order
    backfill = events[:len(KEYS)]
    assert [e.record_key for e in backfill] == KEYS  # batches in key order, seq drawn in read order
    assert [e.raw_record_id for e in events[len(KEYS):]] == sorted(e.raw_record_id for e in events[len(KEYS):])
    for key, history in _output(source)["events"].items():
        rounds = [data.get("first_name") for op, data, _ in history if op == "upsert"]
        assert rounds == sorted(rounds), key
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))


def test_a_newer_version_supersedes_a_parallel_apply_before_it_writes(rt, make_tenant):
    source = make_source(rt, make_tenant("superseded").id, "crm", "contacts", "id")
    source.land(*[_contact(k, 1) for k in KEYS])
    old = source.publish_only("contact", FIELDS)
    source.publish_only("contact", FIELDS[:2])
    report = apply_version(rt.db, source.tenant_id, old.id, trigger="test", batch_size=7, writers=3)
    assert (report.status, report.counts.changed) == ("superseded", 0)
    assert source.events("contact") == []
