"""The one interface every vector backend implements, and the choice between them.

A store holds embeddings plus the minimal metadata to find them again; it is a rebuildable
mirror of Postgres (see ``sources`` for what items are and ``outbox`` for how they get
there). Every call names its tenant: pgvector enforces it with row-level security, Pinecone
with one namespace per tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from autonomos.dcl.vectors.typing import VectorHit, VectorRecord


@runtime_checkable
class VectorStore(Protocol):
    name: str

    def upsert(self, records: Sequence[VectorRecord]) -> int:
        """Insert or replace records, keyed by (tenant, kind, ref_id, model); returns how many."""
        ...

    def delete(
        self, tenant_id: uuid.UUID, *, refs: Sequence[tuple[str, str]] | None = None,
        kind: str | None = None, model: str | None = None,
    ) -> None:
        """Delete the given (kind, ref_id) references (every model), or everything matching kind/model."""
        ...

    def query(
        self, tenant_id: uuid.UUID, vector: Sequence[float], k: int, *, model: str, kind: str | None = None
    ) -> list[VectorHit]:
        """The ``k`` nearest items of the tenant for ``model`` (and ``kind``), best first, by cosine similarity."""
        ...

    def purge_tenant(self, tenant_id: uuid.UUID) -> None:
        """Remove every vector of the tenant."""
        ...

    def count(self, tenant_id: uuid.UUID) -> int:
        """How many vectors the tenant has (Pinecone's count lags writes)."""
        ...


def vector_store(rt) -> VectorStore:
    """The backend ``settings.vector_store`` selects, built once per runtime (backends load lazily)."""
    if "vector_store" not in rt.__dict__:
        if rt.settings.vector_store == "pinecone":
            from autonomos.dcl.vectors.pinecone_store import PineconeStore

            key = rt.settings.pinecone_api_key
            rt.__dict__["vector_store"] = PineconeStore(key.get_secret_value() if key else "")
        else:
            from autonomos.dcl.vectors.pgvector_store import PgVectorStore

            rt.__dict__["vector_store"] = PgVectorStore(rt.db)
    return rt.__dict__["vector_store"]
