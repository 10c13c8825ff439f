"""pgvector at scale: query latency and recall@10 as the product queries, and the index build time.

usage: python benchmarks/vectors.py [--json] [--vectors N] [--tenants T] [--queries Q] [--ef-search E,..]
                                   [--maintenance-work-mem SIZE] [--build-workers W]

``--vectors`` (default 100,000; 1,000,000 fits a 24 GB machine) vectors of 384 dimensions (the
default embedder's), spread evenly over ``--tenants`` (default 5, at least 3) fresh tenants, are loaded into
``vector_items`` by binary COPY with the 384-dimension HNSW index dropped (timed: ``copy_s``),
then the index is built again exactly as the migration defines it (the definitions are read from
the catalogue before the drop and replayed: one index ``ON ONLY`` the partitioned table, one per
hash partition, attached to it; timed: ``index_build_s``), with ``maintenance_work_mem`` large
enough to hold a graph (default 4 GB: 1,000,000 vectors of 384 dimensions need about 2 GB; a
graph that outgrows it is built far more slowly) and ``--build-workers`` parallel maintenance
workers (default 2).

The tenants (at least 3) are placed, not left to their random ids: the first is alone in its
hash partition (``alone``), the second and third share one (``shared``: the tenant filter runs
after the scan of a graph half of whose vectors are the other tenant's), the rest sit in other
partitions. ``--queries`` (default 200) queries for the ``alone`` tenant and for one ``shared``
tenant go through ``PgVectorStore.query`` (one round trip: tenant transaction under RLS,
iterative scan, ``ef_search`` scaled by the tenant's share of its partition, k=10): p50 and p95
in milliseconds (after 50 other queries, not measured, have read the partition's graph into
memory), and recall@10 against exact search (brute force over the tenant's vectors). The
same queries are then run under EXPLAIN ANALYZE (``server_p50_ms``/``server_p95_ms``): the time
inside the server, so what the index costs can be told from the round trip and, on a busy
machine, from waiting for a core. ``shared_unscaled`` is the shared tenant at the fixed
``ef_search`` (what the store did before scaling). Per case: ``cases`` (with the partition, the
``ef_search`` applied and the load average); the top-level figures are the worse of ``alone``
and ``shared`` per figure (highest latency, lowest recall). ``--ef-search 100,200,400`` measures
each case at each base ``hnsw.ef_search`` (``by_ef_search``, worse case per figure).

The vectors are synthetic: unit vectors around 1,000 random centres (a clustered cloud, as
embeddings of related names are), seeded, so runs are repeatable. Embedding 100,000 texts with
the model would measure the model, not the store.

The script drops and rebuilds a product index: run it against a database that serves no one else
(the embedded server of your own AOS_DATA_DIR). The index is rebuilt even when loading fails, and
the benchmark's tenants are deleted afterwards. With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from sqlalchemy import text

from autonomos.config import load_settings
from autonomos.dcl.vectors.pgvector_store import PgVectorStore, search_sql
from autonomos.engines.postgres import libpq_dsn
from autonomos.runtime import Runtime
from autonomos.services import platform, tenants

DIMENSIONS = 384
MODEL = "bench-384"
INDEX = f"ix_vector_items_hnsw_{DIMENSIONS}"
"""The migration's index on the partitioned table; each partition's is ``ix_<partition>_hnsw_384``."""
CENTRES = 1000
CHUNK = 50_000
WARM_UP = 50
"""Queries per case run before the measured ones, not measured (other vectors than those measured)."""


def cloud(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    """``n`` unit vectors scattered around the centres (made in slices: 1,000,000 at once would
    hold 3 GB of float64 noise)."""
    out = np.empty((n, DIMENSIONS), dtype=np.float32)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        points = centres[rng.integers(0, len(centres), size)] + rng.normal(scale=0.7, size=(size, DIMENSIONS))
        out[start:start + size] = points / np.linalg.norm(points, axis=1, keepdims=True)
    return out


def index_definitions(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(definition, partition index or "") of the 384-dimension HNSW index as the migration made
    it: the parent's first, then each partition's, to be attached to the parent's."""
    rows = conn.execute(
        "SELECT c.relname, pg_get_indexdef(c.oid), p.relname IS NOT NULL FROM pg_class c "
        "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE c.relname = %(parent)s OR p.relname = %(parent)s ORDER BY 3, 1", {"parent": INDEX}).fetchall()
    if not rows:
        raise SystemExit(f"{INDEX} is missing: run `aos migrate` (the vectors tree) first")
    return [(definition, name if child else "") for name, definition, child in rows]


