"""Raw record heads (the latest version of each source record, probed by primary key);
raw records and heads become bulk tables without per-row foreign keys; staging keeps JSON as text.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "raw_record_heads",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "connection_id", "stream", "record_key", name=op.f("pk_raw_record_heads")),
        info={"scope": "tenant"},
    )
    # Heads of records landed before this table existed.
    op.execute(
        """INSERT INTO raw_record_heads (tenant_id, connection_id, stream, record_key, version, content_hash, is_deleted)
           SELECT DISTINCT ON (tenant_id, connection_id, stream, record_key)
                  tenant_id, connection_id, stream, record_key, version, content_hash, is_deleted
           FROM raw_records ORDER BY tenant_id, connection_id, stream, record_key, version DESC"""
    )
    helpers.protect_tenant_tables("raw_record_heads")
    # Bulk tables are purged explicitly (autonomos.store.purge): per-row foreign-key checks
    # cost about a third of the landing's database time.
    op.drop_constraint("fk_raw_records_tenant_id_tenants", "raw_records", type_="foreignkey")
    op.drop_constraint("fk_raw_records_tenant_id_connections", "raw_records", type_="foreignkey")
    # Staging keeps JSON as text: only records that become new versions are parsed.
    op.alter_column("landing_staging", "payload", type_=sa.Text(), postgresql_using="payload::text")


def downgrade() -> None:
    op.alter_column("landing_staging", "payload", type_=postgresql.JSONB(), postgresql_using="payload::jsonb")
    # Without foreign keys, raw records of deleted connections may remain; the old constraint needs them gone.
    op.execute("DELETE FROM raw_records r WHERE NOT EXISTS ("
               "SELECT 1 FROM connections c WHERE c.tenant_id = r.tenant_id AND c.id = r.connection_id)")
    op.create_foreign_key("fk_raw_records_tenant_id_connections", "raw_records", "connections",
                          ["tenant_id", "connection_id"], ["tenant_id", "id"], ondelete="CASCADE")
    op.create_foreign_key("fk_raw_records_tenant_id_tenants", "raw_records", "tenants", ["tenant_id"], ["id"],
                          ondelete="CASCADE")
    op.drop_table("raw_record_heads")
