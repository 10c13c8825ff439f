"""Tenant-delete benchmark: purge a tenant whose ontology has ``--fields`` fields (100 entities),
with its embedding outbox rows, through ``aos tenant delete``'s service path.

    python benchmarks/tenant_delete.py --fields 100000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

from autonomos.config import load_settings
from autonomos.services import ontology, platform, tenants, vectors
from autonomos.runtime import Runtime

ENTITIES = 100


def document(fields: int) -> dict:
    per = max(1, fields // ENTITIES)
    return {"name": "default", "description": "", "tables": [
        {"name": f"entity_{e}", "description": "", "fields": [
            {"name": f"field_{e}_{f}", "type": "string", "description": f"field {f} of entity {e}"} for f in range(per)]}
        for e in range(ENTITIES)]}


def stand_in_vectors(rt: Runtime, tenant_id: uuid.UUID, count: int) -> None:
    """Vector items as the embedding drain would write them (same table, same HNSW index), without
    spending minutes on embedding."""
    from sqlalchemy import text

    from autonomos.store.maintenance import maintenance_database

    with maintenance_database(rt).session() as session:
        session.execute(text(
            "INSERT INTO vector_items (tenant_id, kind, ref_id, model, dimensions, embedding, content_hash) "
            "SELECT :t, 'canonical_field', 'bench:' || i, 'bench', 384, "
            "(SELECT array_agg(random())::real[] FROM generate_series(1, 384) WHERE i > 0)::vector, 'x' "
            "FROM generate_series(1, :n) i"), {"t": tenant_id, "n": count})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fields", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="Print one JSON object last.")
    parser.add_argument("--embed", action="store_true", help="Embed the fields first (vector items to purge too).")
    parser.add_argument("--vectors", type=int, default=0,
                        help="Also insert this many stand-in 384-dimension vector items (pgvector) to purge.")
    args = parser.parse_args()
    rt = Runtime(load_settings())
    platform.migrate(rt)
    tenant = tenants.create_tenant(rt, f"del-{uuid.uuid4().hex[:8]}", actor="benchmark")
    started = time.perf_counter()
    ontology.import_ontology(rt, tenant.id, document(args.fields), actor="benchmark")
    imported = time.perf_counter() - started
    embedded = 0.0
    if args.embed:
        started = time.perf_counter()
        vectors.drain_outbox(rt, tenant_id=tenant.id)
        embedded = time.perf_counter() - started
    if args.vectors:
        stand_in_vectors(rt, tenant.id, args.vectors)
    started = time.perf_counter()
    tenants.delete_tenant(rt, tenant.slug, actor="benchmark")
    deleted = time.perf_counter() - started
    rt.close()
    result = {"fields": args.fields, "import_seconds": round(imported, 2), "embed_seconds": round(embedded, 2),
              "delete_seconds": round(deleted, 2)}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>15}: {value}")


if __name__ == "__main__":
    sys.exit(main())
