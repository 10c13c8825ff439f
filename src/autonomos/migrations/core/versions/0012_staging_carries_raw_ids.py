"""Landing staging carries each row's raw record id, reserved before the batch is written.

A stream's batches are written on several connections at once; ids drawn inside their
concurrent INSERTs interleaved, so a batch committed later could hold ids below those of one
committed earlier, and an incremental apply that had advanced its high-water mark past them in
between would never read them. The sync engine now reserves each batch's ids in read order
(which is also commit order), so ids grow with commit order within a stream.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Staging never holds a committed row, so the column can be required at once.
    op.add_column("landing_staging", sa.Column("raw_record_id", sa.BigInteger(), nullable=False))


def downgrade() -> None:
    op.drop_column("landing_staging", "raw_record_id")
