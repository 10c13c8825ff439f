"""AAM: connections, sync runs, stream cursors, raw records, quarantine.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0002"
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ('connections', 'sync_runs', 'stream_states', 'raw_records', 'quarantine')


def upgrade() -> None:
    op.create_table('connections',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('credentials_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('credentials_key_id', sa.String(length=16), nullable=True),
    sa.Column('schedule', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_connections_provider_id_providers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_connections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_connections_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_connections_tenant_id_name')),
    info={'scope': 'tenant'}
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('streams', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('mode', sa.String(length=16), server_default='incremental', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('worker_id', sa.Text(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'connection_id'], ['connections.tenant_id', 'connections.id'], name=op.f('fk_sync_runs_tenant_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_sync_runs_status_heartbeat_at'), 'sync_runs', ['status', 'heartbeat_at'], unique=False)
    op.create_index(op.f('ix_sync_runs_tenant_id_connection_id_created_at'), 'sync_runs', ['tenant_id', 'connection_id', 'created_at'], unique=False)
    op.create_table('stream_states',
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('cursor', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'connection_id'], ['connections.tenant_id', 'connections.id'], name=op.f('fk_stream_states_tenant_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_stream_states_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'connection_id', 'stream', name=op.f('pk_stream_states')),
    info={'scope': 'tenant'}
    )
    op.create_table('raw_records',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('record_key', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.LargeBinary(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_deleted', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('sync_run_id', sa.Uuid(), nullable=True),
    sa.Column('landed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'connection_id'], ['connections.tenant_id', 'connections.id'], name=op.f('fk_raw_records_tenant_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_raw_records_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_records')),
    sa.UniqueConstraint('tenant_id', 'connection_id', 'stream', 'record_key', 'version', name=op.f('uq_raw_records_tenant_id_connection_id_stream_record_key_version')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_raw_records_tenant_id_connection_id_stream_id'), 'raw_records', ['tenant_id', 'connection_id', 'stream', 'id'], unique=False)
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=True),
    sa.Column('stream', sa.Text(), nullable=True),
    sa.Column('sync_run_id', sa.Uuid(), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('record_key', sa.Text(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quarantine_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_quarantine_tenant_id_connection_id_stream_created_at'), 'quarantine', ['tenant_id', 'connection_id', 'stream', 'created_at'], unique=False)
    helpers.protect_tenant_tables(*TENANT_TABLES)


def downgrade() -> None:
    op.drop_index(op.f('ix_quarantine_tenant_id_connection_id_stream_created_at'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_index(op.f('ix_raw_records_tenant_id_connection_id_stream_id'), table_name='raw_records')
    op.drop_table('raw_records')
    op.drop_table('stream_states')
    op.drop_index(op.f('ix_sync_runs_tenant_id_connection_id_created_at'), table_name='sync_runs')
    op.drop_index(op.f('ix_sync_runs_status_heartbeat_at'), table_name='sync_runs')
    op.drop_table('sync_runs')
    op.drop_table('connections')
