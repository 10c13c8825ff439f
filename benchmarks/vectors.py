"""pgvector at scale: query latency and recall@10 as the product queries, and the index build time.

usage: python benchmarks/vectors.py [--json] [--vectors N] [--tenants T] [--queries Q]
                                   [--maintenance-work-mem SIZE] [--build-workers W]

``--vectors`` (default 100,000; 1,000,000 fits a 24 GB machine) vectors of 384 dimensions (the
default embedder's), spread evenly over ``--tenants`` (default 5) fresh tenants, are loaded into
``vector_items`` by binary COPY with the 384-dimension HNSW index dropped (timed: ``copy_s``),
then the index is built again exactly as the migration defines it (the definitions are read from
the catalogue before the drop and replayed: one index ``ON ONLY`` the partitioned table, one per
hash partition, attached to it; timed: ``index_build_s``), with ``maintenance_work_mem`` large
enough to hold a graph (default 4 GB: 1,000,000 vectors of 384 dimensions need about 2 GB; a
graph that outgrows it is built far more slowly) and ``--build-workers`` parallel maintenance
workers (default 2). Which partition each tenant landed in depends on its (random) id: the
queried tenant's partition, its rows and its tenants are printed (``queried_partition``).
``--queries`` (default 200) queries for one tenant go through ``PgVectorStore.query`` (tenant
transaction under RLS, iterative scan, k=10): p50 and p95 in milliseconds, and recall@10 against
exact search (the same filter ordered by the uncast distance, which no index can serve). The same queries are
then run under EXPLAIN ANALYZE (``server_p50_ms``/``server_p95_ms``): the time inside the
server, so what the index costs can be told from the transaction's round trips and, on a busy
machine, from waiting for a core. ``--ef-search 100,200,400`` measures the same queries at each
``hnsw.ef_search`` (``by_ef_search``); the top-level figures are the store's default.

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
from sqlalchemy import event, text

from autonomos.config import load_settings
from autonomos.dcl.vectors.pgvector_store import PgVectorStore
from autonomos.engines.postgres import libpq_dsn
from autonomos.runtime import Runtime
from autonomos.services import platform, tenants

DIMENSIONS = 384
MODEL = "bench-384"
INDEX = f"ix_vector_items_hnsw_{DIMENSIONS}"
"""The migration's index on the partitioned table; each partition's is ``ix_<partition>_hnsw_384``."""
CENTRES = 1000
CHUNK = 50_000


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


def partition_of(rt: Runtime, tenant_id: uuid.UUID) -> dict:
    """The partition holding ``tenant_id``'s vectors: its name, rows and tenants (other tenants
    sharing it share its graph, and the tenant filter runs after the scan)."""
    with rt.db.tenant(tenant_id) as session:
        name = session.scalar(text("SELECT tableoid::regclass::text FROM vector_items WHERE tenant_id = :t LIMIT 1"),
                              {"t": tenant_id})
    with psycopg.connect(libpq_dsn(rt.database_url), autocommit=True) as conn:
        rows, tenant_count = conn.execute(f"SELECT count(*), count(DISTINCT tenant_id) FROM {name}").fetchone()
    return {"name": name, "rows": rows, "tenants": tenant_count}


def exact(rt: Runtime, tenant_id: uuid.UUID, vector: np.ndarray, k: int) -> list[str]:
    q = "[" + ",".join(repr(float(x)) for x in vector) + "]"
    with rt.db.tenant(tenant_id) as session:
        rows = session.execute(text(
            f"SELECT ref_id FROM vector_items WHERE tenant_id = :t AND dimensions = {DIMENSIONS} AND model = :m "
            "ORDER BY embedding <=> CAST(:q AS vector), kind, ref_id LIMIT :k"), {"t": tenant_id, "m": MODEL, "q": q, "k": k})
        return [r for (r,) in rows]


def store_sql(rt: Runtime, store: PgVectorStore, tenant_id: uuid.UUID, vector: np.ndarray) -> str:
    """The SQL ``PgVectorStore.query`` sends, captured from one call, with named parameters."""
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "WITH nearest" in statement:
            statements.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", capture)
    try:
        store.query(tenant_id, vector.tolist(), 10, model=MODEL)
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)
    return statements[0].replace("%(q)s", ":q").replace("%(t)s", ":t").replace("%(m)s", ":m").replace("%(k)s", ":k")


def explain(rt: Runtime, store: PgVectorStore, sql: str, tenant_id: uuid.UUID, vector: np.ndarray,
            options: str = "") -> list[str]:
    """EXPLAIN ``options`` of the store's query, in a tenant transaction with the store's settings."""
    q = "[" + ",".join(repr(float(x)) for x in vector) + "]"
    with rt.db.tenant(tenant_id) as session:
        session.execute(text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                             " set_config('hnsw.ef_search', :ef, true), set_config('hnsw.max_scan_tuples', :mst, true)"),
                        {"ef": str(store.ef_search), "mst": str(store.max_scan_tuples)})
        rows = session.execute(text(f"EXPLAIN {options} {sql}"), {"q": q, "t": tenant_id, "m": MODEL, "k": 10}).all()
    return [r[0] for r in rows]


def server_ms(rt: Runtime, store: PgVectorStore, sql: str, tenant_id: uuid.UUID, vector: np.ndarray) -> float:
    """The query's execution time inside the server (EXPLAIN ANALYZE): the index scan and the
    filter, without the round trips of the tenant transaction around it."""
    lines = explain(rt, store, sql, tenant_id, vector, "(ANALYZE, TIMING OFF)")
    return float(next(line for line in lines if line.startswith("Execution Time")).split()[2])


def measure(rt: Runtime, store: PgVectorStore, tenant_id: uuid.UUID, asked: np.ndarray,
            truths: list[set[str]]) -> dict:
    """Latency through ``store.query``, recall@10 against ``truths``, the time inside the server
    and whether the HNSW index served the query, at the store's ``ef_search``."""
    latencies, recalls = [], []
    for vector, truth in zip(asked, truths):
        started = time.perf_counter()
        hits = store.query(tenant_id, vector.tolist(), 10, model=MODEL)
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len(truth & {h.ref_id for h in hits}) / max(len(truth), 1))
    q = statistics.quantiles(latencies, n=100)
    sql = store_sql(rt, store, tenant_id, asked[0])
    plan = "\n".join(explain(rt, store, sql, tenant_id, asked[0]))
    server = statistics.quantiles([server_ms(rt, store, sql, tenant_id, v) for v in asked], n=100)
    return {"ef_search": store.ef_search, "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2),
            "recall_at_10": round(statistics.fmean(recalls), 4),
            "server_p50_ms": round(server[49], 2), "server_p95_ms": round(server[94], 2),
            "uses_hnsw_index": f"_hnsw_{DIMENSIONS}" in plan}


