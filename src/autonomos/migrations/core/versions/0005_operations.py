"""Embedding outbox, agent runs, eval runs, audit log.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0005"
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ('embedding_outbox', 'agent_runs', 'eval_runs', 'audit_log')


def upgrade() -> None:
    op.create_table('embedding_outbox',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('item_kind', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=8), server_default='upsert', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_embedding_outbox_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_embedding_outbox')),
    info={'scope': 'tenant'}
    )
    op.create_index('ix_embedding_outbox_pending', 'embedding_outbox', ['id'], unique=False, postgresql_where='processed_at IS NULL')
    op.create_index(op.f('ix_embedding_outbox_tenant_id_item_kind_item_id'), 'embedding_outbox', ['tenant_id', 'item_kind', 'item_id'], unique=False)
    op.create_table('agent_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('model', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='running', nullable=False),
    sa.Column('inputs', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('outputs', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('tokens', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('cost_usd', sa.Numeric(precision=12, scale=6), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_agent_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_runs')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_agent_runs_tenant_id_kind_started_at'), 'agent_runs', ['tenant_id', 'kind', 'started_at'], unique=False)
    op.create_table('eval_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('matcher', sa.Text(), nullable=False),
    sa.Column('model', sa.Text(), nullable=True),
    sa.Column('gold_files', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('scores', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_eval_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eval_runs')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_eval_runs_tenant_id_created_at'), 'eval_runs', ['tenant_id', 'created_at'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.Text(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_audit_log_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_audit_log_tenant_id_at'), 'audit_log', ['tenant_id', 'at'], unique=False)
    op.create_index(op.f('ix_audit_log_tenant_id_target_type_target_id'), 'audit_log', ['tenant_id', 'target_type', 'target_id'], unique=False)
    helpers.protect_tenant_tables(*TENANT_TABLES)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_log_tenant_id_target_type_target_id'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_tenant_id_at'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_eval_runs_tenant_id_created_at'), table_name='eval_runs')
    op.drop_table('eval_runs')
    op.drop_index(op.f('ix_agent_runs_tenant_id_kind_started_at'), table_name='agent_runs')
    op.drop_table('agent_runs')
    op.drop_index(op.f('ix_embedding_outbox_tenant_id_item_kind_item_id'), table_name='embedding_outbox')
    op.drop_index('ix_embedding_outbox_pending', table_name='embedding_outbox', postgresql_where='processed_at IS NULL')
    op.drop_table('embedding_outbox')
