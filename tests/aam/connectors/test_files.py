"""The files connector against real files: types, keys, malformed input, checkpoints, skipping."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path


import orjson

from autonomos.aam.connectors import BadRecord, RecordBatch, RecordMessage, StateMessage, connector_class
from autonomos.aam.sync.landing import canonical_json, record_key
from autonomos.engines.duckdb import ephemeral_duckdb

CASES = Path(__file__).parent / "cases"


def expand(messages):
    """Record batches as the records they stand for, in order (other messages unchanged)."""
    for message in messages:
        if isinstance(message, RecordBatch):
            yield from (RecordMessage(message.stream, orjson.loads(p)) for p in message.payloads)
        else:
            yield message


def run(config: dict, state: dict | None = None, mode: str = "incremental"):
    connector = connector_class("files")(config)
    spec = connector.discover()[0]
    messages = list(expand(connector.read(spec, state, mode)))
    records = [m for m in messages if isinstance(m, RecordMessage)]
    bad = [m for m in messages if isinstance(m, BadRecord)]
    states = [m.state for m in messages if isinstance(m, StateMessage)]
    return spec, records, bad, states


def test_csv_strings_keep_leading_zeros_and_discover_says_what_they_look_like():
    spec, records, bad, states = run({"path": str(CASES / "accounts.csv"), "primary_key": ["id"]})
    assert spec.name == "accounts" and spec.primary_key == ("id",) and not spec.content_key
    assert {f.name: f.type for f in spec.fields} == {"id": "string", "name": "string", "zip": "string"}
    assert [r.data for r in records] == [
        {"id": "00123", "name": "Acme", "zip": "01234"}, {"id": "00124", "name": "Globex", "zip": None}]
    assert bad == [] and states[-1]["files"][str(CASES / "accounts.csv")]["done"]


def test_a_file_without_a_declared_key_is_content_keyed(tmp_path):
    (tmp_path / "people.csv").write_text("name;age\nAda;36\n")
    spec, records, _, _ = run({"path": str(tmp_path / "*.csv"), "stream": "people"})
    assert spec.content_key and spec.primary_key == ()
    assert {f.name: f.type for f in spec.fields} == {"name": "string", "age": "integer"}
    assert records[0].data == {"name": "Ada", "age": "36"}


def test_every_malformed_kind_is_a_bad_record_and_good_rows_still_come(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(
        b"id,name,city\n00001,Alice,Paris\n00002,Bob\xff\xfe,Berlin\n00003,Carol,Rome,extra\n"
        b"00004,Dan\n00005," + b"x" * (10 * 1024 * 1024) + b",Oslo\n,NoKey,Lima\n00006,Eve,Madrid\n"
    )
    _, records, bad, _ = run({"path": str(path), "primary_key": ["id"]})
    assert [r.data["id"] for r in records] == ["00001", "00006"]
    reasons = " | ".join(b.reason for b in bad)
    assert len(bad) == 5, reasons
    assert 'field "name" is 10485760 bytes' in reasons and "raw truncated" in reasons
    assert "missing key field(s) id" in reasons
    assert "invalid encoding" in reasons and "too many columns" in reasons and "missing columns" in reasons
    encoding = next(b for b in bad if "invalid encoding" in b.reason)
    assert encoding.raw == b"00002,Bob\xff\xfe,Berlin"
    assert all(len(b.raw or b"") <= 64 * 1024 for b in bad)


def test_ndjson_bad_lines_are_bad_records_and_types_are_native(tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"id": 1, "n": 1.5, "ok": true}\n{oops\n[1, 2]\n{"id": 2, "n": 2, "ok": false}\n{"id": "\xff"}\n')
    spec, records, bad, _ = run({"path": str(path), "primary_key": ["id"]})
    assert [r.data for r in records] == [{"id": 1, "n": 1.5, "ok": True}, {"id": 2, "n": 2, "ok": False}]
    assert sorted(b.reason.split(":")[0] for b in bad) == [
        "JSON line is a list, not an object", "NDJSON invalid encoding", "invalid JSON line"]
    assert {f.name: f.type for f in spec.fields}["ok"] == "boolean"


def test_nested_json_is_flattened_in_discover():
    spec, records, _, _ = run({"path": str(CASES / "companies.ndjson")})
    types = {f.name: (f.type, f.path) for f in spec.fields}
    assert types["address"] == ("object", ())
    assert types["address.city"] == ("string", ("address", "city"))
    assert types["address.geo.lat"] == ("number", ("address", "geo", "lat"))
    assert types["signed"] == ("date", ()) and types["tags"] == ("array", ()) and types["id"] == ("integer", ())
    assert records[0].data["address"] == {"city": "Paris", "geo": {"lat": 48.8}}


def test_json_array_single_object_and_invalid_file(tmp_path):
    (tmp_path / "a.json").write_text('[{"id": "007", "v": {"x": 1}}, {"id": "008", "v": null}]')
    (tmp_path / "b.json").write_text('{"id": "009", "v": {"x": 2}}')
    (tmp_path / "c.json").write_text('[{"id": "010"')
    spec, records, bad, _ = run({"path": str(tmp_path / "*.json"), "stream": "things"})
    assert [r.data["id"] for r in records] == ["007", "008", "009"]
    assert len(bad) == 1 and bad[0].reason.startswith("json file could not be read")
    assert ("v.x", "integer") in {(f.name, f.type) for f in spec.fields}


def test_parquet_keeps_types_as_json_values(tmp_path):
    path = tmp_path / "orders.parquet"
    with ephemeral_duckdb(allow_file_access=True) as conn:
        conn.execute(
            f"COPY (SELECT '00042' AS id, 3::INTEGER AS qty, 12.50::DECIMAL(10,2) AS amount, DATE '2024-05-01' AS day, "
            f"TIMESTAMP '2024-05-01 10:30:00' AS at, true AS paid, {{'city': 'Oslo'}} AS ship) TO '{path}' (FORMAT parquet)"
        )
    spec, records, _, _ = run({"path": str(path), "primary_key": ["id"]})
    assert records[0].data == {"id": "00042", "qty": 3, "amount": "12.50", "day": "2024-05-01",
                               "at": "2024-05-01T10:30:00", "paid": True, "ship": {"city": "Oslo"}}
    json.dumps(records[0].data)
    assert {f.name: f.type for f in spec.fields} == {
        "id": "string", "qty": "integer", "amount": "number", "day": "date", "at": "datetime",
        "paid": "boolean", "ship": "object", "ship.city": "string"}


def test_checkpoints_resume_after_the_last_one_with_fewer_rows(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id,v\n" + "".join(f"{i:05d},{i}\n" for i in range(2500)))
    config = {"path": str(path), "primary_key": ["id"], "checkpoint_every": 1000}
    connector = connector_class("files")(config)
    spec = connector.discover()[0]
    seen, checkpoint = [], None
    for message in expand(connector.read(spec, None)):
        if isinstance(message, StateMessage):
            checkpoint = message.state
            if len(seen) == 2000:
                break  # a crash right after the second checkpoint
        else:
            seen.append(message.data["id"])
    _, resumed, _, states = run(config, checkpoint)
    assert len(resumed) == 500 < 2500
    assert seen + [r.data["id"] for r in resumed] == [f"{i:05d}" for i in range(2500)]
    assert states[-1]["files"][str(path)] == {**states[-1]["files"][str(path)], "rows_done": 2500, "done": True}


def test_unchanged_files_are_skipped_and_changed_ones_read_again(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.csv").write_text("id\n1\n2\n")
    config = {"path": str(tmp_path / "*.csv"), "stream": "ids"}
    _, first, _, states = run(config)
    assert len(first) == 4
    _, again, _, states2 = run(config, states[-1])
    assert again == [] and states2[-1] == states[-1]
    (tmp_path / "b.csv").write_text("id\n1\n2\n3\n")
    os.utime(tmp_path / "b.csv", ns=(time.time_ns(), time.time_ns() + 10**9))
    _, changed, _, _ = run(config, states[-1])
    assert [r.data["id"] for r in changed] == ["1", "2", "3"]
    _, everything, _, _ = run(config, states[-1], mode="full")
    assert len(everything) == 5


def test_check_says_whether_files_match(tmp_path):
    files = connector_class("files")
    assert not files({"path": str(tmp_path / "none*.csv")}).check().ok
    assert files({"path": str(CASES / "*.csv")}).check().ok


def test_csv_rows_arrive_in_bulk_as_the_same_bytes_the_per_record_path_would_hash(tmp_path):
    values = ['plain', 'quote " and comma ,', 'back\\slash', 'tab\tand\nnewline', 'ctrl \x01\x1f end', 'é 😀 \u2028',
              '', '00123']
    path = tmp_path / "tricky.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["b", "a", "Z key"])
        writer.writerows([(v, f"{i:03d}", f"k{i}") for i, v in enumerate(values)])
    connector = connector_class("files")({"path": str(path), "primary_key": ["a", "Z key"]})
    spec = connector.discover()[0]
    batches = [m for m in connector.read(spec, None) if isinstance(m, RecordBatch)]
    assert sum(len(b) for b in batches) == len(values)
    for batch in batches:
        for payload, key in zip(batch.payloads, batch.keys):
            data = orjson.loads(payload)
            if "\\u00" not in payload:  # the lander re-serialises these (hex case of escapes may differ)
                assert payload.encode() == canonical_json(data)
            if "\\u00" not in key:
                assert key == record_key(spec, data, canonical_json(data))


def test_a_checkpoint_inside_a_record_batch_cuts_it_at_the_exact_row(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id\n" + "".join(f"{i}\n" for i in range(25)))
    connector = connector_class("files")({"path": str(path), "primary_key": ["id"], "checkpoint_every": 10})
    spec = connector.discover()[0]
    rows_before_state, rows = [], 0
    for message in connector.read(spec, None):
        if isinstance(message, StateMessage):
            rows_before_state.append(rows)
        else:
            rows += len(message)
    assert rows_before_state == [10, 20, 25]
