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
pass the filter (``relaxed_order``; the outer ORDER BY restores exact order), and
``ef_search`` grows as the tenant's share of its partition shrinks (``ef_search_for``), so that
a tenant sharing its graph still gets about ``ef_search`` candidates of its own.

A query is one network round trip (``Database.tenant_read``): BEGIN, the tenant and search
settings, the query and COMMIT leave together. RLS stays the second wall behind ``tenant_id = :t``.
"""

from __future__ import annotations

import math
import time
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
MAX_EF_SEARCH = 1000
"""pgvector's upper bound for ``hnsw.ef_search``."""
SHARE_TTL_S = 300.0
"""How long a tenant's share of its partition is trusted (shares move slowly: bulk loads)."""
SHARE_CACHE_SIZE = 10_000
ITERATIVE_SCAN = "relaxed_order"
"""pgvector 0.8's iterative index scan mode: keep scanning until LIMIT rows pass the filters."""


def search_sql(n: int, *, by_kind: bool) -> str:
    """The search of ``query`` (parameters ``:q``, ``:t``, ``:m``, ``:k``, ``:kind``) for a
    checked int ``n``: it must be a literal to match the partial index, so it is inlined."""
    distance = f"embedding::vector({int(n)}) <=> CAST(:q AS vector({int(n)}))"
    return f"""
        WITH nearest AS MATERIALIZED (
            SELECT kind, ref_id, {distance} AS distance FROM vector_items
            WHERE tenant_id = :t AND dimensions = {int(n)} AND model = :m {"AND kind = :kind" if by_kind else ""}
            ORDER BY {distance} LIMIT :k)
        SELECT kind, ref_id, 1 - distance AS score FROM nearest ORDER BY distance, kind, ref_id"""


class PgVectorStore:
    name = "pgvector"
    DEFAULT_EF_SEARCH = 100

    def __init__(self, db: Database, *, ef_search: int = DEFAULT_EF_SEARCH, max_scan_tuples: int = 20000,
                 scale_by_share: bool = True) -> None:
        self.db = db
        self.scale_by_share = scale_by_share
        self.ef_search = ef_search
        self.max_scan_tuples = max_scan_tuples
        self._shares: dict[tuple[uuid.UUID, str, str | None], tuple[float, float]] = {}
        """(tenant, model, kind) -> (monotonic expiry, share of its partition)."""

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
        sql = search_sql(n, by_kind=bool(kind))
        params = {"q": "[" + ",".join(repr(float(x)) for x in vector) + "]", "t": tenant_id, "m": model, "k": k,
                  "kind": kind}
        try:
            ef_search = self.ef_search_for(tenant_id, model, kind, k)
            # The settings travel with the tenant's, in one round trip with the query and COMMIT.
            settings = {"hnsw.iterative_scan": ITERATIVE_SCAN, "hnsw.ef_search": str(ef_search),
                        "hnsw.max_scan_tuples": str(self.max_scan_tuples)}
            rows = self.db.tenant_read(tenant_id, text(sql), params, settings=settings)
        except SQLAlchemyError as exc:
            raise VectorStoreError("pgvector query failed", backend=self.name, tenant=tenant_id) from exc
        return [VectorHit(kind_, ref_id, float(score)) for kind_, ref_id, score in rows]

    def ef_search_for(self, tenant_id: uuid.UUID, model: str, kind: str | None, k: int) -> int:
        """``ef_search`` divided by the tenant's share of its partition, within ``ef_search``..1000.

        The graph holds every tenant of the partition and the filter runs after the scan: a
        tenant owning half of it finds about half of the ``ef_search`` candidates its own, so
        its recall is that of half the ``ef_search`` (measured at 1,000,000: 0.94 instead of
        0.99). Scaling by the share gives each tenant about ``ef_search`` candidates of its own.
        """
        if not self.scale_by_share:
            return min(max(self.ef_search, k), MAX_EF_SEARCH)
        key = (tenant_id, model, kind)
        now = time.monotonic()
        cached = self._shares.get(key)
        if cached is None or cached[0] < now:
            cached = (now + SHARE_TTL_S, self._share(tenant_id, model, kind))
            if len(self._shares) >= SHARE_CACHE_SIZE:
                self._shares.clear()
            self._shares[key] = cached
        return min(max(math.ceil(self.ef_search / cached[1]), self.ef_search, k), MAX_EF_SEARCH)

    def _share(self, tenant_id: uuid.UUID, model: str, kind: str | None) -> float:
        """The tenant's rows (of ``model``, ``kind``) over its partition's (the planner's
        estimate, ``reltuples``: other tenants' rows are hidden by RLS, not their number);
        1 while the partition has no statistics yet."""
        sql = text(f"""
            SELECT x.mine, c.reltuples FROM (
                SELECT tableoid, count(*) AS mine FROM vector_items
                WHERE tenant_id = :t AND model = :m {"AND kind = :kind" if kind else ""} GROUP BY tableoid) x
            JOIN pg_class c ON c.oid = x.tableoid""")
        with self.db.tenant(tenant_id) as session:
            row = session.execute(sql, {"t": tenant_id, "m": model, "kind": kind}).first()
        if row is None or row.reltuples <= 0:
            return 1.0
        return min(1.0, max(row.mine, 1) / row.reltuples)

    def purge_tenant(self, tenant_id: uuid.UUID) -> None:
        self.delete(tenant_id)

    def count(self, tenant_id: uuid.UUID) -> int:
        with self.db.tenant(tenant_id) as session:
            return session.scalar(select(func.count()).select_from(VectorItem).where(VectorItem.tenant_id == tenant_id))
