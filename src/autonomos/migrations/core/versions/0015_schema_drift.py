"""Schema drift: snapshot histories that may return to an earlier schema, room for the drift
class names, each event's severity and rule, and a drift policy per connection.

A rename and its revert produce the history A -> B -> A, which the unique key (tenant,
connection, stream, fingerprint) refused; snapshots are now a history ordered by time, and
each one names the fingerprint recipe that produced it, so a new recipe is compared only
with snapshots of its own recipe and never reports drift by itself.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("uq_schema_snapshots_tenant_id_connection_id_stream_fingerprint"), "schema_snapshots",
                       type_="unique")
    # Snapshots written before this revision came from the field-list recipe of ``aos propose``.
    op.add_column("schema_snapshots", sa.Column("recipe", sa.String(length=16), server_default="fields-1",
                                                nullable=False))
    op.create_index(op.f("ix_schema_snapshots_tenant_id_connection_id_stream_observed_at"), "schema_snapshots",
                    ["tenant_id", "connection_id", "stream", "observed_at"])
    op.alter_column("drift_events", "kind", type_=sa.String(length=32), existing_nullable=False)
    op.add_column("drift_events", sa.Column("severity", sa.String(length=16), server_default="informational",
                                            nullable=False))
    op.add_column("drift_events", sa.Column("rule", sa.String(length=64), server_default="", nullable=False))
    op.add_column("connections", sa.Column("drift_policy", sa.String(length=16), server_default="propagate",
                                           nullable=False))
    op.create_check_constraint(op.f("ck_connections_drift_policy"), "connections",
                               "drift_policy IN ('propagate', 'hold', 'ignore')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_connections_drift_policy"), "connections", type_="check")
    op.drop_column("connections", "drift_policy")
    op.drop_column("drift_events", "rule")
    op.drop_column("drift_events", "severity")
    op.execute("UPDATE drift_events SET kind = left(kind, 16)")
    op.alter_column("drift_events", "kind", type_=sa.String(length=16), existing_nullable=False)
    op.drop_index(op.f("ix_schema_snapshots_tenant_id_connection_id_stream_observed_at"), table_name="schema_snapshots")
    op.drop_column("schema_snapshots", "recipe")
    # Keep the newest snapshot of each repeated fingerprint so the old unique key holds again.
    op.execute("""DELETE FROM schema_snapshots s USING schema_snapshots n
                  WHERE s.tenant_id = n.tenant_id AND s.connection_id = n.connection_id AND s.stream = n.stream
                    AND s.fingerprint = n.fingerprint AND (s.observed_at, s.id) < (n.observed_at, n.id)""")
    op.create_unique_constraint(op.f("uq_schema_snapshots_tenant_id_connection_id_stream_fingerprint"), "schema_snapshots",
                                ["tenant_id", "connection_id", "stream", "fingerprint"])
