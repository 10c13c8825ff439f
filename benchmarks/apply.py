"""Apply benchmark: a published mapping version over N landed records, through the real path,
as a ratio of what the same server can write at all (the floor), measured in the same run.

Setup (not timed): a fresh tenant, a connection, N Salesforce-style account records landed
by the real ``Lander`` (COPY + set-based versioning), and a published mapping version with
transforms (trim, lower, casts, cents-to-amount scaling, a value map, a date parse).
Timed: ``apply_version`` backfilling from ``raw_record_heads`` in DuckDB micro-batches (read
and transformed ahead of the writers), on ``AOS_APPLY_WRITERS`` connections (``--writers``),
each batch writing canonical events, current records and change-log rows in one Postgres
transaction. Counts are checked in Postgres afterwards.

The floor: the rows apply wrote (the same events, records and change log) are prepared in
unlogged tables, split into the apply's batches; then, on one connection, each batch is
written with ``INSERT ... SELECT`` into copies of the three tables made with ``CREATE TABLE
... (LIKE ... INCLUDING ALL)`` (same columns, defaults, indexes), one transaction per batch
with the apply's commit settings (``synchronous_commit = off``, the last commit synchronous).
No reads of raw records, no transforms, no probes, no row-level security: the write cost
alone. ``ratio`` = apply's records/s over the floor's. Both start from a settled server
(``ingest.settle``: VACUUM, CHECKPOINT). The tenant and the copies are dropped at the end.

    python benchmarks/apply.py --records 1000000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

from sqlalchemy import create_engine, func, select, text

from autonomos.aam.connectors.base import RecordMessage, StreamSpec
from autonomos.aam.sync.landing import Lander
from autonomos.config import load_settings
from autonomos.dcl.apply import apply_version
from autonomos.services import connections, mappings, platform, tenants
from autonomos.runtime import Runtime
from autonomos.store.tables import CanonicalEvent, CanonicalRecord, ChangeLog
from ingest import settle

FIELDS = [
    {"source_field": "Id", "canonical_field": "id"},
    {"source_field": "Name", "canonical_field": "name", "transform": {"op": "trim"}},
    {"source_field": "Website", "canonical_field": "domain",
     "transform": [{"op": "lower"}, {"op": "split", "separator": "://", "part": -1}]},
    {"source_field": "Website", "canonical_field": "website"},
    {"source_field": "Industry", "canonical_field": "industry", "transform": {"op": "lower"}},
    {"source_field": "Type", "canonical_field": "type",
     "transform": {"op": "map", "values": {"Customer - Direct": "customer", "Customer - Channel": "customer",
                                           "Prospect": "prospect", "Partner": "partner"}}},
    {"source_field": "NumberOfEmployees", "canonical_field": "employee_count"},
    {"source_field": "AnnualRevenueCents", "canonical_field": "annual_revenue", "transform": {"op": "scale",
                                                                                              "factor": 0.01}},
    {"source_field": "BillingCity", "canonical_field": "billing_city"},
    {"source_field": "BillingCountry", "canonical_field": "billing_country", "transform": {"op": "upper"}},
    {"source_field": "CreatedDate", "canonical_field": "created_at"},
]
TYPES = ["Customer - Direct", "Customer - Channel", "Prospect", "Partner"]
CITIES = ["San Francisco", "Austin", "Boston", "Denver", "Chicago"]


def account(i: int) -> dict:
    return {"Id": f"001{i:015d}", "Name": f" Acme Holdings {i} ", "Website": f"https://www.example-{i}.com",
            "Industry": ["Technology", "Retail", "Healthcare", "Finance", "Energy"][i % 5], "Type": TYPES[i % 4],
            "NumberOfEmployees": str((i * 31) % 20000), "AnnualRevenueCents": str((i * 7919) % 5_000_000_000),
            "BillingCity": CITIES[i % 5], "BillingCountry": "us",
            "CreatedDate": f"20{10 + i % 14}-0{1 + i % 9}-1{i % 10}T08:30:00Z", "OwnerId": f"005{i % 50:012d}"}


def land(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, records: int, batch: int = 50_000) -> None:
    stream = StreamSpec("Account", primary_key=("Id",))
    lander = Lander(tenant_id, connection_id, stream, None)
    for start in range(0, records, batch):
        with rt.db.tenant(tenant_id) as session:
            lander.land(session, [RecordMessage("Account", account(i)) for i in range(start, min(records, start + batch))])


# The floor's tables: copies of the canonical output tables, and the prepared rows (with the
# apply batch each belongs to, by event order) they are filled from.
FLOOR_TABLES = {"canonical_events": "bench_floor_events", "canonical_records": "bench_floor_records",
                "change_log": "bench_floor_change_log"}
_PREPARE = {
    "canonical_events": "SELECT e.*, (row_number() OVER (ORDER BY e.seq) - 1) / :batch AS b "
                        "FROM canonical_events e WHERE e.tenant_id = :t",
    "canonical_records": "SELECT r.*, e.b FROM canonical_records r JOIN bench_prep_canonical_events e "
                         "ON e.id = r.last_event_id WHERE r.tenant_id = :t",
    "change_log": "SELECT l.*, e.b FROM change_log l JOIN bench_prep_canonical_events e "
                  "ON e.id = l.event_id WHERE l.tenant_id = :t",
}


class Costs:
    """What a measured step cost besides time: CPU seconds of this process (reader, DuckDB,
    driver) and of the local PostgreSQL server (postmaster, its processes alive and ended, read
    from /proc), and WAL bytes (``pg_stat_wal``), between ``start`` and ``stop``. The server is
    this benchmark's own (embedded), so its CPU and WAL are this run's."""

    def __init__(self, owner_url: str) -> None:
        self.engine = create_engine(owner_url, pool_size=1)
        with self.engine.connect() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        self.postmaster = int(_proc_stat(backend)[1])
        self._start: tuple[float, float, int] = (0.0, 0.0, 0)

    def _now(self) -> tuple[float, float, int]:
        with self.engine.connect() as conn:
            wal = conn.execute(text("SELECT wal_bytes FROM pg_stat_wal")).scalar_one()
        tick = os.sysconf("SC_CLK_TCK")
        own = _proc_stat(self.postmaster)
        server = sum(int(v) for v in own[11:15])
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fields = _proc_stat(int(pid))
            except OSError:  # ended meanwhile
                continue
            if int(fields[1]) == self.postmaster:
                server += int(fields[11]) + int(fields[12])
        return time.process_time(), server / tick, int(wal)

    def start(self) -> None:
        self._start = self._now()

    def stop(self, records: int) -> dict[str, float]:
        client, server, wal = (b - a for a, b in zip(self._start, self._now()))
        return {"client_cpu_us": round(client / records * 1e6, 1), "server_cpu_us": round(server / records * 1e6, 1),
                "wal_bytes": round(wal / records)}


def _proc_stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, ppid, ... (utime is [11], stime [12])."""
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()


