"""Hostile input too big or too specific to generate: each case is one file or source, and each
defect these cases found has its test here (the name says what must hold)."""

from __future__ import annotations

import json

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from autonomos.aam.connectors import RecordMessage, connector_class
from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.dcl.ontology.documents import parse_text
from autonomos.dcl.ontology.exceptions import OntologyFormatError
from autonomos.engines.postgres import drop_database
from autonomos.services import connections, mappings, records, sync
from autonomos.services.worker import run_worker
from autonomos.store.tables import MappingVersion, Quarantine
from tests.conftest import fresh_database, tenant_files
from tests.hostile.conftest import sync_file

MB20 = 20 * 1024 * 1024


@pytest.mark.parametrize("name,data", [
    ("big.ndjson", b'{"id": "a"}\n{"id": "big", "x": "' + b"y" * MB20 + b'"}\n{"id": "b"}\n'),
    ("big.json", b'[{"id": "a"}, {"id": "big", "x": "' + b"y" * MB20 + b'"}, {"id": "b"}]'),
    ("big.csv", b"id,x\na,1\nbig," + b"y" * MB20 + b"\nb,2\n"),
])
def test_a_20_mb_field_is_quarantined_and_its_neighbours_land(rt, make_tenant, name, data):
    run, landed, reasons = sync_file(rt, make_tenant("big"), name, data)
    assert run.status == "succeeded", run.error
    assert sorted(landed) == ["a", "b"]
    assert len(reasons) == 1 and ("over max_field_bytes" in reasons[0] or "size over maximum" in reasons[0]), reasons


def test_50000_columns_are_refused_with_the_limit_named(rt, make_tenant):
    header = "id," + ",".join(f"c{i}" for i in range(50_000))
    row = "a," + ",".join("1" for _ in range(50_000))
    run, landed, reasons = sync_file(rt, make_tenant("wide"), "wide.csv", f"{header}\n{row}\n".encode())
    assert run.status == "succeeded", run.error
    assert landed == {} and len(reasons) == 1
    assert "50001 columns, over the limit of" in reasons[0] and "AOS_MAX_COLUMNS" in reasons[0]


@pytest.mark.parametrize("name,data", [
    ("empty.csv", b""), ("empty.ndjson", b""), ("empty.json", b""), ("header.csv", b"id,name\n"),
    ("header-no-newline.csv", b"id,name"), ("empty-array.json", b"[]"),
])
def test_empty_files_and_a_header_only_csv_sync_nothing_and_succeed(rt, make_tenant, name, data):
    run, landed, reasons = sync_file(rt, make_tenant("empty"), name, data)
    assert (run.status, landed, reasons) == ("succeeded", {}, [])


def test_an_empty_parquet_file_is_quarantined_with_its_reason(rt, make_tenant):
    run, landed, reasons = sync_file(rt, make_tenant("empty"), "empty.parquet", b"")
    assert run.status == "succeeded" and landed == {}
    assert len(reasons) == 1 and "too small to be a Parquet file" in reasons[0]


def test_a_parquet_file_is_readable_through_a_tenants_sandboxed_connection(rt, make_tenant):
    """Defect: the Parquet scan set the time zone on a sandboxed DuckDB whose configuration is
    locked, so every Parquet file of every tenant was quarantined whole."""
    tenant = make_tenant("parquet")
    path = tenant_files(rt, tenant) / "p.parquet"
    with duckdb.connect() as conn:
        conn.execute(f"""COPY (SELECT * FROM (VALUES ('a', DATE '2024-01-01', 1.5::DOUBLE),
                        ('y0', DATE '0000-01-01', 2.0), ('y10000', DATE '10000-01-01', 3.0),
                        ('nan', DATE '2024-01-01', 'nan'::DOUBLE), ('b', NULL, 4.0)) t(id, d, x)) TO '{path}' (FORMAT parquet)""")
    run, landed, reasons = sync_file(rt, tenant, "p.parquet")
    assert run.status == "succeeded", run.error
    assert landed["a"] == {"id": "a", "d": "2024-01-01", "x": 1.5} and landed["b"] == {"id": "b", "d": None, "x": 4.0}
    assert sorted(landed) == ["a", "b", "y0", "y10000"]  # out-of-range dates land as text; apply judges them
    assert [r.split(":")[0] for r in reasons] == ["non-finite number"]