def load(rt: Runtime, tenant_ids: list[uuid.UUID], vectors: np.ndarray, *, work_mem: str,
         workers: int) -> tuple[float, float]:
    """(seconds to COPY, seconds to build the index): drop the index, COPY in binary, rebuild it
    with ``work_mem`` of maintenance memory and ``workers`` parallel maintenance workers."""
    with psycopg.connect(libpq_dsn(rt.database_url), autocommit=True) as conn:
        register_vector(conn)
        definitions = index_definitions(conn)
        conn.execute(f"DROP INDEX IF EXISTS {INDEX}")  # the partitions' go with it
        try:
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy(
                    "COPY vector_items (tenant_id, kind, ref_id, model, dimensions, embedding, content_hash) "
                    "FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["uuid", "varchar", "text", "text", "int4", "vector", "varchar"])
                for i, vector in enumerate(vectors):
                    copy.write_row([tenant_ids[i % len(tenant_ids)], "source_field", f"bench:{i}", MODEL,
                                    DIMENSIONS, vector, "bench"])
            copy_s = time.perf_counter() - started
        finally:
            conn.execute(f"SET maintenance_work_mem = '{work_mem}'")
            conn.execute(f"SET max_parallel_maintenance_workers = {workers}")
            started = time.perf_counter()
            for definition, child in definitions:
                conn.execute(definition)
                if child:
                    conn.execute(f"ALTER INDEX {INDEX} ATTACH PARTITION {child}")
            build_s = time.perf_counter() - started
        conn.execute("ANALYZE vector_items")
    return copy_s, build_s


def partition_index(conn: psycopg.Connection, tenant_id: uuid.UUID) -> int:
    """The hash partition (its remainder) that ``tenant_id``'s rows go to."""
    return conn.execute(
        "SELECT r FROM (SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'vector_items'::regclass) p, "
        "generate_series(0, p.n - 1) AS r WHERE satisfies_hash_partition('vector_items'::regclass, p.n, r, %(t)s)",
        {"t": tenant_id}).fetchone()[0]


def placed_tenants(rt: Runtime, count: int) -> list:
    """``count`` (>= 3) new tenants: the first alone in its partition, the second and third
    sharing one, the others elsewhere. Tenants that fit nowhere are deleted again."""
    kept, spare, partitions = [], [], {}
    with psycopg.connect(libpq_dsn(rt.database_url), autocommit=True) as conn:
        for _ in range(400):  # two random ids share a partition 1 time in 16
            tenant = tenants.create_tenant(rt, f"bench-vec-{uuid.uuid4().hex[:8]}", actor="benchmark")
            partitions[tenant.id] = partition_index(conn, tenant.id)
            spare.append(tenant)
            alone = spare[0]
            taken = {partitions[alone.id]}
            pair = next(([a, b] for i, a in enumerate(spare[1:], 1) for b in spare[i + 1:]
                         if partitions[a.id] == partitions[b.id] not in taken), None)
            if pair is None:
                continue
            taken.add(partitions[pair[0].id])
            others = [t for t in spare if t not in pair and t is not alone and partitions[t.id] not in taken]
            if len(others) >= count - 3:
                kept = [alone, *pair, *others[:count - 3]]
                break
    for tenant in spare:
        if tenant not in kept:
            tenants.delete_tenant(rt, tenant.slug, actor="benchmark")
    if not kept:
        raise SystemExit("no placement of the tenants found")
    return kept


def partition_of(rt: Runtime, tenant_id: uuid.UUID) -> dict:
    """The partition holding ``tenant_id``'s vectors: its name, rows and tenants (other tenants
    sharing it share its graph, and the tenant filter runs after the scan)."""
    with rt.db.tenant(tenant_id) as session:
        name = session.scalar(text("SELECT tableoid::regclass::text FROM vector_items WHERE tenant_id = :t LIMIT 1"),
                              {"t": tenant_id})
    with psycopg.connect(libpq_dsn(rt.database_url), autocommit=True) as conn:
        rows, tenant_count = conn.execute(f"SELECT count(*), count(DISTINCT tenant_id) FROM {name}").fetchone()
    return {"name": name, "rows": rows, "tenants": tenant_count}


def exact(mine: np.ndarray, refs: np.ndarray, asked: np.ndarray, k: int) -> list[set[str]]:
    """The true ``k`` nearest of each query among the tenant's vectors (unit vectors: cosine
    distance orders as the dot product, descending), by brute force."""
    scores = np.ascontiguousarray(mine) @ asked.T  # (tenant's vectors, queries)
    best = np.argpartition(-scores, k, axis=0)[:k]
    return [{f"bench:{i}" for i in refs[best[:, j]]} for j in range(len(asked))]


def store_sql() -> str:
    """The SQL ``PgVectorStore.query`` sends for this benchmark's queries (no kind filter)."""
    return search_sql(DIMENSIONS, by_kind=False)


def explain(rt: Runtime, ef_search: int, store: PgVectorStore, sql: str, tenant_id: uuid.UUID,
            vector: np.ndarray, options: str = "") -> list[str]:
    """EXPLAIN ``options`` of the store's query, in a tenant transaction with the store's settings
    (``ef_search`` as the store applies it to this tenant)."""
    q = "[" + ",".join(repr(float(x)) for x in vector) + "]"
    with rt.db.tenant(tenant_id) as session:
        session.execute(text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                             " set_config('hnsw.ef_search', :ef, true), set_config('hnsw.max_scan_tuples', :mst, true)"),
                        {"ef": str(ef_search), "mst": str(store.max_scan_tuples)})
        rows = session.execute(text(f"EXPLAIN {options} {sql}"), {"q": q, "t": tenant_id, "m": MODEL, "k": 10}).all()
    return [r[0] for r in rows]