def floor(owner_url: str, tenant_id: uuid.UUID, batch: int, costs: Costs) -> tuple[float, dict[str, int],
                                                                                   dict[str, float]]:
    """Seconds to INSERT ... SELECT the tenant's canonical rows, batch by batch on one connection,
    into LIKE ... INCLUDING ALL copies under apply's commit settings; the rows written; its costs."""
    engine = create_engine(owner_url, pool_size=1)
    try:
        with engine.begin() as conn:  # prepared rows (not timed)
            _drop(conn)
            for table in ("canonical_events", "canonical_records", "change_log"):
                conn.execute(text(f"CREATE UNLOGGED TABLE bench_prep_{table} AS {_PREPARE[table]}"),
                             {"t": tenant_id, "batch": batch})
                conn.execute(text(f"CREATE INDEX ON bench_prep_{table} (b)"))
                conn.execute(text(f"ANALYZE bench_prep_{table}"))
                conn.execute(text(f"CREATE TABLE {FLOOR_TABLES[table]} (LIKE {table} INCLUDING ALL)"))
            columns = {table: ", ".join(conn.execute(text(
                "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
                "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped"), {"t": table}).scalar_one()
                .split(", ")) for table in FLOOR_TABLES}
            batches, rows = conn.execute(text(
                "SELECT coalesce(max(b), -1) + 1, count(*) FROM bench_prep_canonical_events")).one()
        settle(owner_url)  # as before the apply: neither pays for the other's cleanup or WAL
        with engine.connect() as conn:
            costs.start()
            start = time.perf_counter()
            for b in range(batches):
                last = b == batches - 1
                conn.execute(text(f"SET LOCAL synchronous_commit = {'on' if last else 'off'}"))
                for table, copy in FLOOR_TABLES.items():
                    cols = columns[table]
                    conn.execute(text(f"INSERT INTO {copy} ({cols}) SELECT {cols} FROM bench_prep_{table} WHERE b = :b"),
                                 {"b": b})
                conn.commit()
            elapsed = time.perf_counter() - start
            spent = costs.stop(rows)
            written = {copy: conn.execute(text(f"SELECT count(*) FROM {copy}")).scalar_one()
                       for copy in FLOOR_TABLES.values()}
        return elapsed, written, spent
    finally:
        with engine.begin() as conn:
            _drop(conn)
        engine.dispose()


