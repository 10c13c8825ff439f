"""Drift benchmark: seeded schema and value changes of the CRM sample accounts, each run
through the real path (files connection, sync worker, drift check, repair, apply), scored.

    python benchmarks/drift.py --scenarios 56 --seed 7 --json

Each scenario is a fresh tenant whose accounts stream has a published mapping and canonical
records; one change is made at the source and the stream synced again. Scored: detection per
class (the change's class on the right field is an event; any other event is a false
alarm), whether a rename was repaired automatically onto the right field, canonical values
that differ from what the source means (corrupted) and canonical records gone (lost).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from autonomos.config import load_settings
from autonomos.runtime import Runtime
from autonomos.samples.crm import salesforce_accounts
from autonomos.services import connections, drift, mappings, platform, tenants
from autonomos.services.sync import get_run, start_sync
from autonomos.services.worker import run_worker
from autonomos.store.tables import CanonicalRecord

MAPPING = [{"source_field": "Id", "canonical_field": "id"}, {"source_field": "Name", "canonical_field": "name"},
           {"source_field": "Industry", "canonical_field": "industry"},
           {"source_field": "Type", "canonical_field": "type"},
           {"source_field": "NumberOfEmployees", "canonical_field": "employee_count"},
           {"source_field": "AnnualRevenue", "canonical_field": "annual_revenue"},
           {"source_field": "BillingCity", "canonical_field": "billing_city"},
           {"source_field": "CreatedDate", "canonical_field": "created_at"},
           {"source_field": "LastModified", "canonical_field": "updated_at", "transform": [{"op": "epoch", "unit": "s"}]}]
STRUCTURAL = {"rename": "field_renamed", "drop": "field_removed", "add": "field_added", "retype": "type_changed"}
VALUE = {"date_format": "format_changed", "epoch_millis": "format_changed", "picklist": "new_picklist_value",
         "money_x100": "unit_scale"}
RENAMES = {"Name": ["AccountName", "Account_Name", "Name__c", "CompanyName"],
           "Industry": ["IndustryName", "Industry__c", "Sector_Industry"],
           "BillingCity": ["Billing_City", "BillingCityName", "City_Billing"]}


def base_rows(rows: int) -> list[dict[str, str]]:
    """The sample's Salesforce accounts, with a date-only creation date and an epoch modification time."""
    with tempfile.TemporaryDirectory() as folder:
        text = salesforce_accounts(Path(folder) / "accounts.csv", rows).read_text()
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        stamp = dt.datetime.strptime(row["CreatedDate"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        out.append({**row, "CreatedDate": row["CreatedDate"][:10], "LastModified": str(int(stamp.timestamp()) + 86_400)})
    return out


def change(kind: str, rows: list[dict[str, str]], rng: random.Random) -> tuple[list[dict[str, str]], str, str | None]:
    """(changed rows, field the change is on, new name of a renamed field)."""
    if kind == "rename":
        old = rng.choice(sorted(RENAMES))
        new = rng.choice(RENAMES[old])
        return [{(new if k == old else k): v for k, v in r.items()} for r in rows], old, new
    if kind == "drop":
        gone = rng.choice(["Industry", "BillingCity", "Type"])
        return [{k: v for k, v in r.items() if k != gone} for r in rows], gone, None
    if kind == "add":
        name = rng.choice(["Phone", "Region", "OwnerEmail"])
        return [{**r, name: f"{name.lower()}-{i % 7}"} for i, r in enumerate(rows)], name, None
    if kind == "retype":
        every = rng.choice([2, 3, 4])
        return [{**r, "NumberOfEmployees": r["NumberOfEmployees"] if i % every else "unknown"}
                for i, r in enumerate(rows)], "NumberOfEmployees", None
    if kind == "date_format":
        fmt = rng.choice(["day", "month"])

        def slashed(v: str) -> str:
            y, m, d = v.split("-")
            return f"{d}/{m}/{y}" if fmt == "day" else f"{m}/{d}/{y}"
        return [{**r, "CreatedDate": slashed(r["CreatedDate"])} for r in rows], "CreatedDate", None
    if kind == "epoch_millis":
        return [{**r, "LastModified": r["LastModified"] + "000"} for r in rows], "LastModified", None
    if kind == "picklist":
        value = rng.choice(["Mining", "Aerospace", "Education"])
        at = rng.randrange(len(rows))
        return [{**r, "Industry": value if i == at else r["Industry"]} for i, r in enumerate(rows)], "Industry", None
    if kind == "money_x100":
        return [{**r, "AnnualRevenue": r["AnnualRevenue"] if r["AnnualRevenue"] == "n/a"
                 else f"{float(r['AnnualRevenue']) * 100:.2f}"} for r in rows], "AnnualRevenue", None
    raise ValueError(kind)


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def canonical(rt: Runtime, tenant_id: uuid.UUID) -> dict[str, dict]:
    with rt.db.tenant(tenant_id) as session:
        return {r.record_key: dict(r.data) for r in session.scalars(
            select(CanonicalRecord).where(CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.entity == "account",
                                          CanonicalRecord.is_deleted.is_(False)))}


def sync(rt: Runtime, tenant_id: uuid.UUID) -> None:
    run = start_sync(rt, tenant_id, "crm", actor="benchmark").run
    run_worker(rt, burst=True)
    if get_run(rt, tenant_id, run.id).status != "succeeded":
        raise RuntimeError("sync failed")


def scenario(rt: Runtime, kind: str, rng: random.Random, rows: int) -> dict:
    tenant = tenants.create_tenant(rt, f"drift-{uuid.uuid4().hex[:8]}", actor="benchmark")
    folder = Path(rt.settings.data_dir).resolve() / "sources" / tenant.slug
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "accounts.csv"
    base = base_rows(rows)
    write(path, base)
    connections.create_connection(rt, tenant.id, provider="files", name="crm",
                                  config={"path": str(path), "format": "csv", "stream": "accounts",
                                          "primary_key": ["Id"]}, actor="benchmark")
    sync(rt, tenant.id)
    mappings.publish_fields(rt, tenant.id, "crm", "accounts", "account", MAPPING, actor="benchmark")
    before = canonical(rt, tenant.id)
    changed, field, new_name = change(kind, base, rng)
    write(path, changed)
    sync(rt, tenant.id)
    events = [e for e in drift.list_events(rt, tenant.id) if e.status != "muted"]
    expected_kind = {**STRUCTURAL, **VALUE}[kind]
    hits = [e for e in events if e.kind == expected_kind and e.field == field]
    after = canonical(rt, tenant.id)
    meant = {k: dict(v) for k, v in before.items()}
    if kind == "picklist":
        for r in changed:
            if r["Id"] in meant:
                meant[r["Id"]]["industry"] = r["Industry"]
    corrupted = sum(1 for key, values in meant.items() if key in after
                    for name, value in values.items() if not _same(after[key].get(name), value))
    repaired = False
    if kind == "rename" and hits:
        version = mappings.get_version(rt, tenant.id, "crm", "accounts", "account")
        repaired = hits[0].status == "repaired" and any(
            f["source_field"] == new_name for f in version.fields)
    tenants.delete_tenant(rt, str(tenant.id), actor="benchmark")
    return {"kind": kind, "field": field, "detected": bool(hits), "events": len(events),
            "false_alarms": len(events) - len(hits[:1]), "repaired": repaired,
            "corrupted": corrupted, "lost": sum(1 for key in before if key not in after)}


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(b))
    return a == b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=56)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="Print one JSON object last.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rt = Runtime(load_settings())
    platform.migrate(rt)
    kinds = [*STRUCTURAL, *VALUE]
    plan = [kinds[i % len(kinds)] for i in range(args.scenarios)]
    rng.shuffle(plan)
    started = time.perf_counter()
    results = []
    for i, kind in enumerate(plan):
        result = scenario(rt, kind, rng, args.rows)
        results.append(result)
        print(f"{i + 1:3d} {kind:13s} {result['field']:18s} detected={result['detected']!s:5s} "
              f"events={result['events']} repaired={result['repaired']!s:5s} corrupted={result['corrupted']} "
              f"lost={result['lost']}", flush=True)
    seconds = time.perf_counter() - started
    rt.close()
    by_kind: dict[str, Counter] = {}
    for r in results:
        c = by_kind.setdefault(r["kind"], Counter())
        c["n"] += 1
        c["detected"] += r["detected"]
    recall = {k: round(c["detected"] / c["n"], 3) for k, c in sorted(by_kind.items())}

    def share(kinds_: dict) -> float:
        n = sum(by_kind[k]["n"] for k in kinds_ if k in by_kind)
        return round(sum(by_kind[k]["detected"] for k in kinds_ if k in by_kind) / n, 3) if n else 0.0
    reported = sum(r["events"] for r in results)
    right = sum(1 for r in results if r["detected"])
    renames = [r for r in results if r["kind"] == "rename"]
    out = {"scenarios": len(results), "structural_recall": share(STRUCTURAL), "value_recall": share(VALUE),
           "detection_precision": round(right / reported, 3) if reported else 0.0,
           "rename_repair_accuracy": round(sum(r["repaired"] for r in renames) / len(renames), 3) if renames else 0.0,
           "corrupted_values": sum(r["corrupted"] for r in results), "lost_records": sum(r["lost"] for r in results),
           "seconds": round(seconds, 1), "recall_by_class": recall, "rows": args.rows, "seed": args.seed,
           "load_average": os.getloadavg()[0]}
    print(f"scenarios {out['scenarios']}  structural recall {out['structural_recall']}  value recall "
          f"{out['value_recall']}  precision {out['detection_precision']}  rename repair "
          f"{out['rename_repair_accuracy']}  corrupted {out['corrupted_values']}  lost {out['lost_records']}  "
          f"{out['seconds']} s")
    print("recall by class: " + ", ".join(f"{k} {v}" for k, v in recall.items()))
    if args.json:
        print(json.dumps(out))
    sys.exit(0)


if __name__ == "__main__":
    main()
