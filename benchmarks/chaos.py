"""Chaos drills at full size: faults during a real sync and its apply, recovered with no person acting.

The drill owns its servers: an embedded PostgreSQL and an embedded Redis in a data dir of its
own (never the platform's or the machine's), which it stops, starts and flushes. Each drill is a
new tenant with a files connection over ``--records`` keyed accounts and a published mapping;
``aos worker`` processes (separate processes, ``--workers`` of them) sync and then apply, while
the drill injects its fault:

* ``worker_sigkill``: a random worker SIGKILLed ``--kills`` times (half during the sync, half
  during the apply that follows it), each time after the runs had progressed since the last kill,
  and restarted at once (a new process: what a supervisor does);
* ``redis_flushall``: ``FLUSHALL`` ``--flushes`` times during the sync and as often during the apply;
* ``postgres_restart``: the PostgreSQL server stopped (fast shutdown: sessions cut) for 3 s, once
  mid-sync and once mid-apply; the workers are not restarted;
* ``redis_outage``: Redis stopped for ``--outage-s`` seconds mid-sync.

A clean run of the same input (no fault) comes first. Then each drilled tenant is checked in
Postgres against it: every source key has exactly one raw version with the clean run's content,
every raw version exactly one canonical event, canonical records equal the clean run's, the change
log names each event once, and no run is left anything but ``succeeded``. ``recovery_seconds`` is
the longest time from the end of a fault (the kill, the flush, the server back) to the next
committed progress. ``manual_steps`` counts the runs a person would have to restart.

    python benchmarks/chaos.py [--records 300000] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

from autonomos.config import Settings
from autonomos.engines.postgres import EmbeddedPostgres, libpq_dsn, to_sqlalchemy_url
from autonomos.engines.redis import EmbeddedRedis
from autonomos.runtime import Runtime
from autonomos.services import connections, mappings, platform, sync, tenants

DRILLS = ("worker_sigkill", "redis_flushall", "postgres_restart", "redis_outage")
FIELDS = [{"source_field": "Id", "canonical_field": "id"}, {"source_field": "Name", "canonical_field": "name"},
          {"source_field": "Industry", "canonical_field": "industry"}]
HEARTBEAT_TIMEOUT_S = 10
WORKER_ENV = {"AOS_SYNC_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S), "AOS_WORKER_UPKEEP_S": "1",
              "AOS_RETRY_BACKOFF_S": "1", "AOS_LOG_FORMAT": "json"}
DRILL_TIMEOUT_S = 600


class Servers:
    """The drill's own PostgreSQL and Redis, which it may stop, start and flush."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = EmbeddedPostgres(root / "servers")
        self.redis = EmbeddedRedis(root / "servers" / "redis")
        self.database_url = self.postgres.start()
        self.redis_url = self.redis.start()
        self.settings = Settings.from_mapping({
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url, "AOS_DATA_DIR": str(root / "data"),
            "AOS_REDIS_NAMESPACE": "aoschaos", **WORKER_ENV})

    def postgres_outage(self, down_s: float) -> None:
        self.postgres.stop()
        time.sleep(down_s)
        self.postgres.resume()

    def redis_outage(self, down_s: float) -> None:
        self.redis.stop()
        time.sleep(down_s)
        if self.redis.start() != self.redis_url:
            raise SystemExit("the embedded Redis came back at another address")

    def flushall(self) -> None:
        redis.Redis.from_url(self.redis_url).flushall()

    def sql(self, query: str, **params) -> list[tuple]:
        """Verification queries as the owner (across tenants: the clean run against a drill)."""
        with psycopg.connect(libpq_dsn(to_sqlalchemy_url(self.database_url)), autocommit=True) as conn:
            # Tables filled a moment ago have no statistics yet; a nested-loop anti-join planned on
            # "0 rows" would probe 300,000 rows per row. Hash and merge joins only.
            conn.execute("SET enable_nestloop = off")
            return conn.execute(query, params).fetchall()

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()


