"""Each record head names its raw record row: readers of the latest versions (the apply's
backfill) fetch them by primary key instead of probing ``raw_records`` by (stream, key,
version), a probe the planner could serve with the wrong index while the statistics of a
fast-growing table were stale (a new tenant's first million records, applied before
autoanalyze ran, turned one 20,000-record read into minutes).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("raw_record_heads", sa.Column("raw_record_id", sa.BigInteger(), nullable=True))
    op.execute(
        """UPDATE raw_record_heads h SET raw_record_id = r.id
           FROM raw_records r
           WHERE r.tenant_id = h.tenant_id AND r.connection_id = h.connection_id AND r.stream = h.stream
             AND r.record_key = h.record_key AND r.version = h.version"""
    )
    op.alter_column("raw_record_heads", "raw_record_id", nullable=False)


def downgrade() -> None:
    op.drop_column("raw_record_heads", "raw_record_id")
