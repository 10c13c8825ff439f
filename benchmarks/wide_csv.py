"""Wide-CSV benchmark: sync files with 1,000 / 4,000 / 10,000 columns through the real sync path
and show that time grows linearly with the number of columns (seconds per 1,000 columns stays flat).

Each file has ``--rows`` rows; every run is a fresh tenant with one files connection, synced by an
in-process worker (files connector -> DuckDB -> landing in Postgres), then the tenant is deleted.
``AOS_MAX_COLUMNS`` is raised for the run so the widest file is not quarantined by the cap.

    python benchmarks/wide_csv.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from autonomos.services.worker import run_worker
from autonomos.config import load_settings
from autonomos.services import connections, platform, sync, tenants
from autonomos.runtime import Runtime


def generate(path: Path, columns: int, rows: int) -> None:
    with path.open("w") as handle:
        handle.write("id," + ",".join(f"c{j}" for j in range(1, columns)) + "\n")
        for i in range(rows):
            handle.write(f"{i}," + ",".join(f"v{i}_{j}" for j in range(1, columns)) + "\n")


def timed_sync(rt: Runtime, path: Path, rows: int) -> float:
    tenant = tenants.create_tenant(rt, f"wide-{uuid.uuid4().hex[:8]}", actor="benchmark")
    try:
        connections.create_connection(
            rt, tenant.id, provider="files", name="wide",
            config={"path": str(path), "format": "csv", "stream": "wide", "primary_key": ["id"]}, actor="benchmark",
        )
        started = time.perf_counter()
        run = sync.start_sync(rt, tenant.id, "wide", actor="benchmark").run
        run_worker(rt, burst=True)
        seconds = time.perf_counter() - started
        final = sync.get_run(rt, tenant.id, run.id)
        if final.status != "succeeded" or final.counts.get("inserted") != rows:
            raise SystemExit(f"sync {final.status}: {final.error} {final.counts}")
        return seconds
    finally:
        tenants.delete_tenant(rt, tenant.slug, actor="benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[1_000, 4_000, 10_000])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="Print one JSON object last.")
    args = parser.parse_args()
    os.environ.setdefault("AOS_MAX_COLUMNS", str(max(args.columns) + 1))
    rt = Runtime(load_settings())
    platform.migrate(rt)
    result: dict[str, object] = {"rows": args.rows, "seconds": {}, "seconds_per_1000_columns": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for columns in args.columns:
            path = Path(tmp) / f"wide_{columns}.csv"
            generate(path, columns, args.rows)
            seconds = timed_sync(rt, path, args.rows)
            result["seconds"][str(columns)] = round(seconds, 2)
            result["seconds_per_1000_columns"][str(columns)] = round(seconds * 1000 / columns, 3)
            if not args.json:
                print(f"{columns:>7} columns: {seconds:8.2f} s  ({seconds * 1000 / columns:.3f} s per 1,000 columns)")
    rt.close()
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
