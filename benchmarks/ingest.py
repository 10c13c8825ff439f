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

Every measured load starts from a settled server (``settle``: VACUUM, CHECKPOINT), so no loader
pays for the cleanup of the one before it (each run purges its tenant, leaving a million dead
rows for autovacuum, which otherwise ran during the next load and cost it up to 40%).

    python benchmarks/ingest.py --records 1000000 --json
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

from sqlalchemy import func, select

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


def generate(path: Path, records: int) -> None:
    """A Salesforce-style Account export with realistic-looking values (deterministic)."""
    with ephemeral_duckdb("2GB", allow_file_access=True) as db:
        db.execute(f"""
            COPY (
              SELECT
                '001' || lpad(i::VARCHAR, 15, '0') AS "Id",
                (['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne'])[1 + i % 8]
                  || ' ' || (['Holdings', 'Labs', 'Logistics', 'Foods', 'Bio', 'Cloudworks'])[1 + (i // 8) % 6]
                  || ' ' || i AS "Name",
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
                strftime(TIMESTAMP '2024-01-01' + INTERVAL (i % 100000) MINUTE, '%Y-%m-%dT%H:%M:%S.000+0000')
                  AS "LastModifiedDate"
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


def ours(rt: Runtime, path: Path, records: int, *, resync: bool = False) -> dict[str, float]:
    """Seconds of the first sync (and, with ``resync``, of a second sync of the unchanged file)."""
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
        seconds = {"seconds": _timed_sync(rt, tenant.id, expect_inserted=records)}
        with rt.db.tenant(tenant.id) as session:
            landed, keys = session.execute(select(func.count(), func.count(RawRecord.record_key.distinct()))).one()
        if landed != records or keys != records:
            raise SystemExit(f"count check failed: {landed} versions, {keys} keys, expected {records}")
        if resync:
            os.utime(path)  # same rows, newer file: the connector reads it all again
            seconds["resync_seconds"] = _timed_sync(rt, tenant.id, expect_inserted=0)
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


def dlt_load(database_url: str, path: Path, loader_file_format: str) -> float:
    import dlt

    url = to_sqlalchemy_url(database_url)
    credentials = {"database": url.database, "username": url.username, "password": url.password or "",
                   "host": url.host or "localhost", "port": url.port or 5432}
    if url.query.get("host"):  # a Unix socket (the embedded server): libpq reads it from the query
        credentials["query"] = {"host": url.query["host"]}

    @dlt.resource(name="accounts", primary_key="Id", write_disposition="append")
    def accounts():
        with path.open(newline="") as handle:
            yield from csv.DictReader(handle)

    dataset = f"dlt_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as pipelines_dir:
        pipeline = dlt.pipeline(pipeline_name=dataset, pipelines_dir=pipelines_dir,
                                destination=dlt.destinations.postgres(credentials=credentials),
                                dataset_name=dataset)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--skip-dlt", action="store_true", help="Only measure our path.")
    parser.add_argument("--resync", action="store_true",
                        help="Also time a second sync of the unchanged file (it must write no version).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(load_settings().model_copy(update={"files_roots": tmp}))  # files under <tmp>/<tenant slug>/
        platform.migrate(rt)
        path = Path(tmp) / "accounts.csv"
        generate(path, args.records)
        timings = ours(rt, path, args.records, resync=args.resync)
        seconds = timings["seconds"]
        result: dict[str, float | int | None] = {"records": args.records, "seconds": round(seconds, 2),
                                                 "records_per_s": round(args.records / seconds),
                                                 **{k: round(v, 2) for k, v in timings.items() if k != "seconds"},
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
    rt.close()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")


if __name__ == "__main__":
    sys.exit(main())
