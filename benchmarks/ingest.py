"""Ingest benchmark: land a CRM-like file through the real sync path, and load the same file
with dlt on the same PostgreSQL, in one run.

Ours: sync run row -> RQ job -> worker (in-process SimpleWorker) -> files connector (DuckDB
renders rows as canonical JSON with their keys) -> content hashing -> COPY into staging ->
set-based versioned INSERT under RLS -> cursor in the same transaction, on AOS_SYNC_WRITERS
connections committing in read order. Counts are checked in Postgres afterwards. With
``--resync`` the same file is touched and synced again: every row is read, hashed and compared,
and no version may be written (``resync_seconds``).

dlt: the same file read with the csv module into a dlt resource with the same primary key,
loaded into the same server with dlt's default loader (``insert_values``) and with its COPY
loader (``csv``), each into a fresh dataset; ``dlt_records_per_s`` is the faster of the two.

The incremental case (unless ``--skip-incremental``): after the first full load, 1% of the
accounts (every 100th) are renamed and their ``LastModifiedDate`` moved on, the rest unchanged,
and each tool re-syncs in its incremental mode. Ours: the same connection's next sync (a user's
default, incremental): the replaced file is read again, every row hashed and compared with its
current version, and only the changed rows become new versions. dlt: a second pipeline, set up
as dlt's documentation recommends for records that change, a ``dlt.sources.incremental`` cursor
on ``LastModifiedDate`` with the ``merge`` write disposition on ``Id`` (its faster loader of the
full case); its first load is timed too (``first_load_seconds``), then the changed export is
loaded. Afterwards both destinations' current (Id, Name) rows are compared with the changed
export: ``correct_rows`` must equal ``records`` and ``changed_correct`` the renamed count.

Every measured load starts from a settled server (``settle``: VACUUM, CHECKPOINT), so no loader
pays for the cleanup of the one before it (each run purges its tenant, leaving a million dead
rows for autovacuum, which otherwise ran during the next load and cost it up to 40%).

    python benchmarks/ingest.py --records 1000000 --resync --json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from typing import Any

from sqlalchemy import func, select, text

from autonomos.services.worker import run_worker
from autonomos.config import load_settings
from autonomos.engines.duckdb import ephemeral_duckdb
from autonomos.engines.postgres import libpq_dsn, to_sqlalchemy_url
from autonomos.services import connections, platform, sync, tenants
from autonomos.runtime import Runtime
from autonomos.store.tables import RawRecord

COLUMNS = ["Id", "Name", "Type", "Industry", "AnnualRevenue", "NumberOfEmployees", "Phone", "Website",
           "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry", "OwnerId",
           "CreatedDate", "LastModifiedDate"]
CHANGED_EVERY = 100
"""The incremental case renames every 100th account (1%) and moves its LastModifiedDate on."""


def generate(path: Path, records: int, *, changed: bool = False) -> None:
    """A Salesforce-style Account export with realistic-looking values (deterministic).

    ``changed``: the same export after every ``CHANGED_EVERY``-th account was renamed, with a
    later ``LastModifiedDate``; every other line is byte for byte the same."""
    name = ("(['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne'])[1 + i % 8]"
            " || ' ' || (['Holdings', 'Labs', 'Logistics', 'Foods', 'Bio', 'Cloudworks'])[1 + (i // 8) % 6]"
            " || ' ' || i")
    modified = "TIMESTAMP '2024-01-01' + INTERVAL (i % 100000) MINUTE"
    if changed:
        name = f"CASE WHEN i % {CHANGED_EVERY} = 0 THEN {name} || ' (renamed)' ELSE {name} END"
        modified = (f"CASE WHEN i % {CHANGED_EVERY} = 0 THEN TIMESTAMP '2025-06-01' + INTERVAL (i % 100000) MINUTE"
                    f" ELSE {modified} END")
    with ephemeral_duckdb("2GB", allow_file_access=True) as db:
        db.execute(f"""
            COPY (
              SELECT
                '001' || lpad(i::VARCHAR, 15, '0') AS "Id",
                {name} AS "Name",
                (['Customer - Direct', 'Customer - Channel', 'Prospect', 'Partner'])[1 + i % 4] AS "Type",
                (['Technology', 'Retail', 'Healthcare', 'Finance', 'Energy'])[1 + (i * 7) % 5] AS "Industry",
                ((i * 7919) % 50000000)::VARCHAR AS "AnnualRevenue",
                ((i * 31) % 20000)::VARCHAR AS "NumberOfEmployees",
                '+1 (' || lpad(((i * 13) % 1000)::VARCHAR, 3, '0') || ') 555-' || lpad((i % 10000)::VARCHAR, 4, '0')
                  AS "Phone",
                'https://www.example-' || i || '.com' AS "Website",
                (i % 9999 + 1) || ' Market Street' AS "BillingStreet",
                (['San Francisco', 'Austin', 'Boston', 'Denver', 'Chicago'])[1 + i % 5] AS "BillingCity",
                (['CA', 'TX', 'MA', 'CO', 'IL'])[1 + i % 5] AS "BillingState",
                lpad((i % 99999)::VARCHAR, 5, '0') AS "BillingPostalCode",
                'USA' AS "BillingCountry",
                '005' || lpad((i % 500)::VARCHAR, 15, '0') AS "OwnerId",
                strftime(TIMESTAMP '2020-01-01' + INTERVAL (i % 100000) MINUTE, '%Y-%m-%dT%H:%M:%S.000+0000')
                  AS "CreatedDate",
                strftime({modified}, '%Y-%m-%dT%H:%M:%S.000+0000') AS "LastModifiedDate"
              FROM range({records}) t(i)
            ) TO '{path}' (HEADER, DELIMITER ',')
        """)


def settle(database_url: str) -> None:
    """Start each measured load from a quiet server: VACUUM what earlier loads (or the last
    run's purge) left behind and CHECKPOINT, so neither loader pays for the other's cleanup.

    Needs the owner's rights (the embedded server's superuser has them); elsewhere what is not
    allowed is skipped with a note.
    """
    import psycopg

    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        for statement in ("VACUUM", "CHECKPOINT"):
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                print(f"settle: {statement} skipped ({exc.diag.message_primary})", file=sys.stderr)


def ours(rt: Runtime, path: Path, records: int, *, resync: bool = False,
         changed: Path | None = None) -> dict[str, Any]:
    """Seconds of the first sync (and, with ``resync``, of a second sync of the unchanged file);
    with ``changed``, the tenant's file is then replaced by that export and synced incrementally
    (``incremental``: seconds, versions written and the current values checked)."""
    tenant = tenants.create_tenant(rt, f"bench-{uuid.uuid4().hex[:8]}", actor="benchmark")
    folder = Path(rt.settings.files_roots or path.parent) / tenant.slug  # the tenant's files folder
    folder.mkdir(parents=True, exist_ok=True)
    os.link(path, folder / path.name)
    path = folder / path.name
    try:
        connections.create_connection(
            rt, tenant.id, provider="files", name="accounts",
            config={"path": str(path), "format": "csv", "stream": "accounts", "primary_key": ["Id"],
                    "checkpoint_every": rt.settings.sync_batch_size},
            actor="benchmark",
        )
        seconds: dict[str, Any] = {"seconds": _timed_sync(rt, tenant.id, expect_inserted=records)}
        with rt.db.tenant(tenant.id) as session:
            landed, keys = session.execute(select(func.count(), func.count(RawRecord.record_key.distinct()))).one()
        if landed != records or keys != records:
            raise SystemExit(f"count check failed: {landed} versions, {keys} keys, expected {records}")
        if resync:
            os.utime(path)  # same rows, newer file: the connector reads it all again
            seconds["resync_seconds"] = _timed_sync(rt, tenant.id, expect_inserted=0)
        if changed is not None:
            # The export replaced in place, as a scheduled drop would: a new size and mtime, so the
            # incremental sync reads the file again; content hashes decide what is a new version.
            os.link(changed, folder / "incoming.csv")
            os.replace(folder / "incoming.csv", path)
            expected = changed_count(records)
            incremental = _timed_sync(rt, tenant.id, expect_inserted=expected)
            with rt.db.tenant(tenant.id) as session:
                current = session.execute(text(
                    "SELECT r.payload->>'Id', r.payload->>'Name' FROM raw_record_heads h"
                    " JOIN raw_records r ON r.id = h.raw_record_id WHERE NOT h.is_deleted")).all()
            seconds["incremental"] = {"seconds": incremental, "versions_written": expected,
                                      **check_current(current, changed)}
        return seconds
    finally:
        tenants.delete_tenant(rt, tenant.slug, actor="benchmark")


def _timed_sync(rt: Runtime, tenant_id: uuid.UUID, *, expect_inserted: int) -> float:
    settle(rt.database_url)
    started = time.perf_counter()
    run = sync.start_sync(rt, tenant_id, "accounts", actor="benchmark").run
    run_worker(rt, burst=True)
    seconds = time.perf_counter() - started
    final = sync.get_run(rt, tenant_id, run.id)
    if final.status != "succeeded":
        raise SystemExit(f"sync failed: {final.error}")
    if final.counts.get("inserted") != expect_inserted:
        raise SystemExit(f"sync inserted {final.counts.get('inserted')} versions, expected {expect_inserted}")
    return seconds


def changed_count(records: int) -> int:
    """How many accounts ``generate(..., changed=True)`` renames."""
    return len(range(0, records, CHANGED_EVERY))


def check_current(rows: list[tuple[str, str]] | list[Any], source: Path) -> dict[str, int]:
    """Compare a destination's current (Id, Name) rows with the source export: ``rows`` (with
    duplicates, if any), ``correct_rows`` (keys holding the source's name) and
    ``changed_correct`` (of the renamed ones, those holding the new name)."""
    with source.open(newline="") as handle:
        names = {row["Id"]: row["Name"] for row in csv.DictReader(handle)}
    correct = changed = 0
    for key, name in rows:
        if names.get(key) == name:
            correct += 1
            changed += name.endswith(" (renamed)")
    return {"rows": len(rows), "correct_rows": correct, "changed_correct": changed}


def _dlt_pipeline(database_url: str, pipelines_dir: str, dataset: str):  # noqa: ANN202
    """A dlt pipeline into ``dataset`` on our PostgreSQL (a Unix socket too)."""
    import dlt

    url = to_sqlalchemy_url(database_url)
    credentials = {"database": url.database, "username": url.username, "password": url.password or "",
                   "host": url.host or "localhost", "port": url.port or 5432}
    if url.query.get("host"):  # a Unix socket (the embedded server): libpq reads it from the query
        credentials["query"] = {"host": url.query["host"]}
    return dlt.pipeline(pipeline_name=dataset, pipelines_dir=pipelines_dir,
                        destination=dlt.destinations.postgres(credentials=credentials), dataset_name=dataset)


def dlt_load(database_url: str, path: Path, loader_file_format: str) -> float:
    import dlt

    @dlt.resource(name="accounts", primary_key="Id", write_disposition="append")
    def accounts():
        with path.open(newline="") as handle:
            yield from csv.DictReader(handle)

    dataset = f"dlt_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as pipelines_dir:
        pipeline = _dlt_pipeline(database_url, pipelines_dir, dataset)
        settle(database_url)
        started = time.perf_counter()
        pipeline.run(accounts(), loader_file_format=loader_file_format)
        seconds = time.perf_counter() - started
        with pipeline.sql_client() as client:
            loaded = client.execute_sql(f"SELECT count(*) FROM {dataset}.accounts")[0][0]
            client.execute_sql(f"DROP SCHEMA {dataset} CASCADE")
    if loaded != sum(1 for _ in path.open()) - 1:
        raise SystemExit(f"dlt loaded {loaded} rows")
    return seconds


def dlt_incremental(database_url: str, path: Path, changed: Path, loader_file_format: str) -> dict[str, Any]:
    """dlt's incremental loading as its documentation sets it up: a ``dlt.sources.incremental``
    cursor on ``LastModifiedDate`` and the ``merge`` write disposition on the primary key. The
    first run loads ``path`` (timed: ``first_load_seconds``), the second the changed export:
    dlt reads every row, keeps those past the cursor and merges them through its staging dataset
    (timed: ``seconds``)."""
    import dlt

    source = {"path": path}

    @dlt.resource(name="accounts", primary_key="Id", write_disposition="merge")
    def accounts(updated=dlt.sources.incremental("LastModifiedDate")):  # noqa: ANN001, B008
        with source["path"].open(newline="") as handle:
            yield from csv.DictReader(handle)

    dataset = f"dlt_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as pipelines_dir:
        pipeline = _dlt_pipeline(database_url, pipelines_dir, dataset)
        timings = []
        for export in (path, changed):
            source["path"] = export
            settle(database_url)
            started = time.perf_counter()
            pipeline.run(accounts(), loader_file_format=loader_file_format)
            timings.append(time.perf_counter() - started)
        with pipeline.sql_client() as client:
            current = client.execute_sql(f"SELECT id, name FROM {dataset}.accounts")
            merged = client.execute_sql(  # the rows the second load wrote: those past the cursor
                f"SELECT count(*) FROM {dataset}.accounts"
                f" WHERE _dlt_load_id = (SELECT max(load_id) FROM {dataset}._dlt_loads)")[0][0]
            for schema in (dataset, f"{dataset}_staging"):
                client.execute_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return {"first_load_seconds": timings[0], "seconds": timings[1], "loader": loader_file_format,
            "rows_merged": merged, **check_current(current, changed)}


def _rates(case: dict[str, Any], records: int) -> dict[str, Any]:
    """A re-sync's figures, rounded, with ``records_per_s``: source records read and compared
    per second (each tool reads the whole export again)."""
    rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in case.items()}
    return {**rounded, "records_per_s": round(records / case["seconds"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--skip-dlt", action="store_true", help="Only measure our path.")
    parser.add_argument("--resync", action="store_true",
                        help="Also time a second sync of the unchanged file (it must write no version).")
    parser.add_argument("--skip-incremental", action="store_true",
                        help="Skip the incremental case (1%% of the records changed, re-synced by each tool).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(load_settings().model_copy(update={"files_roots": tmp}))  # files under <tmp>/<tenant slug>/
        platform.migrate(rt)
        path = Path(tmp) / "accounts.csv"
        generate(path, args.records)
        changed = None
        if not args.skip_incremental:
            changed = Path(tmp) / "accounts_changed.csv"
            generate(changed, args.records, changed=True)
        timings = ours(rt, path, args.records, resync=args.resync, changed=changed)
        seconds = timings["seconds"]
        result: dict[str, Any] = {"records": args.records, "seconds": round(seconds, 2),
                                  "records_per_s": round(args.records / seconds),
                                  **{k: round(v, 2) for k, v in timings.items() if k not in ("seconds", "incremental")},
                                  "batch": rt.settings.sync_batch_size,
                                  "writers": rt.settings.sync_writers}
        if not args.skip_dlt:
            dlt_seconds = {fmt: dlt_load(rt.database_url, path, fmt) for fmt in ("insert_values", "csv")}
            best = min(dlt_seconds.values())
            result.update({
                "dlt_seconds": {k: round(v, 2) for k, v in dlt_seconds.items()},
                "dlt_records_per_s": round(args.records / best),
                "ratio": round(best / seconds, 2),
            })
        if changed is not None:
            incremental: dict[str, Any] = {"changed": changed_count(args.records),
                                           "ours": _rates(timings["incremental"], args.records)}
            if not args.skip_dlt:
                loader = min(dlt_seconds, key=dlt_seconds.__getitem__)  # dlt's faster loader of the full case
                incremental["dlt"] = _rates(dlt_incremental(rt.database_url, path, changed, loader), args.records)
                incremental["ratio"] = round(incremental["dlt"]["seconds"] / incremental["ours"]["seconds"], 2)
            result["incremental"] = incremental
    rt.close()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    failed = [tool for tool, case in result.get("incremental", {}).items()
              if isinstance(case, dict) and not case["rows"] == case["correct_rows"] == args.records]
    if failed:
        raise SystemExit(f"after the incremental re-sync, wrong or missing rows in: {', '.join(failed)}")


if __name__ == "__main__":
    sys.exit(main())