class Workers:
    """``aos worker`` processes, killed and replaced on demand."""

    def __init__(self, settings: Settings, count: int, logs: Path) -> None:
        self.env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
                    "AOS_DATA_DIR": str(settings.data_dir), "AOS_REDIS_NAMESPACE": settings.redis_namespace,
                    **WORKER_ENV}
        self.logs = logs
        self.processes = [self._start() for _ in range(count)]

    def _start(self) -> subprocess.Popen:
        log = (self.logs / f"worker-{uuid.uuid4().hex[:8]}.log").open("wb")
        return subprocess.Popen([sys.executable, "-m", "autonomos.cli", "worker"], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT)

    def kill_one(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.processes))
        victim = self.processes[index]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        self.processes[index] = self._start()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def write_source(path: Path, count: int) -> None:
    industries = ("technology", "retail", "energy", "finance", "health")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "Name", "Industry", "AnnualRevenue"])
        for i in range(count):
            writer.writerow([f"001{i:012d}", f"Account {i}", industries[i % 5], str(1000 * i)])


class Tenant:
    """One tenant's files connection over the generated source, with a published mapping."""

    def __init__(self, rt: Runtime, servers: Servers, source: Path, slug: str) -> None:
        self.rt, self.servers = rt, servers
        self.info = tenants.create_tenant(rt, f"chaos-{slug}-{uuid.uuid4().hex[:6]}", actor="chaos")
        folder = Path(rt.settings.data_dir).resolve() / "sources" / self.info.slug
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, folder / "accounts.csv")
        self.connection = connections.create_connection(
            rt, self.info.id, provider="files", name="crm", actor="chaos",
            config={"path": str(folder / "accounts.csv"), "format": "csv", "stream": "accounts",
                    "primary_key": ["Id"]})
        mappings.publish_fields(rt, self.info.id, "crm", "accounts", "account", FIELDS, actor="chaos")
        self.run_id: uuid.UUID | None = None

    def start_sync(self) -> None:
        self.run_id = sync.start_sync(self.rt, self.info.id, "crm", actor="chaos").run.id

    def state(self) -> tuple[str, tuple] | None:
        """(phase, progress signature): ``sync``, ``apply`` or ``done``; None while Postgres is away."""
        try:
            [(status, read)] = self.servers.sql(
                "SELECT status, coalesce(counts->>'read', '0') FROM sync_runs WHERE id = %(id)s", id=self.run_id)
            applies = self.servers.sql(
                "SELECT status, resume_after FROM apply_runs WHERE tenant_id = %(t)s AND trigger = 'sync'"
                " ORDER BY started_at",
                t=self.info.id)
        except psycopg.OperationalError:
            return None
        if status in ("pending", "running"):
            phase = "sync"
        elif status == "succeeded" and (not applies or any(s in ("pending", "running") for s, _ in applies)):
            phase = "apply"
        else:
            phase = "done"
        return phase, (read, tuple(position for _, position in applies))


