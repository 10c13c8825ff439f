"""The vector store: one interface, pgvector and Pinecone backends, items resolved through
Postgres, and the outbox that keeps the store a mirror of Postgres."""

from autonomos.dcl.vectors.exceptions import OutboxItemError, VectorStoreError, VectorStoreUnavailable
from autonomos.dcl.vectors.sources import current_refs, enqueue, load_items, make_ref, resolve
from autonomos.dcl.vectors.store import VectorStore, vector_store
from autonomos.dcl.vectors.typing import ITEM_KINDS, ItemKind, ItemSource, ResolvedHit, VectorHit, VectorRecord

__all__ = [
    "ITEM_KINDS",
    "ItemKind",
    "ItemSource",
    "OutboxItemError",
    "ResolvedHit",
    "VectorHit",
    "VectorRecord",
    "VectorStore",
    "VectorStoreError",
    "VectorStoreUnavailable",
    "current_refs",
    "enqueue",
    "load_items",
    "make_ref",
    "resolve",
    "vector_store",
]
