"""Helpers migrations call so every tenant table gets the same RLS, policies and grants.

Migrations import no live application code: the role names, the tenant setting and the DDL
below are frozen copies of what ``autonomos.store`` used when they shipped. The role naming
must keep agreeing with ``autonomos.store.roles.roles_for_database`` (a test checks it); if it
ever changes, a new migration moves the roles.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from alembic import op
from sqlalchemy import text

TENANT_SETTING = "app.tenant_id"
"""The transaction setting the app sets to the current tenant (``store.base.TENANT_SETTING``)."""


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


def current_roles() -> Roles:
    database = op.get_bind().execute(text("SELECT current_database()")).scalar_one()
    return roles_for_database(database)


def execute_all(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def protect_tenant_tables(*tables: str) -> None:
    """RLS enabled and forced with the tenant and maintenance policies, plus grants."""
    roles = current_roles()
    for table in tables:
        execute_all(tenant_table_sql(table, roles))
    execute_all(sequence_grants_sql(roles))


def grant_global_tables(*tables: str) -> None:
    roles = current_roles()
    for table in tables:
        execute_all(global_table_sql(table, roles))


def forbid_updates(table: str, when: str = "true") -> None:
    """A trigger that refuses UPDATE on rows for which ``when`` (over OLD) holds: immutability
    enforced by the database, not only by the code paths that happen to respect it."""
    op.execute(
        f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE ON "{table}"
            FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION aos_forbid_update()"""
    )


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
