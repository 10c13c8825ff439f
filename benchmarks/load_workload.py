"""The load workload: tenants syncing, reviewing and applying at once on ``aos worker`` processes.

Each tenant gets a unique marker (in its slug, its connection names and every record it
writes, so the isolation checker can grep for it), a concurrency limit of its own
(``max_concurrent_syncs``, the operator's setting) and several files connections. Its driver
thread does what its people would: land a small sample of each connection, review the
matcher's proposals through the service layer (approve the top ``account`` candidate, reject
the rest), publish them (the publish backfills the sample), then drop the bulk files into the
connections' folders and sync again; the workers land them and apply them after the sync.
A sampler reads the running runs of each tenant every tenth of a second. Used by
``benchmarks/load.py`` and by the bounded test (``tests/services/test_load_isolation.py``).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from rq import Worker

from autonomos.aam.sync import jobs
from autonomos.engines.postgres import libpq_dsn, to_sqlalchemy_url
from autonomos.errors import AutonomosError
from autonomos.runtime import Runtime
from autonomos.services import apikeys, connections, mappings, review, sync, tenants, webhooks
from autonomos.services.sync_inputs import job_queue

WORKER_ENV = {"AOS_SYNC_HEARTBEAT_TIMEOUT_S": "10", "AOS_WORKER_UPKEEP_S": "1", "AOS_RETRY_BACKOFF_S": "1",
              "AOS_LOG_FORMAT": "json"}
"""What the chaos drills give their workers too: a quick reconciler, so a run the tenant limit
turned away is offered again within a second."""
FALLBACK_FIELDS = [{"source_field": "Id", "canonical_field": "id"}, {"source_field": "Name", "canonical_field": "name"},
                   {"source_field": "Industry", "canonical_field": "industry"}]
"""Published only if the reviewer approved nothing of ``account`` (the run reports how often)."""
INDUSTRIES = ("technology", "retail", "energy", "finance", "health")
WAIT_S = 1800


class Owner:
    """Queries as the database owner: what a monitoring person sees across tenants."""

    def __init__(self, database_url: str) -> None:
        self.dsn = libpq_dsn(to_sqlalchemy_url(database_url))

    def sql(self, query: str, **params: Any) -> list[tuple]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()


class Fleet:
    """``aos worker`` processes, the product's own entry point, as many as a round asks for."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = {**env, **WORKER_ENV}, logs
        self.processes: list[subprocess.Popen] = []

    def scale(self, count: int, rt: Runtime | None = None) -> None:
        """Replace the workers by ``count`` new ones; with ``rt``, return once all of them work the queue."""
        self.stop()
        self.logs.mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            log = (self.logs / f"worker-{uuid.uuid4().hex[:8]}.log").open("wb")
            self.processes.append(subprocess.Popen([sys.executable, "-m", "autonomos.cli", "worker"], env=self.env,
                                                   stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while rt is not None and time.monotonic() < deadline:
            names = {w.name for w in Worker.all(connection=rt.queue_redis, queue=jobs.sync_queue(job_queue(rt)))}
            if all(any(f"-{p.pid}-" in name for name in names) for p in self.processes):
                return
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        self.processes = []


def write_accounts(path: Path, marker: str, prefix: str, first: int, count: int) -> None:
    """Keyed accounts whose every row carries the tenant's marker."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "Name", "Industry", "AnnualRevenue", "Website", "BillingCity"])
        for i in range(first, first + count):
            writer.writerow([f"{prefix}-{i:09d}", f"{marker} Account {i}", INDUSTRIES[i % 5], str(1000 * (i % 997)),
                             f"https://{prefix}-{i}.example.com", f"{marker} City {i % 97}"])


@dataclass
class LoadTenant:
    """One tenant of the workload: its marker, limit, connections, API key and figures."""

    info: tenants.TenantInfo
    marker: str
    limit: int
    connections: list[str]
    folder: Path
    api_key: str
    per_connection: int
    sample: int
    times: dict[str, float] = field(default_factory=dict)
    fallbacks: int = 0
    error: str | None = None

    @property
    def records(self) -> int:
        return self.per_connection * len(self.connections)


def create_tenant(rt: Runtime, *, limit: int, connection_count: int, per_connection: int, sample: int,
                  hook_url: str | None) -> LoadTenant:
    marker = f"zq{uuid.uuid4().hex[:10]}"
    info = tenants.create_tenant(rt, f"load-{marker}", actor="load")
    tenants.update_settings(rt, info.slug, {"max_concurrent_syncs": limit,
                                            "api_rate_limit": {"per_second": 500, "burst": 1000}}, actor="load")
    folder = Path(rt.settings.data_dir).resolve() / "sources" / info.slug
    names = []
    for c in range(connection_count):
        name = f"{marker}-crm{c}"
        connections.create_connection(rt, info.id, provider="files", name=name, actor="load",
                                      config={"path": str(folder / f"c{c}" / "*.csv"), "format": "csv",
                                              "stream": "accounts", "primary_key": ["Id"]})
        names.append(name)
    _, key = apikeys.create_key(rt, info.id, "admin", name=f"{marker} checker", actor="load")
    if hook_url:
        webhooks.create_webhook(rt, info.id, f"{hook_url}/{info.slug}", [], actor="load")
    return LoadTenant(info, marker, limit, names, folder, key, per_connection, sample)


def _wait_syncs(rt: Runtime, tenant: LoadTenant, run_ids: list[uuid.UUID]) -> None:
    deadline = time.monotonic() + WAIT_S
    for run_id in run_ids:
        while (status := sync.get_run(rt, tenant.info.id, run_id).status) != "succeeded":
            if status in ("failed", "abandoned", "cancelled") or time.monotonic() > deadline:
                raise AutonomosError(f"sync run {run_id} ended {status}")
            time.sleep(0.2)


def _wait_applied(owner: Owner, tenant: LoadTenant, expected: int) -> None:
    """Until every apply run of the tenant is done and its canonical records are all there."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        [(active, bad, held, records)] = owner.sql(
            "SELECT (SELECT count(*) FROM apply_runs WHERE tenant_id = %(t)s AND status IN ('pending', 'running')),"
            "       (SELECT count(*) FROM apply_runs WHERE tenant_id = %(t)s AND status IN ('failed', 'abandoned')),"
            "       (SELECT count(*) FROM drift_events WHERE tenant_id = %(t)s AND status = 'open'"
            "        AND severity = 'breaking'),"
            "       (SELECT count(*) FROM canonical_records WHERE tenant_id = %(t)s)", t=tenant.info.id)
        if bad or held:  # a held stream waits for a person: the workload would wait for ever
            raise AutonomosError(f"{tenant.info.slug}: {bad} apply runs failed, {held} breaking drift events open")
        if not active and records >= expected:
            return
        time.sleep(0.25)
    raise AutonomosError(f"{tenant.info.slug}: not applied after {WAIT_S} s")


def _review(rt: Runtime, tenant: LoadTenant, connection: str) -> None:
    """What a reviewer does with the queue: approve each field's top ``account`` candidate, reject the rest, publish."""
    actor = f"reviewer:{tenant.marker}"
    review.propose_stream(rt, tenant.info.id, connection, "accounts", actor=actor)
    approved = 0
    for proposal in review.list_queue(rt, tenant.info.id, connection=connection, stream="accounts"):
        top = proposal.candidates[0] if proposal.candidates else None
        if top is not None and top["entity"] == "account":
            review.review(rt, tenant.info.id, proposal.id, "approve", actor=actor)
            approved += 1
    review.reject_open(rt, tenant.info.id, connection, "accounts", actor=actor)
    if approved:
        mappings.publish_reviewed(rt, tenant.info.id, connection, "accounts", actor=actor)
    else:
        tenant.fallbacks += 1
        mappings.publish_fields(rt, tenant.info.id, connection, "accounts", "account", FALLBACK_FIELDS, actor=actor)


def drive(rt: Runtime, owner: Owner, tenant: LoadTenant, start: float, review_lock: threading.Lock,
          reviewed: threading.Barrier) -> None:
    """The tenant's day: sample, review, publish, then (once every tenant is reviewed) the bulk
    sync and its apply."""
    try:
        for c, _ in enumerate(tenant.connections):
            write_accounts(tenant.folder / f"c{c}" / "part-0.csv", tenant.marker, f"{tenant.marker}-{c}", 0,
                           tenant.sample)
        tenant.times["requested"] = time.monotonic() - start
        runs = [sync.start_sync(rt, tenant.info.id, name, actor="load").run.id for name in tenant.connections]
        _wait_syncs(rt, tenant, runs)
        for name in tenant.connections:
            with review_lock:  # the matcher's embedder is shared by the driver's threads
                _review(rt, tenant, name)
        tenant.times["reviewed"] = time.monotonic() - start
        reviewed.wait(timeout=WAIT_S)  # the bulks drop together: the window measures sync and apply, not reviews
        for c, _ in enumerate(tenant.connections):
            write_accounts(tenant.folder / f"c{c}" / "part-1.csv", tenant.marker, f"{tenant.marker}-{c}",
                           tenant.sample, tenant.per_connection - tenant.sample)
        tenant.times["bulk_started"] = time.monotonic() - start
        runs = [sync.start_sync(rt, tenant.info.id, name, actor="load").run.id for name in tenant.connections]
        _wait_syncs(rt, tenant, runs)
        _wait_applied(owner, tenant, tenant.records)
        tenant.times["finished"] = time.monotonic() - start
    except Exception as exc:  # reported, and the round fails on it
        reviewed.abort()
        tenant.error = f"{type(exc).__name__}: {exc}"


class Sampler(threading.Thread):
    """Running sync and apply runs of each tenant, read every ``every`` seconds as the owner."""

    def __init__(self, owner: Owner, tenants_: list[LoadTenant], start: float, every: float = 0.1) -> None:
        super().__init__(name="load-sampler", daemon=True)
        self.owner, self.ids, self.t0, self.every = owner, [t.info.id for t in tenants_], start, every
        self.max_syncs = {t: 0 for t in self.ids}
        self.max_applies = {t: 0 for t in self.ids}
        self.first_running: dict[uuid.UUID, float] = {}
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.owner.dsn, autocommit=True) as conn:
            while not self.halt.is_set():
                rows = conn.execute(
                    "SELECT t, (SELECT count(*) FROM sync_runs s WHERE s.tenant_id = t AND s.status = 'running'),"
                    "          (SELECT count(*) FROM apply_runs a WHERE a.tenant_id = t AND a.status = 'running')"
                    " FROM unnest(%s::uuid[]) t", (self.ids,)).fetchall()
                now = time.monotonic() - self.t0
                for tenant_id, syncs, applies in rows:
                    self.max_syncs[tenant_id] = max(self.max_syncs[tenant_id], syncs)
                    self.max_applies[tenant_id] = max(self.max_applies[tenant_id], applies)
                    if syncs and tenant_id not in self.first_running:
                        self.first_running[tenant_id] = now
                self.samples += 1
                self.halt.wait(self.every)


