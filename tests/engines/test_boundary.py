"""Library errors about reachability become ``EngineUnavailable`` (transient) at the engine boundary."""

from __future__ import annotations

import pytest
from sqlalchemy import text

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
