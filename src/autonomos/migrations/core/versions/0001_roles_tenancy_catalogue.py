"""Roles, tenants, people and API keys, and the global catalogue.

Revision ID: 0001
Revises: 
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ('users', 'api_keys')


BUILTIN_PROVIDERS = [
    ("files", "Files (CSV, JSON, NDJSON, Parquet)", "file"),
    ("postgres", "PostgreSQL", "sql"),
    ("mysql", "MySQL / MariaDB", "sql"),
    ("rest", "Declarative REST API", "rest"),
    ("salesforce", "Salesforce", "saas"),
    ("hubspot", "HubSpot", "saas"),
    ("airbyte", "Airbyte-protocol source", "airbyte"),
]


def upgrade() -> None:
    database = op.get_bind().execute(sa.text("SELECT current_database()")).scalar_one()
    roles = helpers.current_roles()
    for statement in helpers.create_roles_sql(roles):
        op.execute(statement.replace("{database}", database.replace('"', '""')))
    op.execute(
        """CREATE FUNCTION aos_forbid_update() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
               RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
           END $$"""
    )
    op.create_table('tenants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug')),
    info={'scope': 'platform'}
    )
    op.create_table('platform_audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_audit_log')),
    info={'scope': 'platform'}
    )
    op.create_index(op.f('ix_platform_audit_log_tenant_id'), 'platform_audit_log', ['tenant_id'], unique=False)
    op.create_table('providers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('spec', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_providers')),
    info={'scope': 'global'}
    )
    op.create_table('default_ontologies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_default_ontologies')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_default_ontologies_name_version')),
    info={'scope': 'global'}
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('role', sa.String(length=16), server_default='member', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_users_tenant_id_email')),
    info={'scope': 'tenant'}
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('key_hash', sa.Text(), nullable=False),
    sa.Column('scopes', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_keys_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('tenant_id', 'prefix', name=op.f('uq_api_keys_tenant_id_prefix')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_api_keys_prefix'), 'api_keys', ['prefix'], unique=False)
    helpers.protect_tenant_tables(*TENANT_TABLES)
    # A tenant sees and edits only its own row; creating and deleting tenants is maintenance work.
    helpers.execute_all(helpers.tenant_table_sql("tenants", roles, key_column="id", app_privileges="SELECT, UPDATE"))
    # The platform audit log is for the maintenance path only: no grant to the app role at all.
    op.execute('ALTER TABLE "platform_audit_log" ENABLE ROW LEVEL SECURITY')
    op.execute('ALTER TABLE "platform_audit_log" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY maintenance_access ON "platform_audit_log" TO "{roles.maintenance}" USING (true) WITH CHECK (true)')
    op.execute(f'GRANT SELECT, INSERT ON "platform_audit_log" TO "{roles.maintenance}"')
    helpers.grant_global_tables("providers", "default_ontologies")
    helpers.execute_all(helpers.sequence_grants_sql(roles))
    providers = sa.table("providers", sa.column("id"), sa.column("display_name"), sa.column("kind"))
    op.bulk_insert(providers, [{"id": i, "display_name": n, "kind": k} for i, n, k in BUILTIN_PROVIDERS])


def downgrade() -> None:
    op.drop_index(op.f('ix_api_keys_prefix'), table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_table('users')
    op.drop_table('default_ontologies')
    op.drop_table('providers')
    op.drop_index(op.f('ix_platform_audit_log_tenant_id'), table_name='platform_audit_log')
    op.drop_table('platform_audit_log')
    op.drop_table('tenants')
    op.execute("DROP FUNCTION aos_forbid_update()")
    helpers.execute_all(helpers.drop_roles_sql(helpers.current_roles()))