def server_ms(rt: Runtime, ef_search: int, store: PgVectorStore, sql: str, tenant_id: uuid.UUID,
              vector: np.ndarray) -> float:
    """The query's execution time inside the server (EXPLAIN ANALYZE): the index scan and the
    filter, without the round trips of the tenant transaction around it."""
    lines = explain(rt, ef_search, store, sql, tenant_id, vector, "(ANALYZE, TIMING OFF)")
    return float(next(line for line in lines if line.startswith("Execution Time")).split()[2])


def measure(rt: Runtime, store: PgVectorStore, tenant_id: uuid.UUID, asked: np.ndarray,
            truths: list[set[str]], warm: np.ndarray) -> dict:
    """Latency through ``store.query``, recall@10 against ``truths``, the time inside the server
    and whether the HNSW index served the query, at the store's ``ef_search``; after ``warm``
    queries (not measured) have read the partition's graph into memory, as a tenant's steady
    traffic keeps it."""
    applied = store.ef_search_for(tenant_id, MODEL, None, 10)  # also fills the store's cache of shares
    for vector in warm:
        store.query(tenant_id, vector.tolist(), 10, model=MODEL)
    latencies, recalls = [], []
    for vector, truth in zip(asked, truths):
        started = time.perf_counter()
        hits = store.query(tenant_id, vector.tolist(), 10, model=MODEL)
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len(truth & {h.ref_id for h in hits}) / max(len(truth), 1))
    q = statistics.quantiles(latencies, n=100)
    sql = store_sql()
    plan = "\n".join(explain(rt, applied, store, sql, tenant_id, asked[0]))
    server = statistics.quantiles([server_ms(rt, applied, store, sql, tenant_id, v) for v in asked], n=100)
    return {"ef_search": store.ef_search, "ef_search_applied": applied,
            "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2),
            "recall_at_10": round(statistics.fmean(recalls), 4),
            "server_p50_ms": round(server[49], 2), "server_p95_ms": round(server[94], 2),
            "uses_hnsw_index": f"_hnsw_{DIMENSIONS}" in plan}