def test_one_lone_surrogate_in_a_json_array_does_not_cost_the_other_elements(rt, make_tenant):
    """Defect: DuckDB refuses a JSON file holding ``"\\ud800"`` (valid JSON syntax), and the whole
    file went to quarantine with every good element in it."""
    data = b'[{"id": "a", "n": 1}, {"id": "bad", "s": "x\\ud800"}, {"id": "b", "n": 2}]'
    run, landed, reasons = sync_file(rt, make_tenant("surrogate"), "s.json", data)
    assert run.status == "succeeded", run.error
    assert landed == {"a": {"id": "a", "n": 1}, "b": {"id": "b", "n": 2}}
    assert reasons == ["invalid Unicode: a string holds a lone surrogate (\\ud800-\\udfff), which is not a character"]


def test_an_integer_beyond_64_bits_is_quarantined_with_a_reason_and_its_text(rt, make_tenant):
    """Defect: the reason was orjson's 'Integer exceeds 64-bit range' with nothing kept to fix the record by."""
    tenant = make_tenant("bigint")
    data = b'{"id": "a", "n": 18446744073709551615}\n{"id": "big", "n": 123456789012345678901234567890}\n'
    run, landed, reasons = sync_file(rt, tenant, "n.ndjson", data)
    assert sorted(landed) == ["a"] and reasons[0].startswith("number out of range: an integer beyond 64 bits")
    with rt.db.tenant(tenant.id) as session:
        raw = session.scalar(select(Quarantine.raw).where(Quarantine.sync_run_id == run.id))
    assert b"123456789012345678901234567890" in bytes(raw)


ROWS = [{"id": "ok", "na\\me": "Ada", "x'); DROP TABLE t;--": "Lovelace", "created": "2024-01-05T10:00:00Z"},
        {"id": "y0", "na\\me": "Y", "created": "0000-01-01T00:00:00Z"},
        {"id": "y10000", "created": "10000-01-01T00:00:00Z"},
        {"id": "bc", "created": "-0001-01-01"},
        {"id": "inj", "na\\me": "'; DROP TABLE canonical_records;--", "created": "2024-01-05"}]
FIELDS = [{"source_field": "id", "canonical_field": "id"}, {"source_field": "na\\\\me", "canonical_field": "first_name"},
          {"source_field": "x'); DROP TABLE t;--", "canonical_field": "last_name"},
          {"source_field": "created", "canonical_field": "created_at"}]


@pytest.fixture
def landed_contacts(rt, make_tenant):
    tenant = make_tenant("apply")
    path = tenant_files(rt, tenant) / "c.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    connections.create_connection(rt, tenant.id, provider="files", name="src", actor="test",
                                  config={"path": str(path), "stream": "contacts", "primary_key": ["id"]})
    sync.start_sync(rt, tenant.id, "src", actor="test")
    run_worker(rt, burst=True)
    return tenant


def test_dates_outside_years_1_to_9999_are_quarantined_at_apply_and_the_rest_applies(rt, landed_contacts):
    """Defect: years 0, -1 and 10000 became canonical datetimes like '-1-01-01T00:00:00Z', text no
    ISO 8601 reader, JSON consumer or most date types accept."""
    tenant = landed_contacts
    mappings.publish_fields(rt, tenant.id, "src", "contacts", "contact", FIELDS, actor="test")
    current = {r["record_key"]: r["data"] for r in records.list_records(rt, tenant.id, "contact")}
    assert current == {"ok": {"id": "ok", "first_name": "Ada", "last_name": "Lovelace", "created_at": "2024-01-05T10:00:00Z"},
                       "inj": {"id": "inj", "first_name": "'; DROP TABLE canonical_records;--",
                               "created_at": "2024-01-05T00:00:00Z"}}
    with rt.db.tenant(tenant.id) as session:
        reasons = sorted(session.scalars(select(Quarantine.reason).where(Quarantine.stream == "contacts")))
    assert len(reasons) == 3 and all("to datetime in years 1 to 9999" in r for r in reasons), reasons
    assert any("'0000-01-01T00:00:00Z'" in r for r in reasons) and any("'10000-01-01T00:00:00Z'" in r for r in reasons)


