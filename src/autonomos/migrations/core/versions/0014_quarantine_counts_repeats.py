"""Quarantine counts repeats: a bad source row re-read by later syncs is one open item.

``fingerprint`` hashes what was read (stream, stage, raw text or payload); one open item per
fingerprint (a partial unique index), whose ``occurrences`` and ``last_seen_at`` grow with each
re-read. Open items are also found by record key (apply-stage items close when a later mapping
version applies their record).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("quarantine", sa.Column("fingerprint", sa.LargeBinary(), nullable=True))
    op.add_column("quarantine", sa.Column("occurrences", sa.Integer(), server_default="1", nullable=False))
    op.add_column("quarantine", sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                                          nullable=False))
    op.create_index("uq_quarantine_open_fingerprint", "quarantine",
                    ["tenant_id", "connection_id", "stream", "stage", "fingerprint"], unique=True,
                    postgresql_where=sa.text("status = 'open' AND fingerprint IS NOT NULL"))
    op.create_index("ix_quarantine_open_record_key", "quarantine", ["tenant_id", "connection_id", "stream", "record_key"],
                    postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index("ix_quarantine_open_record_key", table_name="quarantine")
    op.drop_index("uq_quarantine_open_fingerprint", table_name="quarantine")
    op.drop_column("quarantine", "last_seen_at")
    op.drop_column("quarantine", "occurrences")
    op.drop_column("quarantine", "fingerprint")
