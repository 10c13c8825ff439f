"""Drop the apply's shared staging table: apply stages each batch in a temporary table of its
own transaction (``ON COMMIT DROP``), so ``apply_staging`` has had no reader or writer since.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from autonomos.migrations import helpers

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("apply_staging")


def downgrade() -> None:
    # As 0009 created it and 0010 extended it (columns in that order).
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
        sa.Column("raw_version", sa.Integer(), nullable=False),
        sa.Column("unknown_fields", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_apply_staging")),
        info={"scope": "staging"},
        prefixes=["UNLOGGED"],
    )
    roles = helpers.current_roles()
    # No RLS on purpose (COPY cannot target an RLS table); rows never outlived their transaction.
    op.execute(f'GRANT SELECT, INSERT, DELETE ON "apply_staging" TO "{roles.app}", "{roles.maintenance}"')
