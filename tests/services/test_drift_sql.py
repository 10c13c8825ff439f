"""Drift scenarios on the SQL connector over a PostgreSQL source: a renamed column and a
changed type, found from the catalogue and the landed records."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from autonomos.engines.postgres import drop_database
from autonomos.runtime import Runtime
from autonomos.services import connections, drift, mappings
from autonomos.services.sync import get_run, start_sync
from autonomos.services.worker import run_worker
from tests.conftest import fresh_database


@pytest.fixture
def source(source_server_url) -> Iterator[tuple[str, sa.Engine]]:
    """A database on the tests' source server (never the platform's) and a login that may only
    read it (superuser logins are refused by the sandbox); yields the reader's URL and an owner engine."""
    url = fresh_database(source_server_url, "aos_src")
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    login = f"reader_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE accounts (id varchar(12) PRIMARY KEY, name text NOT NULL, "
                             "industry text, revenue integer)"))
        conn.execute(sa.text("INSERT INTO accounts SELECT 'a' || i, 'Account ' || i, "
                             "(ARRAY['Tech','Retail','Energy'])[1 + i % 3], 1000 + 37 * i FROM generate_series(1, 30) i"))
        conn.execute(sa.text(f"CREATE ROLE {login} LOGIN PASSWORD 'pw-{login}'"))
        conn.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {login}"))
        conn.execute(sa.text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {login}"))
    reader = sa.make_url(url).set(username=login, password=f"pw-{login}").render_as_string(hide_password=False)
    yield reader, engine
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP OWNED BY {login}"))
        conn.execute(sa.text(f"DROP ROLE {login}"))
    engine.dispose()
    drop_database(source_server_url, sa.make_url(url).database)


def _sync(rt, tenant_id) -> None:
    run = start_sync(rt, tenant_id, "billing-db", actor="test").run
    run_worker(rt, burst=True)
    assert get_run(rt, tenant_id, run.id).status == "succeeded"


@pytest.fixture
def source_rt(rt, source) -> Iterator[Runtime]:
    """The platform as an operator who allowed the source server's socket (AOS_ALLOW_PRIVATE_SOURCES)."""
    host = sa.make_url(source[0]).query.get("host")
    allowance = f"{rt.settings.allow_private_sources},unix:{host}" if host else rt.settings.allow_private_sources
    runtime = Runtime(rt.settings.model_copy(update={"allow_private_sources": allowance}))
    yield runtime
    runtime.close()


def test_a_renamed_and_a_retyped_column_on_a_sql_source(source_rt, make_tenant, source):
    rt = source_rt
    url, engine = source
    tenant = make_tenant("drift-sql")
    parsed = sa.make_url(url)
    bare = sa.URL.create(parsed.drivername, username=parsed.username, host=parsed.host, port=parsed.port,
                         database=parsed.database, query=parsed.query)
    connections.create_connection(rt, tenant.id, provider="postgres", name="billing-db",
                                  config={"url": bare.render_as_string(hide_password=False)},
                                  credentials={"password": parsed.password}, actor="test")
    _sync(rt, tenant.id)
    mappings.publish_fields(rt, tenant.id, "billing-db", "accounts", "account",
                            [{"source_field": "id", "canonical_field": "id"},
                             {"source_field": "industry", "canonical_field": "industry"},
                             {"source_field": "revenue", "canonical_field": "annual_revenue"}], actor="test")
    expected = {f"a{i}": {"id": f"a{i}", "industry": ["Tech", "Retail", "Energy"][i % 3],
                          "annual_revenue": 1000 + 37 * i} for i in range(1, 31)}
    assert _canonical(rt, tenant.id) == expected
    _sync(rt, tenant.id)  # nothing changed
    assert drift.list_events(rt, tenant.id) == []

    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE accounts RENAME COLUMN industry TO industry_name"))
    _sync(rt, tenant.id)
    assert [(e.stream, e.kind, e.field, e.severity, e.details["after"], e.status)
            for e in drift.list_events(rt, tenant.id)] == [
        ("accounts", "field_renamed", "industry", "breaking", "industry_name", "repaired")]
    assert _canonical(rt, tenant.id) == expected  # re-pointed automatically, nothing lost or blanked

    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE accounts ALTER COLUMN revenue TYPE text USING 'USD ' || revenue"))
    _sync(rt, tenant.id)
    newest = drift.list_events(rt, tenant.id)[0]
    assert (newest.kind, newest.field, newest.severity, newest.details["before"], newest.details["after"]) == (
        "type_changed", "revenue", "breaking", "integer", "string")
    # 'USD 1037' read as its last word reproduces every earlier value: repaired, values unchanged
    assert newest.status == "repaired" and _canonical(rt, tenant.id) == expected


def _canonical(rt, tenant_id) -> dict[str, dict]:
    from sqlalchemy import select

    from autonomos.store.tables import CanonicalRecord

    with rt.db.tenant(tenant_id) as session:
        return {r.record_key: {k: r.data.get(k) for k in ("id", "industry", "annual_revenue")}
                for r in session.scalars(select(CanonicalRecord)) if not r.is_deleted}
