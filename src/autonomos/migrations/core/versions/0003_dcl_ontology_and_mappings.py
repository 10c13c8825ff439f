"""DCL definitions: canonical schemas and versions, mappings, versions, proposals, reviews.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0003"
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ('canonical_schemas', 'canonical_schema_versions', 'mappings', 'mapping_versions', 'mapping_proposals', 'reviews')


def upgrade() -> None:
    op.create_table('canonical_schemas',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('based_on_default_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['based_on_default_id'], ['default_ontologies.id'], name=op.f('fk_canonical_schemas_based_on_default_id_default_ontologies')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_canonical_schemas_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canonical_schemas')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_canonical_schemas_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_canonical_schemas_tenant_id_name')),
    info={'scope': 'tenant'}
    )
    op.create_table('canonical_schema_versions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('schema_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'schema_id'], ['canonical_schemas.tenant_id', 'canonical_schemas.id'], name=op.f('fk_canonical_schema_versions_tenant_id_canonical_schemas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_canonical_schema_versions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canonical_schema_versions')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_canonical_schema_versions_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'schema_id', 'version', name=op.f('uq_canonical_schema_versions_tenant_id_schema_id_version')),
    info={'scope': 'tenant'}
    )
    op.create_table('mappings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('canonical_entity', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'connection_id'], ['connections.tenant_id', 'connections.id'], name=op.f('fk_mappings_tenant_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_mappings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mappings')),
    sa.UniqueConstraint('tenant_id', 'connection_id', 'stream', 'canonical_entity', name=op.f('uq_mappings_tenant_id_connection_id_stream_canonical_entity')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_mappings_tenant_id_id')),
    info={'scope': 'tenant'}
    )
    op.create_table('mapping_versions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('mapping_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('ontology_version_id', sa.Uuid(), nullable=False),
    sa.Column('fields', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('rollback_of', sa.Uuid(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'mapping_id'], ['mappings.tenant_id', 'mappings.id'], name=op.f('fk_mapping_versions_tenant_id_mappings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'ontology_version_id'], ['canonical_schema_versions.tenant_id', 'canonical_schema_versions.id'], name=op.f('fk_mapping_versions_tenant_id_canonical_schema_versions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_mapping_versions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mapping_versions')),
    sa.UniqueConstraint('tenant_id', 'mapping_id', 'version', name=op.f('uq_mapping_versions_tenant_id_mapping_id_version')),
    info={'scope': 'tenant'}
    )


    op.create_table('mapping_proposals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=True),
    sa.Column('stream', sa.Text(), nullable=False),
    sa.Column('source_field', sa.Text(), nullable=False),
    sa.Column('agent_run_id', sa.Uuid(), nullable=True),
    sa.Column('candidates', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('top_score', sa.Float(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_mapping_proposals_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mapping_proposals')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_mapping_proposals_tenant_id_connection_id_stream_status'), 'mapping_proposals', ['tenant_id', 'connection_id', 'stream', 'status'], unique=False)
    op.create_table('reviews',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('proposal_id', sa.Uuid(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('canonical_entity', sa.String(length=64), nullable=True),
    sa.Column('canonical_field', sa.Text(), nullable=True),
    sa.Column('transform', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['mapping_proposals.id'], name=op.f('fk_reviews_proposal_id_mapping_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_reviews_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_reviews_tenant_id_proposal_id'), 'reviews', ['tenant_id', 'proposal_id'], unique=False)
    helpers.protect_tenant_tables(*TENANT_TABLES)
    helpers.forbid_updates("canonical_schema_versions")
    helpers.forbid_updates("mapping_versions", when="OLD.published_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index(op.f('ix_reviews_tenant_id_proposal_id'), table_name='reviews')
    op.drop_table('reviews')
    op.drop_index(op.f('ix_mapping_proposals_tenant_id_connection_id_stream_status'), table_name='mapping_proposals')
    op.drop_table('mapping_proposals')
    op.drop_table('mapping_versions')
    op.drop_table('mappings')
    op.drop_table('canonical_schema_versions')
    op.drop_table('canonical_schemas')
