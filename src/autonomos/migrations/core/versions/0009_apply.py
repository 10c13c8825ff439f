"""Apply: apply runs, the apply's staging table; canonical records keep their natural key as
their only tenant-leading index (apply probes it per record).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apply_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mapping_id", sa.Uuid(), nullable=False),
        sa.Column("mapping_version_id", sa.Uuid(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="running", nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("high_water", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "mapping_id"], ["mappings.tenant_id", "mappings.id"],
                                name=op.f("fk_apply_runs_tenant_id_mappings"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_apply_runs_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apply_runs")),
        info={"scope": "tenant"},
    )
    op.create_index(op.f("ix_apply_runs_tenant_id_mapping_id_started_at"), "apply_runs",
                    ["tenant_id", "mapping_id", "started_at"], unique=False)
    op.create_table(
        "apply_staging",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("raw_record_id", sa.BigInteger(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_apply_staging")),
        info={"scope": "staging"},
        prefixes=["UNLOGGED"],
    )
    op.drop_index("ix_canonical_records_tenant_id_entity_updated_at", table_name="canonical_records")
    helpers.protect_tenant_tables("apply_runs")
    roles = helpers.current_roles()
    # No RLS on purpose (COPY cannot target an RLS table); rows never outlive their transaction.
    op.execute(f'GRANT SELECT, INSERT, DELETE ON "apply_staging" TO "{roles.app}", "{roles.maintenance}"')


def downgrade() -> None:
    op.create_index("ix_canonical_records_tenant_id_entity_updated_at", "canonical_records",
                    ["tenant_id", "entity", "updated_at"], unique=False)
    op.drop_table("apply_staging")
    op.drop_index(op.f("ix_apply_runs_tenant_id_mapping_id_started_at"), table_name="apply_runs")
    op.drop_table("apply_runs")