WORST = {"p50_ms": max, "p95_ms": max, "recall_at_10": min, "server_p50_ms": max, "server_p95_ms": max,
         "uses_hnsw_index": min}
"""How the top-level figure is taken from the cases: the worse one."""


def worst(figures: list[dict]) -> dict:
    return {key: pick(f[key] for f in figures) for key, pick in WORST.items()}


def run(rt: Runtime, count: int, tenant_count: int, queries: int, *, work_mem: str = "4GB",
        workers: int = 2, ef_searches: tuple[int, ...] = (100,)) -> dict:
    load_before = [round(x, 2) for x in os.getloadavg()]
    rng = np.random.default_rng(384)
    centres = rng.normal(size=(CENTRES, DIMENSIONS)).astype(np.float32)
    vectors = cloud(rng, centres, count)
    created = placed_tenants(rt, max(tenant_count, 3))
    try:
        ids = [t.id for t in created]
        copy_s, build_s = load(rt, ids, vectors, work_mem=work_mem, workers=workers)
        asked = cloud(rng, centres, queries)
        warm = cloud(rng, centres, WARM_UP)
        refs = np.arange(count)
        truths = {name: exact(vectors[i::len(ids)], refs[i::len(ids)], asked, 10)
                  for name, i in (("alone", 0), ("shared", 1))}
        del vectors  # 1.5 GB at 1,000,000
        cases: dict[str, dict] = {}
        for name, i, scaled in (("alone", 0, True), ("shared", 1, True), ("shared_unscaled", 1, False)):
            by_ef = {ef: measure(rt, PgVectorStore(rt.db, ef_search=ef, scale_by_share=scaled), ids[i], asked,
                                 truths[name.split("_")[0]], warm) for ef in ef_searches}
            default = by_ef.get(PgVectorStore.DEFAULT_EF_SEARCH, by_ef[ef_searches[0]])  # the product's setting
            cases[name] = {**default, "partition": partition_of(rt, ids[i]), "by_ef_search": by_ef,
                           "load_average": [round(x, 2) for x in os.getloadavg()]}
        product = [cases["alone"], cases["shared"]]
        return {"vectors": count, "dimensions": DIMENSIONS, "tenants": len(ids), "queries": queries,
                "vectors_of_queried_tenant": len(range(0, count, len(ids))),
                "queried_partition": cases["shared"]["partition"],
                "copy_s": round(copy_s, 1), "index_build_s": round(build_s, 1),
                "maintenance_work_mem": work_mem, "build_workers": workers,
                "ef_search": product[0]["ef_search"], **worst(product),
                "by_ef_search": {ef: {"ef_search": ef, **worst([c["by_ef_search"][ef] for c in product])}
                                 for ef in ef_searches},
                "cases": cases,
                "load_average_start": load_before, "load_average": [round(x, 2) for x in os.getloadavg()]}
    finally:
        for tenant in created:
            tenants.delete_tenant(rt, tenant.slug, actor="benchmark")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--maintenance-work-mem", default="4GB", help="for the index build (default 4GB)")
    parser.add_argument("--build-workers", type=int, default=2, help="parallel maintenance workers (default 2)")
    parser.add_argument("--ef-search", default=str(PgVectorStore.DEFAULT_EF_SEARCH),
                        help="comma-separated hnsw.ef_search values to measure (default: the store's)")
    args = parser.parse_args(argv)
    rt = Runtime(load_settings())
    try:
        platform.migrate(rt)
        result = run(rt, args.vectors, args.tenants, args.queries, work_mem=args.maintenance_work_mem,
                     workers=args.build_workers, ef_searches=tuple(int(x) for x in args.ef_search.split(",")))
    finally:
        rt.close()
    for key, value in result.items():
        print(f"{key:>26}: {value}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
