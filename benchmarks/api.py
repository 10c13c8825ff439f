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
    return tenant, key, ids


async def run_load(base: str, key: str, ids: list[str], clients: int, rate: float, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    next_slot = 0
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10) as http:
        start = time.perf_counter() + 0.2

        async def client() -> None:
            nonlocal next_slot, errors
            while next_slot < total:
                slot = next_slot
                next_slot += 1
                due = start + slot / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    if slot % 2:
                        response = await http.get("/records", params={"entity": "account", "limit": 100})
                    else:
                        response = await http.get(f"/records/{random.choice(ids)}")
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - due)

        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else 0.0

    return {"clients": clients, "duration_s": round(elapsed, 1), "offered_rps": rate,
            "requests_per_s": round(len(latencies) / elapsed, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0, help="Offered requests/s in all.")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ramp", default="300,400,500,600,800,1000", help="Rates tried after the fixed run.")
    parser.add_argument("--ramp-seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="Server processes (2: one a core here).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object last.")
    args = parser.parse_args()

    rt = Runtime(load_settings())
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
        asyncio.run(run_load(base, key, ids, args.clients, 50, 2))  # warm up caches and connections
        serial = asyncio.run(run_load(base, key, ids, 1, 20, 5))  # one client: latency without queueing
        fixed = asyncio.run(run_load(base, key, ids, args.clients, args.rate, args.seconds))
        best = args.rate if fixed["errors"] == 0 and fixed["p99_ms"] < P99_GOAL_MS else None
        steps = []
        if best is not None:
            for rate in (float(r) for r in args.ramp.split(",") if r):
                step = asyncio.run(run_load(base, key, ids, args.clients, rate, args.ramp_seconds))
                steps.append(step)
                if not args.json:
                    print(f"  ramp {rate:.0f}/s: p50 {step['p50_ms']} ms, p99 {step['p99_ms']} ms, "
                          f"{step['errors']} errors")
                if step["errors"] or step["p99_ms"] >= P99_GOAL_MS:
                    break
                best = rate
        result = {**fixed, "max_rps_p99_under_100ms": best, "records": args.records, "workers": args.workers,
                  "serial_p50_ms": serial["p50_ms"], "serial_p99_ms": serial["p99_ms"]}
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