def run(rt: Runtime, count: int, tenant_count: int, queries: int, *, work_mem: str = "4GB",
        workers: int = 2, ef_searches: tuple[int, ...] = (100,)) -> dict:
    load_before = [round(x, 2) for x in os.getloadavg()]
    rng = np.random.default_rng(384)
    centres = rng.normal(size=(CENTRES, DIMENSIONS)).astype(np.float32)
    vectors = cloud(rng, centres, count)
    created = [tenants.create_tenant(rt, f"bench-vec-{uuid.uuid4().hex[:8]}", actor="benchmark")
               for _ in range(tenant_count)]
    try:
        ids = [t.id for t in created]
        copy_s, build_s = load(rt, ids, vectors, work_mem=work_mem, workers=workers)
        del vectors  # 1.5 GB at 1,000,000
        asked = cloud(rng, centres, queries)
        truths = [set(exact(rt, ids[0], vector, 10)) for vector in asked]
        figures = {ef: measure(rt, PgVectorStore(rt.db, ef_search=ef), ids[0], asked, truths) for ef in ef_searches}
        return {"vectors": count, "dimensions": DIMENSIONS, "tenants": tenant_count, "queries": queries,
                "vectors_of_queried_tenant": len(range(0, count, tenant_count)),
                "queried_partition": partition_of(rt, ids[0]),
                "copy_s": round(copy_s, 1), "index_build_s": round(build_s, 1),
                "maintenance_work_mem": work_mem, "build_workers": workers,
                **figures.get(PgVectorStore.DEFAULT_EF_SEARCH, figures[ef_searches[0]]),  # the product's setting
                "by_ef_search": figures,
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
