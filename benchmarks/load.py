"""Isolation and scale under load: three tenants at once on ``aos worker`` processes.

The benchmark owns its servers (an embedded PostgreSQL and Redis in a temporary data dir, set
up as the chaos drills set up theirs) and ``aos serve``. Per round, three fresh tenants (limits
of 1, 2 and 3 concurrent syncs, three files connections each, ``--records`` keyed accounts per
tenant, a unique marker in each) land a sample, have it reviewed and published, then sync and
apply the bulk, all at once, on 1, 2 and 4 worker processes (``--workers``). Printed per round:
throughput of the bulk (records synced and applied per second), its ratio to the best round,
the most running syncs seen per tenant against its limit, each tenant's first run start, first
progress and finish. During every round each tenant's event stream is read with its own API
key and its webhook receiver listens on 127.0.0.1; afterwards the isolation checker
(``isolation.py``) counts, per interface, what of one tenant another could see.

    python benchmarks/load.py [--records 100000] [--workers 1,2,4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from chaos import Servers
from isolation import check
from load_probes import ApiServer, EventTap, HookReceiver
from load_workload import WORKER_ENV, Fleet, LoadTenant, Owner, run_round, settle

from autonomos.config import Settings
from autonomos.runtime import Runtime
from autonomos.services import platform

LIMITS = [1, 2, 3]
NAMESPACE = "aosload"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000, help="Records per tenant.")
    parser.add_argument("--connections", type=int, default=3, help="Files connections per tenant.")
    parser.add_argument("--sample", type=int, default=200, help="Records per connection landed before review.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts, one round each.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object last.")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    per_connection = max(args.records // args.connections, args.sample + 1)

    root = Path(tempfile.mkdtemp(prefix="aos-load-"))
    started = time.monotonic()
    load_before = os.getloadavg()
    servers = Servers(root)
    values = {"DATABASE_URL": servers.database_url, "REDIS_URL": servers.redis_url, "AOS_DATA_DIR": str(root / "data"),
              "AOS_REDIS_NAMESPACE": NAMESPACE, "AOS_ALLOW_PRIVATE_SOURCES": "127.0.0.1/32"}
    rt = Runtime(Settings.from_mapping({**values, **WORKER_ENV}))
    env = {**os.environ, **values}
    owner = Owner(servers.database_url)
    fleet = Fleet(env, root / "logs")
    hooks, api, taps = HookReceiver(), None, {}
    rounds, everyone = [], []
    try:
        platform.migrate(rt)
        (root / "logs").mkdir()
        api = ApiServer(env, root / "logs" / "serve.log")

        def listen(made: list[LoadTenant]) -> None:
            for t in made:
                taps[t.info.id] = EventTap(api.url, t.api_key)
                taps[t.info.id].start()

        for count in counts:
            summary, made = run_round(rt, owner, fleet, count, limits=LIMITS, connection_count=args.connections,
                                      per_connection=per_connection, sample=args.sample, hook_url=hooks.url,
                                      created=listen)
            rounds.append(summary)
            everyone.extend(made)
            print(f"{count} workers: {summary['records_per_s']} records/s ({summary['bulk_records']} in"
                  f" {summary['bulk_seconds']} s), limit breaches {summary['limit_breaches']},"
                  f" starved {summary['starved']}, errors {summary['errors']}", file=sys.stderr)
        fleet.scale(1, rt)  # deliveries and the embedding outbox drain in a worker's upkeep
        settle(owner, everyone)
        texts = {tid: tap.stop() for tid, tap in taps.items()}
        violations, checked, details = check(rt, owner, everyone, api_url=api.url, taps=texts, hooks=hooks.bodies)
    finally:
        fleet.stop()
        for tap in taps.values():
            tap.halt.set()
        if api is not None:
            api.stop()
        hooks.stop()
        rt.close()
        servers.stop()
        shutil.rmtree(root / "servers", ignore_errors=True)
        shutil.rmtree(root / "data", ignore_errors=True)

    best = max((r["records_per_s"] for r in rounds), default=0.0)
    for r in rounds:
        r["ratio_to_best"] = round(r["records_per_s"] / best, 3) if best else 0.0
    summary = {
        "records_per_tenant": args.records, "tenants_per_round": len(LIMITS), "connections": args.connections,
        "throughput": {str(r["workers"]): r["records_per_s"] for r in rounds},
        "ratio_to_best": {str(r["workers"]): r["ratio_to_best"] for r in rounds},
        "limits": {str(r["workers"]): {slug: [v["max_running_syncs"], v["limit"]] for slug, v in r["tenants"].items()}
                   for r in rounds},
        "limit_breaches": sum(r["limit_breaches"] for r in rounds),
        "starvation": {str(r["workers"]): {slug: {k: v[k] for k in ("first_run_start_s", "first_progress_s", "finished_s")}
                                           for slug, v in r["tenants"].items()} for r in rounds},
        "starved": [s for r in rounds for s in r["starved"]], "errors": [e for r in rounds for e in r["errors"]],
        "violations": violations, "checked": checked, "violation_details": details, "rounds": rounds,
        "seconds": round(time.monotonic() - started, 1),
        "load_average": {"start": [round(x, 2) for x in load_before], "end": [round(x, 2) for x in os.getloadavg()]},
        "cpus": os.cpu_count(), "logs": str(root / "logs"), "run": uuid.uuid4().hex[:8],
    }
    for r in rounds:
        print(f"{r['workers']} workers  {r['records_per_s']:>10} rec/s  ratio {r['ratio_to_best']}", file=sys.stderr)
    print("violations: " + ", ".join(f"{k}={v}" for k, v in violations.items()), file=sys.stderr)
    for line in details:
        print("  " + line, file=sys.stderr)
    if args.json:
        print(json.dumps(summary, default=str))
    failed = (any(violations.values()) or summary["limit_breaches"] or summary["starved"] or summary["errors"]
              or any(r["ratio_to_best"] < 0.9 for r in rounds))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
