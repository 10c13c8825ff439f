"""The pgvector backend: table ``vector_items``, through tenant transactions (RLS applies).

Vectors of every model share one unsized ``vector`` column; the migration made one partial
HNSW expression index per common dimension (``(embedding::vector(n)) WHERE dimensions = n``).
A query must therefore say ``dimensions = n`` and order by ``embedding::vector(n) <=> q``
with ``n`` as a literal, or the planner cannot use that index.

The table is hash-partitioned by tenant (migration v002), each partition with its own HNSW
indexes: ``tenant_id = :t`` prunes the query to one partition, so a tenant's search walks a
graph shared only with the tenants hashed beside it, not one over every tenant (whose recall
falls as the others grow). Within the partition, filtering (tenant, model, kind) happens after
the HNSW scan. Without iterative scans a tenant owning 1% of its partition would get about 1%
of ``ef_search`` candidates back, i.e. fewer than k results. pgvector 0.8's ``hnsw.iterative_scan`` keeps scanning until k rows
pass the filter (``relaxed_order``; the outer ORDER BY restores exact order).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError

from autonomos.dcl.vectors.exceptions import VectorStoreError
from autonomos.dcl.vectors.typing import VectorHit, VectorRecord
from autonomos.store.database import Database
from autonomos.store.vector_tables import VectorItem

MAX_DIMENSIONS = 16000
ITERATIVE_SCAN = "relaxed_order"
"""pgvector 0.8's iterative index scan mode: keep scanning until LIMIT rows pass the filters."""


class PgVectorStore:
    name = "pgvector"
    DEFAULT_EF_SEARCH = 100

    def __init__(self, db: Database, *, ef_search: int = DEFAULT_EF_SEARCH, max_scan_tuples: int = 20000) -> None:
        self.db = db
        self.ef_search = ef_search
        self.max_scan_tuples = max_scan_tuples

    def upsert(self, records: Sequence[VectorRecord]) -> int:
        by_tenant: dict[uuid.UUID, list[dict]] = defaultdict(list)
        for r in records:
            by_tenant[r.tenant_id].append({
                "tenant_id": r.tenant_id, "kind": r.kind, "ref_id": r.ref_id, "model": r.model,
                "dimensions": r.dimensions, "embedding": [float(x) for x in r.vector], "content_hash": r.content_hash,
                "source_system": r.source_system, "object_type": r.object_type, "field_name": r.field_name,
                "mapping_id": r.mapping_id,
            })
        statement = insert(VectorItem)
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "kind", "ref_id", "model"],
            set_={c: statement.excluded[c] for c in ("dimensions", "embedding", "content_hash", "source_system",
                                                      "object_type", "field_name", "mapping_id")}
            | {"updated_at": func.now()})
        try:
            for tenant_id, rows in by_tenant.items():
                with self.db.tenant(tenant_id) as session:
                    session.execute(statement, rows)
        except SQLAlchemyError as exc:
            raise VectorStoreError("pgvector upsert failed", backend=self.name) from exc
        return len(records)

    def delete(
        self, tenant_id: uuid.UUID, *, refs: Sequence[tuple[str, str]] | None = None,
        kind: str | None = None, model: str | None = None,
    ) -> None:
        statement = delete(VectorItem).where(VectorItem.tenant_id == tenant_id)
        if refs is not None:
            if not refs:
                return
            statement = statement.where(tuple_(VectorItem.kind, VectorItem.ref_id).in_(list(refs)))
        if kind is not None:
            statement = statement.where(VectorItem.kind == kind)
        if model is not None:
            statement = statement.where(VectorItem.model == model)
        with self.db.tenant(tenant_id) as session:
            session.execute(statement)

    def query(
        self, tenant_id: uuid.UUID, vector: Sequence[float], k: int, *, model: str, kind: str | None = None
    ) -> list[VectorHit]:
        n = len(vector)
        if not 0 < n <= MAX_DIMENSIONS or k <= 0:
            raise VectorStoreError("bad query: need 1..16000 dimensions and k > 0", dimensions=n, k=k)
        # n is an int we checked, so inlining it is safe; it must be a literal to match the partial index.
        distance = f"embedding::vector({n}) <=> CAST(:q AS vector({n}))"
        sql = f"""
            WITH nearest AS MATERIALIZED (
                SELECT kind, ref_id, {distance} AS distance FROM vector_items
                WHERE tenant_id = :t AND dimensions = {n} AND model = :m {"AND kind = :kind" if kind else ""}
                ORDER BY {distance} LIMIT :k)
            SELECT kind, ref_id, 1 - distance AS score FROM nearest ORDER BY distance, kind, ref_id"""
        params = {"q": "[" + ",".join(repr(float(x)) for x in vector) + "]", "t": tenant_id, "m": model, "k": k,
                  "kind": kind}
        # The search settings travel with the tenant's: one round trip fewer per query.
        settings = {"hnsw.iterative_scan": ITERATIVE_SCAN, "hnsw.ef_search": str(min(max(self.ef_search, k), 1000)),
                    "hnsw.max_scan_tuples": str(self.max_scan_tuples)}
        try:
            with self.db.tenant(tenant_id, settings=settings) as session:
                rows = session.execute(text(sql), params).all()
        except SQLAlchemyError as exc:
            raise VectorStoreError("pgvector query failed", backend=self.name, tenant=tenant_id) from exc
        return [VectorHit(kind_, ref_id, float(score)) for kind_, ref_id, score in rows]

    def purge_tenant(self, tenant_id: uuid.UUID) -> None:
        self.delete(tenant_id)

    def count(self, tenant_id: uuid.UUID) -> int:
        with self.db.tenant(tenant_id) as session:
            return session.scalar(select(func.count()).select_from(VectorItem).where(VectorItem.tenant_id == tenant_id))
