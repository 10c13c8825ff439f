"""Matching benchmark: fields matched per second, and vector-query latency and recall on pgvector.

1. A synthetic source of 1,000 fields in vendor spellings (CamelCase, snake_case, ``__c``
   suffixes, prefixes, abbreviations) built from the default ontology's field names, matched
   against the default ontology by the stateless matcher: ``fields_per_s``.
2. ``--vectors`` items (default 100,000) embedded by the default embedder (1,024 dimensions,
   which has an HNSW index), stored through the pgvector store's upsert path and spread over
   several tenants; 200 queries (k=10) for one tenant through ``PgVectorStore.query``:
   ``vector_p50_ms`` / ``vector_p95_ms``; ``recall_at_10`` against exact search (the same
   query ordered by the uncast distance, which no index can serve).

Sets itself up like ingest.py (settings from the environment, migrations) and deletes its tenants.

    python benchmarks/match.py --json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid

from sqlalchemy import text

from autonomos.config import load_settings
from autonomos.dcl.matching import get_embedder, propose
from autonomos.dcl.matching.names import split_identifier
from autonomos.dcl.ontology.documents import default_document
from autonomos.dcl.vectors.pgvector_store import PgVectorStore
from autonomos.dcl.vectors.typing import VectorRecord
from autonomos.services import platform, tenants
from autonomos.runtime import Runtime

FIELDS = 1000
TENANTS = 5
QUERIES = 200
BATCH = 2000
ABBREVIATIONS = {"number": "num", "account": "acct", "amount": "amt", "address": "addr", "date": "dt",
                 "phone": "tel", "name": "nm", "count": "cnt", "description": "desc", "country": "cntry"}
VENDOR_TABLES = {"account": "Accounts", "contact": "People", "lead": "Prospects", "opportunity": "Deals",
                 "user": "Owners", "activity": "Engagements"}


def spellings(words: list[str], rng: random.Random) -> str:
    """One vendor-style spelling of a field's words."""
    style = rng.randrange(6)
    if style == 1:
        words = [ABBREVIATIONS.get(w, w) for w in words]
    if style in (0, 1):
        return "".join(w.capitalize() for w in words)
    if style == 2:
        return "_".join(w.capitalize() for w in words) + "__c"
    if style == 3:
        return "hs_" + "_".join(words)
    if style == 4:
        return words[0] + "".join(w.capitalize() for w in words[1:])
    return "_".join(words).upper()


def synthetic_source(target: dict, count: int, seed: int = 7) -> dict:
    """``count`` fields over one vendor table per entity: ontology names respelled, plus extras."""
    rng = random.Random(seed)
    pool = [(t["name"], split_identifier(f["name"]), f["type"]) for t in target["tables"] for f in t["fields"]]
    extras = ["custom", "legacy", "external", "region", "tier", "score", "flag", "code", "notes", "ref"]
    tables: dict[str, list[dict]] = {name: [] for name in VENDOR_TABLES.values()}
    seen: set[tuple[str, str]] = set()
    while len(seen) < count:
        entity, words, type_ = rng.choice(pool)
        if rng.random() < 0.4:
            words = [*words, rng.choice(extras)] if rng.random() < 0.5 else [rng.choice(extras), *words]
        table, name = VENDOR_TABLES[entity], spellings(words, rng) + (str(rng.randrange(9)) if rng.random() < 0.2 else "")
        if (table, name) not in seen:
            seen.add((table, name))
            tables[table].append({"name": name, "type": type_})
    return {"system": "synthetic", "tables": [{"name": n, "fields": f} for n, f in tables.items()]}


def fields_per_second(target: dict) -> float:
    source = synthetic_source(target, FIELDS)
    propose(source, target)  # warm caches (embedder hashes, knowledge) as a running service would be
    started = time.perf_counter()
    proposals = propose(source, target)
    return len(proposals) / (time.perf_counter() - started)


def vector_texts(target: dict, count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    words = sorted({w for t in target["tables"] for f in t["fields"] for w in split_identifier(f["name"])}
                   | {w for t in target["tables"] for w in split_identifier(t["name"])} | set(ABBREVIATIONS.values()))
    return [f"{rng.choice(words)} {rng.choice(words)} . {' '.join(rng.sample(words, rng.randint(1, 3)))} {i % 97}"
            for i in range(count)]


def store_vectors(store: PgVectorStore, tenant_ids: list[uuid.UUID], texts: list[str], model: str, embedder) -> float:
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        chunk = texts[start:start + BATCH]
        vectors = embedder.embed(chunk)
        store.upsert([VectorRecord(tenant_ids[(start + i) % len(tenant_ids)], "source_field",
                                   f"{uuid.UUID(int=start + i)}:bench", model, vector, "bench")
                      for i, vector in enumerate(vectors)])
    return time.perf_counter() - started


def exact(rt: Runtime, tenant_id: uuid.UUID, vector, model: str, k: int) -> list[str]:
    """The true k nearest: the uncast distance cannot use the per-dimension HNSW index."""
    q = "[" + ",".join(repr(float(x)) for x in vector) + "]"
    with rt.db.tenant(tenant_id) as session:
        rows = session.execute(text(
            f"SELECT ref_id FROM vector_items WHERE tenant_id = :t AND dimensions = {len(vector)} AND model = :m "
            "ORDER BY embedding <=> CAST(:q AS vector), kind, ref_id LIMIT :k"), {"t": tenant_id, "m": model, "q": q, "k": k})
        return [r for (r,) in rows]


def vector_latency(rt: Runtime, count: int, target: dict) -> dict[str, float]:
    embedder = get_embedder()
    store = PgVectorStore(rt.db)
    created = [tenants.create_tenant(rt, f"bench-match-{uuid.uuid4().hex[:8]}", actor="benchmark")
               for _ in range(TENANTS)]
    try:
        ids = [t.id for t in created]
        load_s = store_vectors(store, ids, vector_texts(target, count), embedder.model, embedder)
        queries = embedder.embed(vector_texts(target, QUERIES, seed=99))
        latencies, recalls = [], []
        for vector in queries:
            started = time.perf_counter()
            hits = store.query(ids[0], vector.tolist(), 10, model=embedder.model)
            latencies.append((time.perf_counter() - started) * 1000)
            truth = set(exact(rt, ids[0], vector, embedder.model, 10))
            recalls.append(len(truth & {h.ref_id for h in hits}) / max(len(truth), 1))
        quantiles = statistics.quantiles(latencies, n=100)
        return {"vectors": count, "tenants": TENANTS, "load_s": round(load_s, 1),
                "vector_p50_ms": round(quantiles[49], 2), "vector_p95_ms": round(quantiles[94], 2),
                "recall_at_10": round(statistics.fmean(recalls), 4)}
    finally:
        for tenant in created:
            tenants.delete_tenant(rt, tenant.slug, actor="benchmark")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=100_000, help="Vectors to store (spread over 5 tenants).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    target = dict(default_document("crm"))
    result: dict[str, float | int] = {"fields": FIELDS, "fields_per_s": round(fields_per_second(target), 1)}
    rt = Runtime(load_settings())
    try:
        platform.migrate(rt)
        result.update(vector_latency(rt, args.vectors, target))
    finally:
        rt.close()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>14}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