def run_round(rt: Runtime, owner: Owner, fleet: Fleet, workers: int, *, limits: list[int], connection_count: int,
              per_connection: int, sample: int, hook_url: str | None,
              created: Callable[[list[LoadTenant]], None] | None = None) -> tuple[dict[str, Any], list[LoadTenant]]:
    """One round: fresh tenants, ``workers`` worker processes, every tenant driven at once
    (``created`` is told of the tenants before they start: the checker's listeners)."""
    made = [create_tenant(rt, limit=limit, connection_count=connection_count, per_connection=per_connection,
                          sample=sample, hook_url=hook_url) for limit in limits]
    if created is not None:
        created(made)
    fleet.scale(workers, rt)
    start, wall = time.monotonic(), time.time()
    sampler = Sampler(owner, made, start)
    sampler.start()
    lock, reviewed = threading.Lock(), threading.Barrier(len(made))
    threads = [threading.Thread(target=drive, args=(rt, owner, t, start, lock, reviewed), name=f"drive-{t.marker}")
               for t in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sampler.halt.set()
    sampler.join()
    summary = summarise(owner, made, sampler, workers, start)
    summary["timeline"] = timeline(owner, made, wall)
    return summary, made


def timeline(owner: Owner, made: list[LoadTenant], wall: float) -> list[list[Any]]:
    """Every sync and apply run of the round's tenants: [tenant marker, kind, connection or
    mapping, started, finished] in seconds from the round's start (where the time went)."""
    markers = {t.info.id: t.marker for t in made}
    rows = owner.sql(
        "SELECT tenant_id, 'sync', connection_id::text, extract(epoch FROM started_at), extract(epoch FROM finished_at)"
        "  FROM sync_runs WHERE tenant_id = ANY(%(t)s) AND started_at IS NOT NULL"
        " UNION ALL SELECT tenant_id, 'apply', mapping_id::text, extract(epoch FROM started_at),"
        "       extract(epoch FROM finished_at) FROM apply_runs WHERE tenant_id = ANY(%(t)s)"
        " ORDER BY 4", t=list(markers))
    return [[markers[tenant], kind, ref[:8], round(float(begin) - wall, 2),
             None if end is None else round(float(end) - wall, 2)] for tenant, kind, ref, begin, end in rows]


def summarise(owner: Owner, made: list[LoadTenant], sampler: Sampler, workers: int, start: float) -> dict[str, Any]:
    per_tenant: dict[str, dict[str, Any]] = {}
    for t in made:
        [(first_start,)] = owner.sql(
            "SELECT extract(epoch FROM min(started_at) - min(created_at)) FROM sync_runs WHERE tenant_id = %(t)s",
            t=t.info.id)
        per_tenant[t.info.slug] = {
            "limit": t.limit, "max_running_syncs": sampler.max_syncs[t.info.id],
            "max_running_applies": sampler.max_applies[t.info.id], "records": t.records,
            "first_run_start_s": round(float(first_start or 0), 2),
            "first_progress_s": round(sampler.first_running.get(t.info.id, -1.0), 2),
            "finished_s": round(t.times.get("finished", -1.0), 2), "review_fallbacks": t.fallbacks, "error": t.error,
            "times": {k: round(v, 2) for k, v in t.times.items()}}
    done = [t for t in made if "finished" in t.times]
    bulk = sum(t.records - t.sample * len(t.connections) for t in made)
    window = (max(t.times["finished"] for t in done) - min(t.times["bulk_started"] for t in done)) if done else 0.0
    total_s = max((t.times["finished"] for t in done), default=0.0)
    finished = [v["finished_s"] for v in per_tenant.values() if v["finished_s"] >= 0]
    starved = [slug for slug, v in per_tenant.items()
               if v["first_progress_s"] < 0 or (finished and v["first_progress_s"] > min(finished))]
    return {"workers": workers, "records": sum(t.records for t in made), "bulk_records": bulk,
            "bulk_seconds": round(window, 1), "seconds": round(total_s, 1),
            "records_per_s": round(bulk / window, 1) if window and len(done) == len(made) else 0.0,
            "limit_breaches": sum(1 for v in per_tenant.values() if v["max_running_syncs"] > v["limit"]),
            "starved": starved, "errors": [t.error for t in made if t.error], "samples": sampler.samples,
            "tenants": per_tenant}


def settle(owner: Owner, made: list[LoadTenant], timeout_s: float = 120) -> None:
    """Until the workers' upkeep has sent every webhook delivery and embedded every outbox row
    of these tenants (what the checker looks at next), or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    ids = [t.info.id for t in made]
    while time.monotonic() < deadline:
        [(deliveries, outbox)] = owner.sql(
            "SELECT (SELECT count(*) FROM webhook_deliveries WHERE tenant_id = ANY(%(t)s) AND status = 'pending'),"
            "       (SELECT count(*) FROM embedding_outbox WHERE tenant_id = ANY(%(t)s) AND processed_at IS NULL)",
            t=ids)
        if not deliveries and not outbox:
            return
        time.sleep(0.5)
    print(f"not settled after {timeout_s:.0f} s: {deliveries} webhook deliveries pending, "
          f"{outbox} outbox rows unembedded", file=sys.stderr)