def _drop(conn) -> None:
    for table, copy in FLOOR_TABLES.items():
        conn.execute(text(f"DROP TABLE IF EXISTS {copy}, bench_prep_{table}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000, help="Records per apply micro-batch.")
    parser.add_argument("--writers", type=int, default=None,
                        help="Apply writer connections (default: AOS_APPLY_WRITERS).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()

    rt = Runtime(load_settings())
    platform.migrate(rt)
    tenant = tenants.create_tenant(rt, f"bench-apply-{uuid.uuid4().hex[:8]}", actor="benchmark")
    try:
        conn = connections.create_connection(rt, tenant.id, provider="files", name="sfdc", config={},
                                             actor="benchmark")
        t0 = time.perf_counter()
        land(rt, tenant.id, uuid.UUID(conn.id), args.records)
        landed_s = time.perf_counter() - t0
        published = mappings.publish_fields(rt, tenant.id, "sfdc", "Account", "account", FIELDS, actor="benchmark",
                                            apply=False)
        writers = args.writers or rt.settings.apply_writers
        settle(rt.database_url)
        costs = Costs(rt.database_url)
        load_before = os.getloadavg()[0]
        costs.start()
        t1 = time.perf_counter()
        report = apply_version(rt.db, tenant.id, published.version.id, trigger="publish", batch_size=args.batch,
                               memory_limit=rt.settings.duckdb_memory_limit, writers=writers)
        elapsed = time.perf_counter() - t1
        apply_costs = costs.stop(args.records)
        with rt.db.tenant(tenant.id) as session:
            counts = {name: session.scalar(select(func.count()).select_from(table))
                      for name, table in (("events", CanonicalEvent), ("records", CanonicalRecord),
                                          ("change_log", ChangeLog))}
        expected = {"events": args.records, "records": args.records, "change_log": args.records}
        if counts != expected or report.counts.changed != args.records:
            print(f"count mismatch: {counts} (report {report.counts.as_dict()})", file=sys.stderr)
            sys.exit(1)
        rate = args.records / elapsed
        floor_s, floor_rows, floor_costs = floor(rt.database_url, tenant.id, args.batch, costs)
        floor_rate = args.records / floor_s
        if list(floor_rows.values()) != [args.records] * 3:
            print(f"floor count mismatch: {floor_rows}", file=sys.stderr)
            sys.exit(1)
        result = {"records": args.records, "records_per_s": round(rate), "floor_records_per_s": round(floor_rate),
                  "ratio": round(rate / floor_rate, 3), "apply_writers": writers, "seconds": round(elapsed, 2),
                  "floor_seconds": round(floor_s, 2), "batch": args.batch, "landing_seconds": round(landed_s, 2),
                  "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)], "cores": os.cpu_count(),
                  "per_record": {"apply": apply_costs, "floor": floor_costs}}
        if args.json:
            print(json.dumps(result))
        else:
            print(f"applied {args.records:,} records in {elapsed:.1f} s on {writers} writer(s): {rate:,.0f} records/s "
                  f"(events, records, change log: {counts}); landing took {landed_s:.1f} s")
            print(f"floor (INSERT ... SELECT of the same rows, one connection): {floor_s:.1f} s, "
                  f"{floor_rate:,.0f} records/s; ratio {rate / floor_rate:.2f}")
            print(f"per record: apply {apply_costs}, floor {floor_costs}")
    finally:
        tenants.delete_tenant(rt, tenant.slug, actor="benchmark")
        rt.close()


if __name__ == "__main__":
    main()
