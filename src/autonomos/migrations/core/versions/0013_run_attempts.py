"""Runs count their attempts: backoff, structured errors, ``abandoned``; apply runs are claimed.

Sync runs and apply runs both get ``failures`` (failed attempts in a row without progress),
``next_attempt_at`` (when a run sent back to ``pending`` may be claimed again), ``history``
(one entry per failed attempt) and a structured ``error`` (JSONB: kind, message, transient,
causes). Apply runs also get what a claimable run needs: worker, heartbeat, attempts, and
where they resume (``resume_after``, the last committed batch's position) and how
(``incremental``). The embedding outbox gets ``next_attempt_at`` for its backoff.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TO_JSON = ("CASE WHEN error IS NULL THEN NULL ELSE jsonb_build_object("
            "'kind', 'Error', 'message', error, 'transient', false, 'causes', '[]'::jsonb) END")


def _run_columns(table: str) -> None:
    op.add_column(table, sa.Column("failures", sa.Integer(), server_default="0", nullable=False))
    op.add_column(table, sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(table, sa.Column("history", postgresql.JSONB(astext_type=sa.Text()), server_default="[]",
                                   nullable=False))
    op.alter_column(table, "error", type_=postgresql.JSONB(astext_type=sa.Text()), postgresql_using=_TO_JSON)


def upgrade() -> None:
    _run_columns("sync_runs")
    _run_columns("apply_runs")
    op.add_column("apply_runs", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("apply_runs", sa.Column("worker_id", sa.Text(), nullable=True))
    op.add_column("apply_runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("apply_runs", sa.Column("incremental", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("apply_runs", sa.Column("resume_after", sa.Text(), server_default="", nullable=False))
    op.create_index(op.f("ix_apply_runs_status_heartbeat_at"), "apply_runs", ["status", "heartbeat_at"])
    op.add_column("embedding_outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("embedding_outbox", "next_attempt_at")
    op.drop_index(op.f("ix_apply_runs_status_heartbeat_at"), table_name="apply_runs")
    for column in ("resume_after", "incremental", "heartbeat_at", "worker_id", "attempts"):
        op.drop_column("apply_runs", column)
    for table in ("apply_runs", "sync_runs"):
        op.execute(f"UPDATE {table} SET status = 'failed' WHERE status = 'abandoned'")
        op.alter_column(table, "error", type_=sa.Text(), postgresql_using="error->>'message'")
        for column in ("history", "next_attempt_at", "failures"):
            op.drop_column(table, column)
