"""The HTTP API: platform keys, a narrow key lookup, and stored idempotent responses.

- ``platform_api_keys``: keys that manage tenants and read no tenant data; outside tenants,
  reachable by the maintenance role only.
- ``aos_api_key_lookup(prefix)``: the one way the app role finds a key before it knows the
  tenant. SECURITY DEFINER, owned by the maintenance role, returns only the rows of one prefix
  (hash, tenant, scopes, revocation), never a listing.
- ``idempotency_keys``: the first response to a POST carrying ``Idempotency-Key``, kept 24 h.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from autonomos.migrations import helpers

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOOKUP = """
CREATE FUNCTION aos_api_key_lookup(p_prefix text)
RETURNS TABLE (key_id uuid, tenant_id uuid, key_hash text, scopes jsonb, revoked boolean, platform boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT k.id, k.tenant_id, k.key_hash, k.scopes, k.revoked_at IS NOT NULL, false
      FROM public.api_keys k WHERE k.prefix = p_prefix
    UNION ALL
    SELECT p.id, NULL::uuid, p.key_hash, '["platform"]'::jsonb, p.revoked_at IS NOT NULL, true
      FROM public.platform_api_keys p WHERE p.prefix = p_prefix
$$
"""


def upgrade() -> None:
    roles = helpers.current_roles()
    op.create_table('platform_api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('key_hash', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_platform_api_keys_prefix')),
    info={'scope': 'platform'}
    )
    op.execute('ALTER TABLE "platform_api_keys" ENABLE ROW LEVEL SECURITY')
    op.execute('ALTER TABLE "platform_api_keys" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY maintenance_access ON "platform_api_keys" TO "{roles.maintenance}" USING (true) WITH CHECK (true)')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "platform_api_keys" TO "{roles.maintenance}"')

    op.create_table('idempotency_keys',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('api_key_id', sa.Uuid(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_idempotency_keys_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'key', name=op.f('pk_idempotency_keys')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_idempotency_keys_created_at'), 'idempotency_keys', ['created_at'], unique=False)
    helpers.protect_tenant_tables('idempotency_keys')

    op.execute(LOOKUP)
    op.execute(f'ALTER FUNCTION aos_api_key_lookup(text) OWNER TO "{roles.maintenance}"')
    op.execute('REVOKE ALL ON FUNCTION aos_api_key_lookup(text) FROM PUBLIC')
    op.execute(f'GRANT EXECUTE ON FUNCTION aos_api_key_lookup(text) TO "{roles.app}"')
    helpers.execute_all(helpers.sequence_grants_sql(roles))


def downgrade() -> None:
    op.execute('DROP FUNCTION aos_api_key_lookup(text)')
    op.drop_index(op.f('ix_idempotency_keys_created_at'), table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_table('platform_api_keys')
