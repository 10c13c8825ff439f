"""Apply benchmark: a published mapping version over N landed records, through the real path.

Setup (not timed): a fresh tenant, a connection, N Salesforce-style account records landed
by the real ``Lander`` (COPY + set-based versioning), and a published mapping version with
transforms (trim, lower, casts, cents-to-amount scaling, a value map, a date parse).
Timed: ``apply_version`` backfilling from ``raw_record_heads`` in DuckDB micro-batches (read
and transformed one batch ahead of the writer), each writing canonical events, current records
and change-log rows in one Postgres transaction.
Counts are checked in Postgres afterwards; the tenant is deleted at the end.

    python benchmarks/apply.py --records 1000000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

from sqlalchemy import func, select

from autonomos.aam.connectors.base import RecordMessage, StreamSpec
from autonomos.aam.sync.landing import Lander
from autonomos.config import load_settings
from autonomos.dcl.apply import apply_version
from autonomos.services import connections, mappings, platform, tenants
from autonomos.runtime import Runtime
from autonomos.store.tables import CanonicalEvent, CanonicalRecord, ChangeLog

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000, help="Records per apply micro-batch.")
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
        t1 = time.perf_counter()
        report = apply_version(rt.db, tenant.id, published.version.id, trigger="publish", batch_size=args.batch,
                               memory_limit=rt.settings.duckdb_memory_limit)
        elapsed = time.perf_counter() - t1
        with rt.db.tenant(tenant.id) as session:
            counts = {name: session.scalar(select(func.count()).select_from(table))
                      for name, table in (("events", CanonicalEvent), ("records", CanonicalRecord),
                                          ("change_log", ChangeLog))}
        expected = {"events": args.records, "records": args.records, "change_log": args.records}
        if counts != expected or report.counts.changed != args.records:
            print(f"count mismatch: {counts} (report {report.counts.as_dict()})", file=sys.stderr)
            sys.exit(1)
        rate = args.records / elapsed
        if args.json:
            print(json.dumps({"records": args.records, "records_per_s": round(rate), "seconds": round(elapsed, 2),
                              "batch": args.batch, "landing_seconds": round(landed_s, 2)}))
        else:
            print(f"applied {args.records:,} records in {elapsed:.1f} s: {rate:,.0f} records/s "
                  f"(events, records, change log: {counts}); landing took {landed_s:.1f} s")
    finally:
        tenants.delete_tenant(rt, tenant.slug, actor="benchmark")
        rt.close()


if __name__ == "__main__":
    main()
