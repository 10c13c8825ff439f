"""Database roles: who the application runs as, and the DDL helpers migrations use for RLS.

Three roles touch a database:

* the **owner** (the ``DATABASE_URL`` user): runs migrations and owns the tables;
* the **app** role ``aos_<db>_app``: everything request handling does. Not the owner, not a
  superuser, no BYPASSRLS, so row-level security always applies to it;
* the **maintenance** role ``aos_<db>_maint``: background work that must scan all
  tenants (reconciler, outbox, backfill, tenant purge, key rotation). It is granted its own
  permissive policy on each tenant table instead of BYPASSRLS, so no superuser rights are
  needed to create it. Only ``autonomos.store.maintenance`` connects as it.

Role names embed the database name, so several databases on one server (tests do that)
never share or collide on roles.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from autonomos.store.base import TENANT_SETTING


@dataclass(frozen=True)
class Roles:
    app: str
    maintenance: str


def roles_for_database(database: str) -> Roles:
    """The two role names for ``database`` (at most 63 bytes, lower-case identifiers)."""
    stem = re.sub(r"[^a-z0-9_]", "_", database.lower())
    if len(stem) > 40:
        stem = stem[:30] + "_" + hashlib.sha256(database.encode()).hexdigest()[:8]
    return Roles(app=f"aos_{stem}_app", maintenance=f"aos_{stem}_maint")


TENANT_PREDICATE = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"
"""The current transaction's tenant, or NULL (which matches nothing) when none is set."""


def create_roles_sql(roles: Roles) -> list[str]:
    statements = []
    for role in (roles.app, roles.maintenance):
        statements.append(
            f"""DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                    CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
                END IF;
            END $$"""
        )
        statements.append(f'GRANT CONNECT ON DATABASE "{{database}}" TO "{role}"')
        statements.append(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    return statements


def drop_roles_sql(roles: Roles) -> list[str]:
    statements = []
    for role in (roles.app, roles.maintenance):
        statements.append(
            f"""DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                    EXECUTE 'DROP OWNED BY "{role}"';
                    EXECUTE 'DROP ROLE "{role}"';
                END IF;
            END $$"""
        )
    return statements


def tenant_table_sql(
    table: str, roles: Roles, key_column: str = "tenant_id", app_privileges: str = "SELECT, INSERT, UPDATE, DELETE"
) -> list[str]:
    """RLS enabled and forced, the tenant policy, the maintenance policy, and grants."""
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY tenant_isolation ON "{table}" TO "{roles.app}" '
        f"USING ({key_column} = {TENANT_PREDICATE}) WITH CHECK ({key_column} = {TENANT_PREDICATE})",
        f'CREATE POLICY maintenance_access ON "{table}" TO "{roles.maintenance}" USING (true) WITH CHECK (true)',
        f'GRANT {app_privileges} ON "{table}" TO "{roles.app}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO "{roles.maintenance}"',
    ]


def global_table_sql(table: str, roles: Roles) -> list[str]:
    """The catalogue: everyone reads, nobody but migrations writes."""
    return [f'GRANT SELECT ON "{table}" TO "{roles.app}", "{roles.maintenance}"']


def sequence_grants_sql(roles: Roles) -> list[str]:
    return [f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{roles.app}", "{roles.maintenance}"']
