"""Profiles: exact counts on small literal data, every pattern, nested paths, stable
fingerprints, snapshots of landed records in Postgres, and speed."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import pytest
from sqlalchemy import insert, select

from autonomos.dcl.profiling import PATTERNS, fingerprint, profile_records, profile_samples
from autonomos.dcl.profiling.patterns import PREDICATES
from autonomos.errors import NotFound
from autonomos.services import connections
from autonomos.services.profiling import profile_stream
from autonomos.store.tables import EmbeddingOutbox, RawRecord, SchemaSnapshot

PATTERN_CASES = {
    "email": (["ana@example.com", "b.o+x@mail.co.uk"], ["ana@", "not an email"]),
    "url": (["https://example.com/a?b=1", "www.acme.io"], ["example", "ftp:/x"]),
    "phone": (["+1 (415) 555-0100", "020 7946 0958"], ["12", "2024-01-02"]),
    "iso_date": (["2024-02-29", "1999-12-31"], ["2024-13-01", "29/02/2024"]),
    "iso_datetime": (["2024-02-29T10:20:30Z", "2024-02-29 10:20:30.123+02:00"], ["2024-02-29", "10:20"]),
    "epoch_seconds": ([1700000000, "1700000000"], [17, 99999999999]),
    "epoch_millis": ([1700000000000, "1700000000123"], [1700000000, 99]),
    "currency_code": (["USD", "EUR"], ["USA", "usd"]),
    "uuid": (["3f2b8f0e-5a3c-4c1e-9f7a-0b1c2d3e4f50", "3F2B8F0E-5A3C-4C1E-9F7A-0B1C2D3E4F50"], ["3f2b8f0e", "x-y"]),
    "id_like": (["0015g00000XyZab", "cus_N3x7kQ9"], ["hello", "a b 123"]),
}


def test_every_pattern_has_a_case_and_a_predicate():
    assert set(PATTERN_CASES) == set(PATTERNS) == set(PREDICATES)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_detection(pattern):
    positives, negatives = PATTERN_CASES[pattern]
    records = [{"v": v} for v in positives + negatives]
    field = profile_records(records)["fields"][0]
    assert field["patterns"].get(pattern) == len(positives) / len(records), field["patterns"]


def test_counts_are_exact_on_a_small_literal_dataset():
    records = [{"a": 1, "b": "x", "c": None}, {"a": 2, "b": "x"}, {"a": 2, "b": None, "c": True}, {"a": 5}]
    fields = {f["path"]: f for f in profile_records(records)["fields"]}
    assert fields["a"] | {"top_values": None} == {
        "path": "a", "type": "integer", "count": 4, "null_share": 0.0, "distinct": 3, "min": 1, "max": 5,
        "min_length": 1, "max_length": 1, "top_values": None, "patterns": {}}
    assert fields["a"]["top_values"][0] == {"value": "2", "count": 2}
    assert (fields["b"]["null_share"], fields["b"]["distinct"], fields["b"]["type"]) == (0.5, 1, "string")
    assert (fields["c"]["null_share"], fields["c"]["type"], fields["c"]["count"]) == (0.75, "boolean", 1)


def test_types_are_inferred_from_values():
    records = [{"n": 1.5, "d": "2024-01-01", "t": "2024-01-01T00:00:00Z", "o": {}, "l": [1], "m": 1},
               {"n": 2, "d": "2024-01-02", "t": "2024-01-01T00:00:01Z", "o": {}, "l": [], "m": "one"}]
    types = {f["path"]: f["type"] for f in profile_records(records)["fields"]}
    assert types == {"n": "number", "d": "date", "t": "datetime", "o": "object", "l": "array", "m": "string"}


def test_nested_json_is_flattened_into_dotted_paths():
    records = [{"id": 1, "address": {"city": "Paris", "geo": {"lat": 48.8}}}, {"id": 2, "address": {"city": "Lyon"}}]
    fields = {f["path"]: f for f in profile_records(records)["fields"]}
    assert set(fields) == {"id", "address.city", "address.geo.lat"}
    assert fields["address.geo.lat"]["null_share"] == 0.5 and fields["address.city"]["distinct"] == 2


def test_fingerprint_is_stable_under_field_order_and_changes_with_types():
    a = [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]
    assert fingerprint(a) == fingerprint(a[::-1])
    assert fingerprint(a) != fingerprint([{"name": "id", "type": "string"}, a[1]])


def test_schema_file_samples_are_profiled_per_table():
    schema = {"system": "x", "tables": [{"name": "people", "fields": [
        {"name": "mail", "type": "string", "samples": ["a@b.io", "c@d.io", None]},
        {"name": "nosamples", "type": "string"}]}]}
    profile = profile_samples(schema)["people"]
    assert [(f["path"], f["patterns"], f["null_share"]) for f in profile["fields"]] == [
        ("mail", {"email": 1.0}, round(1 / 3, 4))]


def _land(rt, tenant, records):
    conn = connections.create_connection(rt, tenant.id, provider="files", name=f"f-{uuid.uuid4().hex[:6]}",
                                          config={}, actor="test")
    with rt.db.tenant(tenant.id) as session:
        session.execute(insert(RawRecord), [
            {"tenant_id": tenant.id, "connection_id": uuid.UUID(conn.id), "stream": "people", "record_key": key,
             "version": version, "payload": payload, "is_deleted": deleted,
             "content_hash": hashlib.sha256(json.dumps(payload).encode()).digest()}
            for key, version, payload, deleted in records])
    return conn


def test_profile_stream_uses_the_latest_live_version_and_stores_a_snapshot(rt, make_tenant):
    tenant = make_tenant("prof")
    conn = _land(rt, tenant, [
        ("1", 1, {"email": "old@x.io", "age": "n/a"}, False), ("1", 2, {"email": "new@x.io", "age": 30}, False),
        ("2", 1, {"email": "b@x.io", "age": 41, "address": {"city": "Oslo"}}, False),
        ("3", 1, {"email": "gone@x.io", "age": 1}, False), ("3", 2, {"email": "gone@x.io", "age": 1}, True),
    ])
    first = profile_stream(rt, tenant.id, conn.name, "people")
    fields = {f["path"]: f for f in first.profile["fields"]}
    assert first.created and first.profile["records"] == 2
    assert fields["age"]["type"] == "integer" and fields["age"]["min"] == 30
    assert fields["address.city"]["null_share"] == 0.5
    assert first.fields == [{"name": "address.city", "type": "string"}, {"name": "age", "type": "integer"},
                            {"name": "email", "type": "string"}]
    again = profile_stream(rt, tenant.id, conn.id, "people")
    assert (again.id, again.created) == (first.id, False)
    with rt.db.tenant(tenant.id) as session:
        snapshot = session.get(SchemaSnapshot, first.id)
        assert snapshot.fingerprint == fingerprint(first.fields) and snapshot.profile["records"] == 2
        queued = session.scalars(select(EmbeddingOutbox.item_id).where(EmbeddingOutbox.tenant_id == tenant.id,
                                                                       EmbeddingOutbox.item_kind == "source_field"))
        assert sorted(queued) == sorted(f"{first.id}:{f['name']}" for f in first.fields)
    with pytest.raises(NotFound):
        profile_stream(rt, tenant.id, conn.name, "nothing-landed")


def test_profiling_10k_records_by_50_fields_takes_well_under_a_few_seconds():
    records = [{**{f"f{j}": (i * j) % 997 for j in range(20)}, **{f"s{j}": f"user{i % 300}@ex{j}.com" for j in range(15)},
                **{f"d{j}": f"2024-01-{1 + i % 28:02d}" for j in range(10)},
                "address": {"city": f"c{i % 50}", "zip": f"{i:05d}", "geo": {"lat": i / 7, "lon": -i / 7}},
                "tags": ["a", "b"]} for i in range(10_000)]
    started = time.perf_counter()
    profile = profile_records(records)
    elapsed = time.perf_counter() - started
    assert len(profile["fields"]) == 50
    assert elapsed < 3.0, f"profiling took {elapsed:.2f}s"
