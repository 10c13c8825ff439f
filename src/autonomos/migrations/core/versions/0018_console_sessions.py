"""The web console's sessions, and the one narrow way to find a session before its tenant.

- ``console_sessions``: one row per signed-in browser, bound to the API key that signed in
  (deleted with it); only a SHA-256 of the cookie's random token is stored.
- ``aos_console_session_lookup(token_hash)``: SECURITY DEFINER, owned by the maintenance
  role; returns the one live session of that hash (not ended, not expired, its key not
  revoked) with its tenant, key, the key's scopes and the form token; never a listing.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from autonomos.migrations import helpers

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOOKUP = """
CREATE FUNCTION aos_console_session_lookup(p_token_hash text)
RETURNS TABLE (session_id uuid, tenant_id uuid, key_id uuid, scopes jsonb, csrf_token text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT s.id, s.tenant_id, s.api_key_id, k.scopes, s.csrf_token
      FROM public.console_sessions s
      JOIN public.api_keys k ON k.tenant_id = s.tenant_id AND k.id = s.api_key_id
     WHERE s.token_hash = p_token_hash AND s.ended_at IS NULL AND s.expires_at > now()
       AND k.revoked_at IS NULL
$$
"""


def upgrade() -> None:
    roles = helpers.current_roles()
    op.create_table('console_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('api_key_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_console_sessions_api_key_id_api_keys'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_console_sessions_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    info={'scope': 'tenant'}
    )
    op.create_index(op.f('ix_console_sessions_token_hash_tenant_id'), 'console_sessions', ['token_hash', 'tenant_id'],
                    unique=True)
    op.create_index(op.f('ix_console_sessions_tenant_id_api_key_id'), 'console_sessions',
                    ['tenant_id', 'api_key_id'], unique=False)
    helpers.protect_tenant_tables('console_sessions')

    op.execute(LOOKUP)
    op.execute(f'ALTER FUNCTION aos_console_session_lookup(text) OWNER TO "{roles.maintenance}"')
    op.execute('REVOKE ALL ON FUNCTION aos_console_session_lookup(text) FROM PUBLIC')
    op.execute(f'GRANT EXECUTE ON FUNCTION aos_console_session_lookup(text) TO "{roles.app}"')


def downgrade() -> None:
    op.execute('DROP FUNCTION aos_console_session_lookup(text)')
    op.drop_index(op.f('ix_console_sessions_tenant_id_api_key_id'), table_name='console_sessions')
    op.drop_index(op.f('ix_console_sessions_token_hash_tenant_id'), table_name='console_sessions')
    op.drop_table('console_sessions')
