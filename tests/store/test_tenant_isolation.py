"""Row-level security, proven on every tenant table the metadata declares.

One row for tenant A and one for tenant B go into each table (through the app role, each
in its own tenant's transaction); then, per table: B sees its row, A sees none of B's rows,
A's UPDATE and DELETE of B's row touch nothing, no tenant context sees nothing, and the
table has RLS enabled and forced with a policy. The list of tables comes from the
metadata, so a new table is covered without editing this file.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, delete, func, insert, pool, select, text, update

import autonomos.store.tables  # noqa: F401
from autonomos.engines.postgres import to_sqlalchemy_url
from autonomos.store import migrate
from autonomos.store.base import Base, tenant_tables
from autonomos.store.maintenance import MaintenanceDatabase
from autonomos.store.vector_tables import VectorBase
from tests.store.row_factory import build_row

CORE_TABLES = tenant_tables(Base.metadata)
VECTOR_TABLES = tenant_tables(VectorBase.metadata)
ALL_TABLES = CORE_TABLES + VECTOR_TABLES


def _tables_present(rt):
    if migrate.pgvector_available(rt.database_url) and migrate.state(rt.database_url, migrate.VECTORS).at_head:
        return ALL_TABLES
    return CORE_TABLES


@pytest.fixture(scope="module")
def two_tenants(rt):
    """Tenants A and B with one row each in every tenant table; returns ids and rows."""
    from autonomos.services import tenants

    a = tenants.create_tenant(rt, f"rls-a-{uuid.uuid4().hex[:6]}", actor="test")
    b = tenants.create_tenant(rt, f"rls-b-{uuid.uuid4().hex[:6]}", actor="test")
    rows: dict[uuid.UUID, dict[str, dict]] = {a.id: {}, b.id: {}}
    for tenant in (a, b):
        made = rows[tenant.id]
        for table in _tables_present(rt):
            with rt.db.tenant(tenant.id) as session:
                values = build_row(table, tenant.id, made, lambda col: session.scalar(select(col).limit(1)))
                pk = session.execute(insert(table).values(**values).returning(*table.primary_key.columns)).one()
                made[table.name] = {**values, **pk._asdict()}
    return a.id, b.id, rows


def _pk_filter(table, row):
    return [c == row[c.name] for c in table.primary_key.columns]


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_tenant_sees_only_its_own_rows(rt, two_tenants, table):
    if table not in _tables_present(rt):
        pytest.skip("vector table exists only where pgvector is installed (stated: not on this server)")
    a, b, rows = two_tenants
    b_row = rows[b][table.name]

    with rt.db.tenant(b) as session:
        assert session.scalar(select(func.count()).select_from(table).where(*_pk_filter(table, b_row))) == 1

    with rt.db.tenant(a) as session:
        assert session.scalar(select(func.count()).select_from(table).where(*_pk_filter(table, b_row))) == 0
        assert session.scalar(select(func.count()).select_from(table).where(table.c.tenant_id == b)) == 0
        assert set(session.scalars(select(table.c.tenant_id).distinct())) == {a}


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_tenant_cannot_change_another_tenants_rows(rt, two_tenants, table):
    if table not in _tables_present(rt):
        pytest.skip("vector table exists only where pgvector is installed (stated: not on this server)")
    a, b, rows = two_tenants
    b_row = rows[b][table.name]
    before = _read_as_maintenance(rt, table, b_row)

    with rt.db.tenant(a) as session:
        updated = session.execute(update(table).where(*_pk_filter(table, b_row)).values(tenant_id=a))
        assert updated.rowcount == 0
        deleted = session.execute(delete(table).where(*_pk_filter(table, b_row)))
        assert deleted.rowcount == 0

    assert _read_as_maintenance(rt, table, b_row) == before


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_without_tenant_context_nothing_is_visible(rt, two_tenants, table):
    if table not in _tables_present(rt):
        pytest.skip("vector table exists only where pgvector is installed (stated: not on this server)")
    with rt.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(table)) == 0


def test_every_tenant_table_has_rls_enabled_forced_and_a_policy(rt):
    names = [t.name for t in _tables_present(rt)] + ["tenants"]
    engine = create_engine(to_sqlalchemy_url(rt.database_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
                " (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname AND p.schemaname = 'public')"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relname = ANY(:names)"
            ),
            {"names": names},
        ).all()
    engine.dispose()
    found = {r[0]: r[1:] for r in rows}
    assert set(found) == set(names)
    for name, (enabled, forced, policies) in found.items():
        assert enabled and forced and policies >= 1, name


def test_app_role_is_subject_to_rls(rt):
    with rt.db.engine.connect() as conn:
        row = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        owners = set(conn.scalars(text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")))
        user = conn.scalar(text("SELECT current_user"))
    assert row == (False, False)
    assert user not in owners


def test_tenant_sees_only_its_own_tenant_row(rt, two_tenants):
    from autonomos.store.tables import Tenant

    a, b, _ = two_tenants
    with rt.db.tenant(a) as session:
        assert list(session.scalars(select(Tenant.id))) == [a]
        assert session.execute(update(Tenant).where(Tenant.id == b).values(name="stolen")).rowcount == 0


def _read_as_maintenance(rt, table, row):
    maintenance = MaintenanceDatabase(rt.database_url)
    try:
        with maintenance.session() as session:
            return session.execute(select(table).where(*_pk_filter(table, row))).one()._asdict()
    finally:
        maintenance.dispose()
