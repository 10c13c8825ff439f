"""Helpers migrations call so every tenant table gets the same RLS, policies and grants."""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from autonomos.store import roles as role_sql


def current_roles() -> role_sql.Roles:
    database = op.get_bind().execute(text("SELECT current_database()")).scalar_one()
    return role_sql.roles_for_database(database)


def execute_all(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def protect_tenant_tables(*tables: str) -> None:
    """RLS enabled and forced with the tenant and maintenance policies, plus grants."""
    roles = current_roles()
    for table in tables:
        execute_all(role_sql.tenant_table_sql(table, roles))
    execute_all(role_sql.sequence_grants_sql(roles))


def grant_global_tables(*tables: str) -> None:
    roles = current_roles()
    for table in tables:
        execute_all(role_sql.global_table_sql(table, roles))


def forbid_updates(table: str, when: str = "true") -> None:
    """A trigger that refuses UPDATE on rows for which ``when`` (over OLD) holds: immutability
    enforced by the database, not only by the code paths that happen to respect it."""
    op.execute(
        f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE ON "{table}"
            FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION aos_forbid_update()"""
    )
