"""Sync engine: run control, one active run per connection, full-refresh key sets, and the
landing's staging table.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_runs", sa.Column("control", sa.String(length=16), nullable=True))
    op.create_index(
        "uq_sync_runs_one_active_per_connection",
        "sync_runs",
        ["tenant_id", "connection_id"],
        unique=True,
        postgresql_where="status IN ('pending', 'running', 'paused')",
    )
    op.create_table(
        "sync_run_keys",
        sa.Column("sync_run_id", sa.Uuid(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sync_run_keys_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "sync_run_id", "stream", "record_key", name=op.f("pk_sync_run_keys")),
        info={"scope": "tenant"},
    )
    op.create_table(
        "landing_staging",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_landing_staging")),
        info={"scope": "staging"},
        prefixes=["UNLOGGED"],
    )
    helpers.protect_tenant_tables("sync_run_keys")
    roles = helpers.current_roles()
    # No RLS here on purpose (COPY cannot target an RLS table); rows never outlive their transaction.
    op.execute(f'GRANT SELECT, INSERT, DELETE ON "landing_staging" TO "{roles.app}", "{roles.maintenance}"')


def downgrade() -> None:
    op.drop_table("landing_staging")
    op.drop_table("sync_run_keys")
    op.drop_index("uq_sync_runs_one_active_per_connection", table_name="sync_runs",
                  postgresql_where="status IN ('pending', 'running', 'paused')")
    op.drop_column("sync_runs", "control")
