"""The pgvector store: one table for vectors of every model, HNSW (cosine) per dimension.

Revision ID: v001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

from autonomos.migrations import helpers

revision: str = "v001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED_DIMENSIONS = (64, 128, 256, 384, 512, 768, 1024, 1536)
"""The dimensions indexed by this revision (frozen; a later size needs a migration of its own)."""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "vector_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref_id", sa.Text(), nullable=False),
        sa.Column("source_system", sa.String(length=64), nullable=True),
        sa.Column("object_type", sa.Text(), nullable=True),
        sa.Column("field_name", sa.Text(), nullable=True),
        sa.Column("mapping_id", sa.Uuid(), nullable=True),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("embedding", Vector(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vector_items")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "ref_id", "model", name=op.f("uq_vector_items_tenant_id_kind_ref_id_model")
        ),
        info={"scope": "tenant"},
    )
    op.create_index(
        op.f("ix_vector_items_tenant_id_kind_model"), "vector_items", ["tenant_id", "kind", "model"], unique=False
    )
    op.execute("ALTER TABLE vector_items ADD CONSTRAINT ck_vector_items_dimensions CHECK (vector_dims(embedding) = dimensions)")
    for dims in INDEXED_DIMENSIONS:
        # Expression index per dimension: queries say WHERE dimensions = n and cast to vector(n).
        op.execute(
            f"CREATE INDEX ix_vector_items_hnsw_{dims} ON vector_items "
            f"USING hnsw ((embedding::vector({dims})) vector_cosine_ops) WHERE dimensions = {dims}"
        )
    helpers.protect_tenant_tables("vector_items")


def downgrade() -> None:
    op.drop_table("vector_items")
