"""Apply writes less per record: canonical events, records and change log become bulk tables
without per-row tenant foreign keys (purged explicitly, as raw records are); events lose the
two indexes no reader needs; the change log keeps only what an event does not already hold
(the changed fields of an update) and is keyed by (tenant, record, id); the apply's staging
table carries the raw record's version (the write checks it is still the head: batches are
read ahead of the transaction that writes them) and the unknown fields, cut from the raw
payload when the batch is read.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANONICAL = ("canonical_events", "canonical_records", "change_log")


def upgrade() -> None:
    # Per-row foreign-key checks cost about a sixth of the apply's database time; tenant
    # deletion purges these tables explicitly (autonomos.store.purge).
    for table in CANONICAL:
        op.drop_constraint(f"fk_{table}_tenant_id_tenants", table, type_="foreignkey")
    # seq is an identity column (unique by construction); readers go through (tenant, entity, seq).
    op.drop_constraint("uq_canonical_events_seq", "canonical_events", type_="unique")
    op.drop_index("ix_canonical_events_tenant_id_seq", table_name="canonical_events")
    # The change log stops repeating the event: before/after of a change are the data of the
    # record's previous event and of its own (services.records rebuilds them); only an
    # update's changed fields are stored, creations and deletions reference their event.
    op.drop_column("change_log", "before")
    op.drop_column("change_log", "after")
    op.alter_column("change_log", "diff", existing_type=postgresql.JSONB(), nullable=True, server_default=None)
    op.drop_index("ix_change_log_tenant_id_record_id_id", table_name="change_log")
    op.drop_constraint("pk_change_log", "change_log", type_="primary")
    op.create_primary_key("pk_change_log", "change_log", ["tenant_id", "record_id", "id"])
    op.add_column("apply_staging", sa.Column("raw_version", sa.Integer(), nullable=False))
    op.add_column("apply_staging", sa.Column("unknown_fields", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("apply_staging", "unknown_fields")
    op.drop_column("apply_staging", "raw_version")
    op.drop_constraint("pk_change_log", "change_log", type_="primary")
    op.create_primary_key("pk_change_log", "change_log", ["id"])
    op.create_index("ix_change_log_tenant_id_record_id_id", "change_log", ["tenant_id", "record_id", "id"],
                    unique=False)
    op.add_column("change_log", sa.Column("before", postgresql.JSONB(), nullable=True))
    op.add_column("change_log", sa.Column("after", postgresql.JSONB(), nullable=True))
    # Rebuild the full before/after (and every diff) from the events, as the service does.
    op.execute(
        """WITH h AS (
               SELECT l.id, CASE WHEN e.op = 'delete' THEN NULL ELSE e.data END AS after,
                      lag(CASE WHEN e.op = 'delete' THEN NULL ELSE e.data END)
                          OVER (PARTITION BY l.tenant_id, l.record_id ORDER BY l.id) AS before
               FROM change_log l JOIN canonical_events e ON e.id = l.event_id)
           UPDATE change_log l SET before = h.before, after = h.after,
               diff = (SELECT coalesce(jsonb_object_agg(k, jsonb_build_object('before', h.before -> k, 'after', h.after -> k)),
                                       '{}'::jsonb)
                       FROM (SELECT jsonb_object_keys(coalesce(h.before, '{}'::jsonb))
                             UNION SELECT jsonb_object_keys(coalesce(h.after, '{}'::jsonb))) AS keys(k)
                       WHERE (h.before -> k) IS DISTINCT FROM (h.after -> k))
           FROM h WHERE h.id = l.id"""
    )
    op.execute("UPDATE change_log SET diff = '{}' WHERE diff IS NULL")
    op.alter_column("change_log", "diff", existing_type=postgresql.JSONB(), nullable=False, server_default="{}")
    op.create_index("ix_canonical_events_tenant_id_seq", "canonical_events", ["tenant_id", "seq"], unique=False)
    op.create_unique_constraint("uq_canonical_events_seq", "canonical_events", ["seq"])
    for table in CANONICAL:
        op.execute(f"DELETE FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM tenants WHERE tenants.id = t.tenant_id)")
        op.create_foreign_key(f"fk_{table}_tenant_id_tenants", table, "tenants", ["tenant_id"], ["id"],
                              ondelete="CASCADE")
