"""Library errors about reachability become ``EngineUnavailable`` (transient) at the engine boundary."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from autonomos.engines.postgres import libpq_dsn

from autonomos.engines.redis import connect
from autonomos.errors import EngineUnavailable
from autonomos.store.database import Database


def test_a_killed_connection_leaves_a_tenant_session_as_engine_unavailable(rt, make_tenant):
    tenant = make_tenant()
    with pytest.raises(EngineUnavailable) as caught:
        with rt.db.tenant(tenant.id) as session:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with rt.db.engine.connect() as other:  # a second app-role connection ends the first
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            session.execute(text("SELECT 1"))
    assert caught.value.transient and caught.value.context == {"engine": "postgres"}
    assert caught.value.__cause__ is not None  # the library's error stays in the chain
    with rt.db.tenant(tenant.id) as session:  # the pool recovers by itself
        assert session.execute(text("SELECT 1")).scalar_one() == 1


def _end_pooled_app_connections(rt) -> int:
    """Terminate every app-role connection of this database (as Postgres restarting would)."""
    with psycopg.connect(libpq_dsn(rt.database_url), autocommit=True) as owner:
        return len(owner.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE usename = %s AND datname = current_database() AND pid <> pg_backend_pid()",
            (rt.db.roles.app,)).fetchall())


def test_pooled_connections_found_dead_are_replaced_without_an_error(rt, make_tenant):
    """No ping at checkout: a transaction whose pooled connection died meanwhile starts again
    on a fresh one, and so does a lookup outside any tenant; the caller never sees it."""
    tenant = make_tenant()
    with rt.db.tenant(tenant.id) as session:
        session.execute(text("SELECT 1"))
    assert _end_pooled_app_connections(rt) >= 1
    with rt.db.tenant(tenant.id) as session:
        assert session.execute(text("SELECT current_setting('app.tenant_id')")).scalar_one() == str(tenant.id)
    assert _end_pooled_app_connections(rt) >= 1
    assert [dict(r) for r in rt.db.lookup(text("SELECT 1 AS one"), {})] == [{"one": 1}]
    for _ in range(3):  # the pool holds several now
        with rt.db.tenant(tenant.id), rt.db.tenant(tenant.id), rt.db.tenant(tenant.id):
            pass
    assert _end_pooled_app_connections(rt) >= 2
    assert rt.db.tenant_read(tenant.id, text("SELECT current_setting('app.tenant_id')"), {}) == [(str(tenant.id),)]


def test_an_unreachable_server_is_engine_unavailable(tmp_path, make_tenant):
    db = Database(f"postgresql+psycopg://nobody@/aos?host={tmp_path}&port=1")  # no server on that socket
    try:
        with pytest.raises(EngineUnavailable):
            with db.tenant(make_tenant().id):
                pass
    finally:
        db.dispose()


def test_other_database_errors_pass_through(rt, make_tenant):
    with pytest.raises(Exception) as caught:
        with rt.db.tenant(make_tenant().id) as session:
            session.execute(text("SELECT 1/0"))
    assert not isinstance(caught.value, EngineUnavailable)


def test_an_unreachable_redis_is_engine_unavailable(tmp_path, redis_client):
    client = connect(f"unix://{tmp_path}/no.sock?db=0")
    with pytest.raises(EngineUnavailable) as caught:
        client.get("k")
    assert caught.value.transient and caught.value.context == {"engine": "redis"}
    redis_client.set("aos-boundary-test", "1")  # a reachable one answers as before
    assert redis_client.get("aos-boundary-test") == b"1"
    redis_client.delete("aos-boundary-test")
