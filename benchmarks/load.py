"""Isolation and scale under load: three tenants at once on ``aos worker`` processes.

The benchmark owns its servers (an embedded PostgreSQL and Redis in a temporary data dir, set
up as the chaos drills set up theirs, fresh for each round so every worker count starts from
the same empty database) and ``aos serve``. Per round, three fresh tenants (limits
of 1, 2 and 3 concurrent syncs, three files connections each, ``--records`` keyed accounts per
tenant, a unique marker in each) land a sample, have it reviewed and published, then sync and
apply the bulk, all at once (the bulks drop when every tenant is reviewed), on 1, 2 and 4
worker processes (``--workers``), each count ``--repeat`` times in rotated order (1,2,4 then
2,4,1 then 4,1,2: a slow moment of the machine does not fall on one count). Printed: each
round's throughput of the bulk (records synced and applied per second), each count's median
and its ratio to the best median; in the JSON, per round, the most running syncs seen per
tenant against its limit and each tenant's first run start, first progress and finish. During every round each tenant's event stream is read with its own API
key and its webhook receiver listens on 127.0.0.1; after each round the isolation checker
(``isolation.py``) counts, per interface, what of one tenant another could see. The JSON has
each round's timeline: every sync and apply run, when it was created and when it finished.

    python benchmarks/load.py [--records 100000] [--workers 1,2,4] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from chaos import Servers
from isolation import check
from load_probes import ApiServer, EventTap, HookReceiver
from load_workload import WORKER_ENV, Fleet, LoadTenant, Owner, run_round, settle

from autonomos.config import Settings
from autonomos.runtime import Runtime
from autonomos.services import platform

LIMITS = [1, 2, 3]
NAMESPACE = "aosload"


def measure(root: Path, count: int, args: argparse.Namespace, per_connection: int,
            hooks: HookReceiver) -> tuple[dict[str, Any], dict[str, int], dict[str, int], list[str]]:
    """One round on servers of its own (a fresh database and Redis under ``root``), so every
    worker count starts from the same state; then the isolation check of its tenants."""
    servers = Servers(root)
    values = {"DATABASE_URL": servers.database_url, "REDIS_URL": servers.redis_url, "AOS_DATA_DIR": str(root / "data"),
              "AOS_REDIS_NAMESPACE": NAMESPACE, "AOS_ALLOW_PRIVATE_SOURCES": "127.0.0.1/32"}
    rt = Runtime(Settings.from_mapping({**values, **WORKER_ENV}))
    env = {**os.environ, **values}
    owner = Owner(servers.database_url)
    fleet = Fleet(env, root / "logs")
    api, taps = None, {}
    try:
        platform.migrate(rt)
        (root / "logs").mkdir()
        api = ApiServer(env, root / "logs" / "serve.log")

        def listen(made: list[LoadTenant]) -> None:
            for t in made:
                taps[t.info.id] = EventTap(api.url, t.api_key)
                taps[t.info.id].start()

        summary, made = run_round(rt, owner, fleet, count, limits=LIMITS, connection_count=args.connections,
                                  per_connection=per_connection, sample=args.sample, hook_url=hooks.url,
                                  created=listen)
        print(f"{count} workers: {summary['records_per_s']} records/s ({summary['bulk_records']} in"
              f" {summary['bulk_seconds']} s), limit breaches {summary['limit_breaches']},"
              f" starved {summary['starved']}, errors {summary['errors']}", file=sys.stderr)
        fleet.scale(1, rt)  # deliveries and the embedding outbox drain in a worker's upkeep
        settle(owner, made)
        texts = {tid: tap.stop() for tid, tap in taps.items()}
        violations, checked, details = check(rt, owner, made, api_url=api.url, taps=texts, hooks=hooks.bodies)
        return summary, violations, checked, details
    finally:
        fleet.stop()
        for tap in taps.values():
            tap.halt.set()
        if api is not None:
            api.stop()
        rt.close()
        servers.stop()
        shutil.rmtree(root / "servers", ignore_errors=True)
        shutil.rmtree(root / "data", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000, help="Records per tenant.")
    parser.add_argument("--connections", type=int, default=3, help="Files connections per tenant.")
    parser.add_argument("--sample", type=int, default=200, help="Records per connection landed before review.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts, one round each per repeat.")
    parser.add_argument("--repeat", type=int, default=3,
                        help="Rounds per worker count, in rotated order; each count's throughput is the median.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object last.")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    per_connection = max(args.records // args.connections, args.sample + 1)

    root = Path(tempfile.mkdtemp(prefix="aos-load-"))
    started = time.monotonic()
    load_before = os.getloadavg()
    hooks = HookReceiver()
    rounds, details = [], []
    violations: Counter[str] = Counter()
    checked: Counter[str] = Counter()
    try:
        order = [(rep, counts[(i + rep) % len(counts)]) for rep in range(args.repeat) for i in range(len(counts))]
        for n, (rep, count) in enumerate(order):
            summary, found, seen, described = measure(root / f"round-{n}", count, args, per_connection, hooks)
            summary["repeat"] = rep
            rounds.append(summary)
            violations.update(found)
            checked.update(seen)
            details.extend(described)
    finally:
        hooks.stop()
    violations = dict(violations)  # every interface checked, zeros included

    per_count = {c: [r["records_per_s"] for r in rounds if r["workers"] == c] for c in counts}
    throughput = {c: round(statistics.median(v), 1) for c, v in per_count.items() if v}
    best = max(throughput.values(), default=0.0)
    ratios = {c: round(v / best, 3) if best else 0.0 for c, v in throughput.items()}
    for r in rounds:
        r["ratio_to_best"] = round(r["records_per_s"] / best, 3) if best else 0.0
    label = lambda r: f"{r['workers']}w#{r['repeat']}"  # noqa: E731
    summary = {
        "records_per_tenant": args.records, "tenants_per_round": len(LIMITS), "connections": args.connections,
        "repeat": args.repeat,
        "throughput": {str(c): v for c, v in throughput.items()},
        "throughput_rounds": {str(c): v for c, v in per_count.items()},
        "ratio_to_best": {str(c): v for c, v in ratios.items()},
        "limits": {label(r): {slug: [v["max_running_syncs"], v["limit"]] for slug, v in r["tenants"].items()}
                   for r in rounds},
        "limit_breaches": sum(r["limit_breaches"] for r in rounds),
        "starvation": {label(r): {slug: {k: v[k] for k in ("first_run_start_s", "first_progress_s", "finished_s")}
                                           for slug, v in r["tenants"].items()} for r in rounds},
        "starved": [s for r in rounds for s in r["starved"]], "errors": [e for r in rounds for e in r["errors"]],
        "violations": violations, "checked": dict(checked), "violation_details": details, "rounds": rounds,
        "seconds": round(time.monotonic() - started, 1),
        "load_average": {"start": [round(x, 2) for x in load_before], "end": [round(x, 2) for x in os.getloadavg()]},
        "cpus": os.cpu_count(), "logs": str(root), "run": uuid.uuid4().hex[:8],
    }
    for c, v in throughput.items():
        print(f"{c} workers  {v:>10} rec/s (median of {per_count[c]})  ratio {ratios[c]}", file=sys.stderr)
    print("violations: " + ", ".join(f"{k}={v}" for k, v in violations.items()), file=sys.stderr)
    for line in details:
        print("  " + line, file=sys.stderr)
    if args.json:
        print(json.dumps(summary, default=str))
    failed = (any(violations.values()) or summary["limit_breaches"] or summary["starved"] or summary["errors"]
              or any(v < 0.9 for v in ratios.values()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