class Watch:
    """Follows one tenant's runs: phases, progress, and recovery times after faults."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.phase, self.signature = "sync", None
        self.fault_ended: float | None = None
        self.synced: float | None = None
        self.recoveries: list[float] = []
        self.started = time.monotonic()

    def poll(self) -> str:
        seen = self.tenant.state()
        if seen is not None:
            self.phase, signature = seen
            if self.phase == "apply" and not signature[1]:
                # The sync succeeded and no apply of it exists yet: its worker creates one at
                # once; give up waiting (and let verification count what stayed unapplied) only
                # after far longer than a takeover needs.
                self.synced = self.synced or time.monotonic()
                if time.monotonic() - self.synced > 3 * HEARTBEAT_TIMEOUT_S + 30:
                    self.phase = "done"
            if signature != self.signature:
                if self.fault_ended is not None and self.signature is not None:
                    self.recoveries.append(time.monotonic() - self.fault_ended)
                    self.fault_ended = None
                self.signature = signature
        if time.monotonic() - self.started > DRILL_TIMEOUT_S:
            self.phase = "timeout"
        return self.phase

    def fault(self, inject: Callable[[], None]) -> None:
        """Inject a fault once the runs have progressed since the previous one."""
        while self.fault_ended is not None and self.poll() in ("sync", "apply"):
            time.sleep(0.1)
        inject()
        self.fault_ended = time.monotonic()
        self.signature = None  # progress counts from the next reading after the fault

    def wait(self, phase: str, delay: float = 0.0) -> bool:
        """Wait until the runs are in ``phase`` (then ``delay`` more); False when they are past it."""
        order = ("sync", "apply", "done", "timeout")
        while (now := self.poll()) != phase:
            if order.index(now) > order.index(phase):
                return False
            time.sleep(0.1)
        time.sleep(delay)
        return self.poll() == phase

    def finish(self) -> None:
        while self.poll() in ("sync", "apply"):
            time.sleep(0.25)
        if self.fault_ended is not None:  # no progress left to observe after the last fault
            self.fault_ended = None


def drill(name: str, tenant: Tenant, servers: Servers, workers: Workers, args, rng: random.Random) -> dict:
    watch = Watch(tenant)
    tenant.start_sync()
    faults = 0
    if name == "worker_sigkill":
        for phase, count in (("sync", args.kills // 2), ("apply", args.kills - args.kills // 2)):
            for _ in range(count):
                if not watch.wait(phase, rng.uniform(0.2, 1.5)):
                    break
                watch.fault(lambda: workers.kill_one(rng))
                faults += 1
    elif name == "redis_flushall":
        for phase in ("sync", "apply"):
            for _ in range(args.flushes):
                if not watch.wait(phase, rng.uniform(0.2, 1.0)):
                    break
                watch.fault(servers.flushall)
                faults += 1
    elif name == "postgres_restart":
        for phase in ("sync", "apply"):
            if watch.wait(phase, 1.0):
                watch.fault(lambda: servers.postgres_outage(3.0))
                faults += 1
    elif name == "redis_outage":
        if watch.wait("sync", 1.0):
            watch.fault(lambda: servers.redis_outage(args.outage_s))
            faults += 1
    watch.finish()
    result = verify(servers, tenant, args.records, args.clean)
    return {**result, "faults": faults, "seconds": round(time.monotonic() - watch.started, 1),
            "recovery_seconds": round(max(watch.recoveries, default=0.0), 1),
            "timed_out": watch.phase == "timeout"}


def verify(servers: Servers, tenant: Tenant, records: int, clean: uuid.UUID | None) -> dict:
    t = tenant.info.id
    q = servers.sql
    [(versions, keys)] = q("SELECT count(*), count(DISTINCT record_key) FROM raw_records WHERE tenant_id = %(t)s", t=t)
    [(events, evented)] = q("SELECT count(*), count(DISTINCT raw_record_id) FROM canonical_events"
                            " WHERE tenant_id = %(t)s", t=t)
    [(unapplied,)] = q("SELECT count(*) FROM raw_records r WHERE r.tenant_id = %(t)s AND NOT EXISTS"
                       " (SELECT 1 FROM canonical_events e WHERE e.tenant_id = r.tenant_id"
                       " AND e.raw_record_id = r.id)", t=t)
    [(log_missing, log_extra)] = q(
        "SELECT (SELECT count(*) FROM canonical_events e WHERE e.tenant_id = %(t)s AND NOT EXISTS"
        "        (SELECT 1 FROM change_log c WHERE c.tenant_id = e.tenant_id AND c.event_id = e.id)),"
        "       (SELECT count(*) - count(DISTINCT event_id) FROM change_log WHERE tenant_id = %(t)s)", t=t)
    lost = max(records - keys, unapplied)
    duplicated = (versions - keys) + (events - evented)
    wrong = log_missing + log_extra
    if clean is not None:
        [(missing, extra, differ)] = q(
            "WITH d AS (SELECT record_key, data, is_deleted FROM canonical_records WHERE tenant_id = %(t)s),"
            "     c AS (SELECT record_key, data, is_deleted FROM canonical_records WHERE tenant_id = %(c)s)"
            " SELECT count(*) FILTER (WHERE d.record_key IS NULL), count(*) FILTER (WHERE c.record_key IS NULL),"
            "        count(*) FILTER (WHERE d.record_key IS NOT NULL AND c.record_key IS NOT NULL"
            "                         AND (d.data IS DISTINCT FROM c.data OR d.is_deleted <> c.is_deleted))"
            " FROM d FULL JOIN c USING (record_key)", t=t, c=clean)
        [(raw_differ,)] = q(
            "WITH d AS (SELECT r.record_key, r.payload FROM raw_record_heads h JOIN raw_records r"
            "           ON r.tenant_id = h.tenant_id AND r.id = h.raw_record_id WHERE h.tenant_id = %(t)s),"
            "     c AS (SELECT r.record_key, r.payload FROM raw_record_heads h JOIN raw_records r"
            "           ON r.tenant_id = h.tenant_id AND r.id = h.raw_record_id WHERE h.tenant_id = %(c)s)"
            " SELECT count(*) FROM d JOIN c USING (record_key) WHERE d.payload IS DISTINCT FROM c.payload",
            t=t, c=clean)
        lost, duplicated, wrong = max(lost, missing), duplicated + extra, wrong + differ + raw_differ
    stuck = q("SELECT status, count(*) FROM (SELECT status FROM sync_runs WHERE tenant_id = %(t)s"
              " UNION ALL SELECT status FROM apply_runs WHERE tenant_id = %(t)s) runs"
              " WHERE status <> 'succeeded' GROUP BY status", t=t)
    stuck_runs = sum(n for _, n in stuck)
    return {"records": records, "lost": lost, "duplicated": duplicated, "wrong": wrong, "stuck_runs": stuck_runs,
            "manual_steps": stuck_runs, "stuck_statuses": dict(stuck)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--flushes", type=int, default=3, help="FLUSHALLs during the sync, and as many during the apply.")
    parser.add_argument("--outage-s", type=float, default=30.0, help="How long Redis stays down.")
    parser.add_argument("--drills", default=",".join(DRILLS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="Print one JSON object last.")
    args = parser.parse_args()
    chosen = [d.strip() for d in args.drills.split(",") if d.strip()]
    if unknown := set(chosen) - set(DRILLS):
        parser.error(f"unknown drills: {', '.join(sorted(unknown))}")

    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="aos-chaos-"))
    started = time.monotonic()
    servers = Servers(root)
    rt = Runtime(servers.settings)
    workers = None
    results: dict[str, dict] = {}
    try:
        platform.migrate(rt)
        source = root / "accounts.csv"
        write_source(source, args.records)
        (root / "logs").mkdir()
        workers = Workers(servers.settings, args.workers, root / "logs")
        clean = Tenant(rt, servers, source, "clean")
        baseline = drill("clean", clean, servers, workers, argparse.Namespace(**{**vars(args), "clean": None}), rng)
        args.clean = clean.info.id
        print(f"clean run: {baseline['seconds']} s, lost {baseline['lost']}, stuck {baseline['stuck_runs']}",
              file=sys.stderr)
        for name in chosen:
            result = drill(name, Tenant(rt, servers, source, name.replace("_", "-")), servers, workers, args, rng)
            results[name] = result
            print(f"{name}: {result['faults']} faults, {result['seconds']} s, recovery {result['recovery_seconds']} s,"
                  f" lost {result['lost']}, duplicated {result['duplicated']}, wrong {result['wrong']},"
                  f" stuck {result['stuck_runs']} {result['stuck_statuses'] or ''}", file=sys.stderr)
    finally:
        if workers is not None:
            workers.stop()
        rt.close()
        servers.stop()
        shutil.rmtree(root / "servers", ignore_errors=True)  # the workers' logs stay for a look
        shutil.rmtree(root / "data", ignore_errors=True)
        (root / "accounts.csv").unlink(missing_ok=True)
    keys = ("records", "lost", "duplicated", "wrong", "stuck_runs", "recovery_seconds", "manual_steps")
    summary = {"drills": {name: {k: r[k] for k in keys} for name, r in results.items()},
               "clean_run_seconds": baseline["seconds"], "seconds": round(time.monotonic() - started, 1),
               "details": {name: {k: r[k] for k in ("faults", "seconds", "timed_out")} for name, r in results.items()},
               "logs": str(root / "logs")}
    if args.json:
        print(json.dumps(summary))
    else:
        for name, r in summary["drills"].items():
            print(f"{name:18} " + "  ".join(f"{k}={v}" for k, v in r.items()))
    failed = any(r[k] for r in summary["drills"].values() for k in ("lost", "duplicated", "wrong", "stuck_runs"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
