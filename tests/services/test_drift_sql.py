"""Drift scenarios on the SQL connector over a PostgreSQL source: a renamed column and a
changed type, found from the catalogue and the landed records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from autonomos.engines.postgres import drop_database
from autonomos.services import connections, drift
from autonomos.services.sync import get_run, start_sync
from autonomos.services.worker import run_worker
from tests.conftest import fresh_database


@pytest.fixture
def source(server_url) -> Iterator[tuple[str, sa.Engine]]:
    url = fresh_database(server_url, "aos_src")
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE accounts (id varchar(12) PRIMARY KEY, name text NOT NULL, "
                             "industry text, revenue integer)"))
        conn.execute(sa.text("INSERT INTO accounts SELECT 'a' || i, 'Account ' || i, "
                             "(ARRAY['Tech','Retail','Energy'])[1 + i % 3], 1000 + 37 * i FROM generate_series(1, 30) i"))
    yield url, engine
    engine.dispose()
    drop_database(server_url, sa.make_url(url).database)


def _sync(rt, tenant_id) -> None:
    run = start_sync(rt, tenant_id, "billing-db", actor="test").run
    run_worker(rt, burst=True)
    assert get_run(rt, tenant_id, run.id).status == "succeeded"


def test_a_renamed_and_a_retyped_column_on_a_sql_source(rt, make_tenant, source):
    url, engine = source
    tenant = make_tenant("drift-sql")
    parsed = sa.make_url(url)
    connections.create_connection(rt, tenant.id, provider="postgres", name="billing-db",
                                  config={"url": parsed.set(password=None).render_as_string(hide_password=False)},
                                  credentials={"password": parsed.password} if parsed.password else None,
                                  actor="test")
    _sync(rt, tenant.id)
    _sync(rt, tenant.id)  # nothing changed
    assert drift.list_events(rt, tenant.id) == []

    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE accounts RENAME COLUMN industry TO industry_name"))
    _sync(rt, tenant.id)
    assert [(e.stream, e.kind, e.field, e.severity, e.details["after"]) for e in drift.list_events(rt, tenant.id)] == [
        ("accounts", "field_renamed", "industry", "breaking", "industry_name")]

    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE accounts ALTER COLUMN revenue TYPE text USING 'USD ' || revenue"))
    _sync(rt, tenant.id)
    newest = drift.list_events(rt, tenant.id, status="open")[0]
    assert (newest.kind, newest.field, newest.severity, newest.details["before"], newest.details["after"]) == (
        "type_changed", "revenue", "breaking", "integer", "string")