@pytest.mark.parametrize("fields,words", [
    ([{"source_field": "na\\me", "canonical_field": "first_name"}], "has a backslash before 'm'"),
    ([{"source_field": "id", "canonical_field": "first_name", "transform": [{"op": "map", "values": 3}]}],
     "transform map has a malformed argument"),
    ([{"source_field": "id", "canonical_field": "no_such_field"}], "canonical field not in the entity"),
    (["id"], "every field is an object"),
    ({"id": "first_name"}, "fields must be a list"),
])
def test_a_malformed_mapping_is_refused_before_anything_is_written(rt, landed_contacts, fields, words):
    """Defects: a path with a stray backslash silently read another field; a non-object entry or
    a malformed step crashed (AttributeError) or failed only in the backfill, after the version was written."""
    tenant = landed_contacts
    with pytest.raises(MappingError) as refused:
        mappings.publish_fields(rt, tenant.id, "src", "contacts", "contact", fields, actor="test")
    assert words in str(refused.value)
    with rt.db.tenant(tenant.id) as session:
        assert session.scalar(select(sa.func.count()).select_from(MappingVersion)) == 0




BOMB = "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefg", "bcdefgh"))
"""A YAML alias bomb: each level nine times the one before."""


@pytest.mark.parametrize("text,words", [
    ("[" * 10_000 + "]" * 10_000, "nested too deeply"),
    ("a: &a [x, x, x, x, x, x, x, x, x]\n" + BOMB + "name: crm\ndescription: *h\ntables: [{name: t, fields: [{name: f}]}]\n",
     "'description' must be text"),
    ("name: crm\ntables: [{name: t, fields: [{name: f, type: [1]}]}]\n", "unknown type [1]"),
    ("name: crm\ntables: [{name: t, fields: [{name: f, description: {a: 1}}]}]\n", "'description' must be text"),
])
def test_a_hostile_ontology_file_is_refused_with_its_reason(text, words):
    """Defects: deep nesting raised RecursionError, a list as a type raised TypeError, and a YAML
    alias bomb as a description expanded into a string of hundreds of megabytes."""
    with pytest.raises(OntologyFormatError) as refused:
        parse_text(text)
    assert words in str(refused.value)


@pytest.fixture
def pg_source(source_server_url):
    url = fresh_database(source_server_url, "aos_src")
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    yield url, engine
    engine.dispose()
    drop_database(source_server_url, sa.make_url(url).database)


def test_postgres_dates_python_cannot_hold_arrive_as_text_not_a_failed_read(pg_source):
    """Defect: psycopg raised DataError on 'infinity' or a BC date and the whole read failed."""
    url, engine = pg_source
    table = "we'ird; DROP TABLE x;--"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{table}" (id int PRIMARY KEY, "col""q" text, d date, ts timestamptz)'))
        conn.execute(sa.text(f"""INSERT INTO "{table}" VALUES (1, 'ok', '2024-01-01', '2024-01-01'),
            (2, 'bc', '0044-03-15 BC', NULL), (3, 'inf', 'infinity', '-infinity'), (4, 'y10000', '10000-01-01', NULL)"""))
        conn.execute(sa.text("CREATE ROLE hostile_reader LOGIN PASSWORD 'pw'"))
        conn.execute(sa.text(f'GRANT SELECT ON "{table}" TO hostile_reader'))
    reader = sa.make_url(url).set(username="hostile_reader", password="pw").render_as_string(hide_password=False)
    connector = connector_class("postgres")({"url": reader})
    try:
        spec = next(s for s in connector.discover() if s.name == table)
        data = [m.data for m in connector.read(spec, None, "full") if isinstance(m, RecordMessage)]
    finally:
        connector.close()
        with engine.begin() as conn:
            conn.execute(sa.text("DROP OWNED BY hostile_reader"))
            conn.execute(sa.text("DROP ROLE hostile_reader"))
    assert [(r["id"], r['col"q'], r["d"]) for r in data] == [
        (1, "ok", "2024-01-01"), (2, "bc", "0044-03-15 BC"), (3, "inf", "infinity"), (4, "y10000", "10000-01-01")]
    assert data[2]["ts"] == "-infinity"
