"""The pgvector store's table, on metadata of its own: it is created by the separate
``vectors`` migration branch, only where pgvector is selected and installed.

``embedding`` is an unsized ``vector`` so vectors of models with different dimensions sit
side by side; per-dimension HNSW expression indexes (made by the migration) serve queries,
which filter on ``dimensions`` and cast to ``vector(n)``. The table is hash-partitioned by
``tenant_id`` (migration v002): each partition has its own HNSW graphs, and a query, naming
its tenant, scans one partition's. Unique keys therefore include ``tenant_id``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pgvector.sqlalchemy import Vector
from sqlalchemy import (BigInteger, Index, Integer, MetaData, PrimaryKeyConstraint, Sequence, String, Text,
                        UniqueConstraint, Uuid)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from autonomos.store.base import NAMING_CONVENTION, utcnow_column


class VectorBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


INDEXED_DIMENSIONS = (64, 128, 256, 384, 512, 768, 1024, 1536)
"""Dimensions that get an HNSW index; a model of another size needs a migration adding one."""


class VectorItem(VectorBase):
    """One embedding and the minimal metadata to resolve it back to its Postgres row."""

    __tablename__ = "vector_items"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "kind", "ref_id", "model"),
        Index(None, "tenant_id", "kind", "model"),
        {"info": {"scope": "tenant"}, "postgresql_partition_by": "HASH (tenant_id)"},
    )

    # A plain sequence, not an identity: PostgreSQL before 17 has none on partitioned tables.
    id: Mapped[int] = mapped_column(BigInteger, Sequence("vector_items_id_seq"), autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    ref_id: Mapped[str] = mapped_column(Text, nullable=False)
    source_system: Mapped[str | None] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(Text)
    field_name: Mapped[str | None] = mapped_column(Text)
    mapping_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    model: Mapped[str] = mapped_column(Text, nullable=False)
    dimensions: Mapped[int] = mapped_column(Integer, nullable=False)
    embedding: Mapped[list[float]] = mapped_column(Vector(), nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[dt.datetime] = utcnow_column()
