"""HTTP API benchmark: ``aos serve`` on loopback under a fixed offered rate, then a ramp.

Setup (not timed): a fresh tenant with N canonical records (landed and applied through the
real path), a reader key whose tenant rate limit is far above the offered load, and
``aos serve`` started as a subprocess on the same engines (embedded unless configured).
Timed: ``--clients`` concurrent clients on loopback send ``--rate`` requests/s in all for
``--seconds`` (half list a page of 100 records, half read one record). Requests are sent on a
fixed schedule (open loop), and latency is measured from each request's scheduled time, so a
slow server shows up as latency, not as a lower offered rate. Then the rate is raised step by
step (``--ramp-seconds`` each) to the highest that keeps p99 < 100 ms with no errors.
The load generator runs on the same machine as the server.

    python benchmarks/api.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid

import httpx

from autonomos.config import load_settings
from autonomos.runtime import Runtime
from autonomos.services import apikeys, connections, mappings, platform, records, tenants

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from apply import FIELDS, land  # noqa: E402  (the apply benchmark's records and landing)

P99_GOAL_MS = 100.0

try:  # the server's event loop (uvicorn picks it) serves the generator too: less CPU per request
    from uvloop import run as run_loop
except ImportError:
    from asyncio import run as run_loop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(rt: Runtime, count: int) -> tuple[tenants.TenantInfo, str, list[str]]:
    tenant = tenants.create_tenant(rt, f"bench-api-{uuid.uuid4().hex[:8]}", actor="benchmark")
    tenants.update_settings(rt, tenant.slug, {"api_rate_limit": {"per_second": 1_000_000, "burst": 1_000_000}},
                            actor="benchmark")
    conn = connections.create_connection(rt, tenant.id, provider="files", name="sfdc", config={}, actor="benchmark")
    land(rt, tenant.id, uuid.UUID(conn.id), count)
    mappings.publish_fields(rt, tenant.id, "sfdc", "Account", "account", FIELDS, actor="benchmark")
    ids = [r["id"] for r in records.list_records(rt, tenant.id, "account", limit=count)]
    _, key = apikeys.create_key(rt, tenant.id, "reader", name="benchmark", actor="benchmark")
    analyze(rt)
    return tenant, key, ids


def analyze(rt: Runtime) -> None:
    """Fresh planner statistics for the tables the reads touch, as autovacuum would have soon
    after a bulk load: planned on stale ones (rows=1 for the tenant), a record read by id
    scanned every record of the entity instead of the primary key."""
    import psycopg

    from autonomos.engines.postgres import libpq_dsn
    with psycopg.connect(libpq_dsn(rt.db.owner_url), autocommit=True) as conn:
        conn.execute("ANALYZE canonical_records, change_log, canonical_events, entity_links, connections, tenants")


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time, read by Content-Length.

    A minimal client on purpose: the load generator shares the machine with the server, and a
    general client (httpx) spent more CPU per request than the server's cheap routes."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            waiter.set_exception(ConnectionError("a response without Content-Length"))
            return
        stop = head.find(b"\r\n", at + 2)
        size = end + 4 + int(head[at + 17:stop if stop > 0 else len(head)])
        if len(self.buffer) >= size:
            del self.buffer[:size]
            waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))


async def run_load(base: str, key: str, ids: list[str], clients: int, rate: float, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    next_slot = 0
    host, port = base.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    head = f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
    listing = b"GET /records?entity=account&limit=100 HTTP/1.1\r\n" + head
    start = time.perf_counter() + 0.2

    async def client() -> None:
        nonlocal next_slot, errors
        connection: _Connection | None = None
        while next_slot < total:
            slot = next_slot
            next_slot += 1
            due = start + slot / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            request = listing if slot % 2 else (f"GET /records/{random.choice(ids)} HTTP/1.1\r\n".encode() + head)
            try:
                if connection is None or connection.transport is None:
                    _, connection = await loop.create_connection(_Connection, host, int(port))
                connection.buffer.clear()
                connection.waiter = loop.create_future()
                connection.transport.write(request)
                status = await asyncio.wait_for(connection.waiter, 10)
                if status != 200:
                    errors += 1
            except (OSError, asyncio.TimeoutError, ValueError):
                errors += 1
                if connection is not None and connection.transport is not None:
                    connection.transport.close()
                connection = None
            latencies.append(time.perf_counter() - due)
        if connection is not None and connection.transport is not None:
            connection.transport.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else 0.0

    return {"clients": clients, "duration_s": round(elapsed, 1), "offered_rps": rate,
            "requests_per_s": round(len(latencies) / elapsed, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "errors": errors}


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def cpu_seconds(root: int | None) -> float:
    """CPU time of ``root`` and every process below it, with the children they reaped
    (``/proc``: utime + stime + cutime + cstime)."""
    if root is None:
        return 0.0
    kids, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])
        stack.extend(kids.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def _pid_in(path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cpu_per_request(base: str, key: str, ids: list[str], clients: int, rate: float, seconds: float,
                    server: int, data_dir) -> dict:
    """A run at a modest fixed rate with the CPU it cost, in ms per request, by process: the
    server's workers, the embedded Postgres and Redis (absent when configured elsewhere) and
    this load generator. CPU rather than latency: it does not depend on what else the machine runs."""
    parts = {"server": server, "postgres": _pid_in(data_dir / "postgres" / "postmaster.pid"),
             "redis": _pid_in(data_dir / "redis" / "redis.pid")}
    before = {name: cpu_seconds(pid) for name, pid in parts.items()}
    mine = os.times()
    run = run_loop(run_load(base, key, ids, clients, rate, seconds))
    used = os.times()
    spent = {name: cpu_seconds(pid) - before[name] for name, pid in parts.items()}
    spent["generator"] = (used.user + used.system) - (mine.user + mine.system)
    count = max(1, int(rate * seconds))
    return {**{f"{name}_cpu_ms": round(value * 1000 / count, 2) for name, value in spent.items()},
            "rate": rate, "p50_ms": run["p50_ms"], "errors": run["errors"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0, help="Offered requests/s in all.")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ramp", default="300,400,500,600,800,1000", help="Rates tried after the fixed run.")
    parser.add_argument("--ramp-seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="Server processes (2: one a core here).")
    parser.add_argument("--cpu", action="store_true",
                        help="First measure CPU per request (server, Postgres, Redis, generator) at --cpu-rate.")
    parser.add_argument("--cpu-only", action="store_true", help="Only the CPU measurement (implies --cpu).")
    parser.add_argument("--cpu-rate", type=float, default=40.0)
    parser.add_argument("--cpu-seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true", help="Print one JSON object last.")
    args = parser.parse_args()

    settings = load_settings()
    rt = Runtime(settings)
    platform.migrate(rt)
    tenant, key, ids = seed(rt, args.records)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "autonomos.cli", "serve", "--port", str(port),
                               "--workers", str(args.workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        run_loop(run_load(base, key, ids, args.clients, 50, 2))  # warm up caches and connections
        cpu = None
        if args.cpu or args.cpu_only:
            cpu = cpu_per_request(base, key, ids, args.clients, args.cpu_rate, args.cpu_seconds, server.pid,
                                  settings.data_dir.expanduser().resolve())
            if args.cpu_only:
                print(json.dumps(cpu) if args.json else f"CPU per request: {cpu}")
                return
        serial = run_loop(run_load(base, key, ids, 1, 20, 5))  # one client: latency without queueing
        fixed = run_loop(run_load(base, key, ids, args.clients, args.rate, args.seconds))
        best = args.rate if fixed["errors"] == 0 and fixed["p99_ms"] < P99_GOAL_MS else None
        steps = []
        if best is not None:
            for rate in (float(r) for r in args.ramp.split(",") if r):
                step = run_loop(run_load(base, key, ids, args.clients, rate, args.ramp_seconds))
                steps.append(step)
                if not args.json:
                    print(f"  ramp {rate:.0f}/s: p50 {step['p50_ms']} ms, p99 {step['p99_ms']} ms, "
                          f"{step['errors']} errors")
                if step["errors"] or step["p99_ms"] >= P99_GOAL_MS:
                    break
                best = rate
        result = {**fixed, "max_rps_p99_under_100ms": best, "records": args.records, "workers": args.workers,
                  "serial_p50_ms": serial["p50_ms"], "serial_p99_ms": serial["p99_ms"],
                  **({"cpu_ms_per_request": cpu} if cpu else {})}
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{args.clients} clients, {args.rate:.0f} req/s offered for {fixed['duration_s']} s: "
                  f"{fixed['requests_per_s']} req/s, p50 {fixed['p50_ms']} ms, p99 {fixed['p99_ms']} ms, "
                  f"{fixed['errors']} errors; highest rate with p99 < 100 ms: {best}; one client alone: "
                  f"p50 {serial['p50_ms']} ms, p99 {serial['p99_ms']} ms")
    finally:
        server.terminate()
        server.wait(timeout=30)
        tenants.delete_tenant(rt, tenant.slug, actor="benchmark")
        rt.close()


if __name__ == "__main__":
    main()
