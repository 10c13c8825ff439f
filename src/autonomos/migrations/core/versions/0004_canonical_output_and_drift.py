"""Canonical events, records, change log, entity links, schema snapshots, drift events.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0004"
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ('canonical_events', 'canonical_records', 'change_log', 'entity_links', 'schema_snapshots', 'drift_events')


def upgrade() -> None:
    op.create_table('canonical_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('unknown_fields', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('source_system', sa.String(length=64), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('record_key', sa.Text(), nullable=False),
    sa.Column('raw_record_id', sa.BigInteger(), nullable=False),
    sa.Column('schema_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('mapping_version_id', sa.Uuid(), nullable=False),
    sa.Column('trace_id', sa.String(length=64), nullable=True),
    sa.Column('emitted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_canonical_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canonical_events')),
    sa.UniqueConstraint('seq', name=op.f('uq_canonical_events_seq')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_canonical_events_tenant_id_entity_seq'), 'canonical_events', ['tenant_id', 'entity', 'seq'], unique=False)
    op.create_index(op.f('ix_canonical_events_tenant_id_seq'), 'canonical_events', ['tenant_id', 'seq'], unique=False)
    op.create_table('canonical_records',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('record_key', sa.Text(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_deleted', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('last_event_id', sa.Uuid(), nullable=False),
    sa.Column('mapping_version_id', sa.Uuid(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_canonical_records_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canonical_records')),
    sa.UniqueConstraint('tenant_id', 'entity', 'connection_id', 'stream', 'record_key', name=op.f('uq_canonical_records_tenant_id_entity_connection_id_stream_record_key')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_canonical_records_tenant_id_entity_updated_at'), 'canonical_records', ['tenant_id', 'entity', 'updated_at'], unique=False)
    op.create_table('change_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('diff', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_change_log_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_change_log_tenant_id_record_id_id'), 'change_log', ['tenant_id', 'record_id', 'id'], unique=False)
    op.create_table('entity_links',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('left_record_id', sa.Uuid(), nullable=False),
    sa.Column('right_record_id', sa.Uuid(), nullable=False),
    sa.Column('match_key', sa.Text(), nullable=False),
    sa.Column('match_value', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_entity_links_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entity_links')),
    sa.UniqueConstraint('tenant_id', 'entity', 'left_record_id', 'right_record_id', name=op.f('uq_entity_links_tenant_id_entity_left_record_id_right_record_id')),
    info={'scope': 'tenant'}
    )
    op.create_table('schema_snapshots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('fields', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('profile', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_schema_snapshots_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schema_snapshots')),
    sa.UniqueConstraint('tenant_id', 'connection_id', 'stream', 'fingerprint', name=op.f('uq_schema_snapshots_tenant_id_connection_id_stream_fingerprint')),
    info={'scope': 'tenant'}
    )
    op.create_table('drift_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('from_snapshot_id', sa.Uuid(), nullable=True),
    sa.Column('to_snapshot_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('field', sa.Text(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('repair', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_drift_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drift_events')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_drift_events_tenant_id_connection_id_stream_detected_at'), 'drift_events', ['tenant_id', 'connection_id', 'stream', 'detected_at'], unique=False)
    helpers.protect_tenant_tables(*TENANT_TABLES)
    helpers.forbid_updates("canonical_events")


def downgrade() -> None:
    op.drop_index(op.f('ix_drift_events_tenant_id_connection_id_stream_detected_at'), table_name='drift_events')
    op.drop_table('drift_events')
    op.drop_table('schema_snapshots')
    op.drop_table('entity_links')
    op.drop_index(op.f('ix_change_log_tenant_id_record_id_id'), table_name='change_log')
    op.drop_table('change_log')
    op.drop_index(op.f('ix_canonical_records_tenant_id_entity_updated_at'), table_name='canonical_records')
    op.drop_table('canonical_records')
    op.drop_index(op.f('ix_canonical_events_tenant_id_seq'), table_name='canonical_events')
    op.drop_index(op.f('ix_canonical_events_tenant_id_entity_seq'), table_name='canonical_events')
    op.drop_table('canonical_events')
