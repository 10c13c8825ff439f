"""A tenant transaction's extra settings: set with the tenant, local to the transaction."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from autonomos.store.base import TENANT_SETTING


def test_settings_hold_inside_the_tenant_transaction_and_end_with_it(rt):
    tenant = uuid.uuid4()
    with rt.db.tenant(tenant, settings={"hnsw.ef_search": "77", "statement_timeout": "4321"}) as session:
        seen = session.execute(text(
            "SELECT current_setting(:tenant), current_setting('hnsw.ef_search'), current_setting('statement_timeout')"),
            {"tenant": TENANT_SETTING}).one()
    assert tuple(seen) == (str(tenant), "77", "4321ms")
    with rt.db.tenant(tenant) as session:  # pooled connections carry nothing into the next transaction
        timeout = session.scalar(text("SELECT current_setting('statement_timeout')"))
    assert timeout != "4321ms"


def test_a_one_round_trip_read_runs_under_its_tenant_and_settings_and_leaves_nothing_behind(rt):
    tenant = uuid.uuid4()
    rows = rt.db.tenant_read(tenant, text("SELECT current_setting(:tenant), current_setting('hnsw.ef_search'), "
                                          "CAST(:n AS int)"), {"tenant": TENANT_SETTING, "n": 5},
                             settings={"hnsw.ef_search": "77"})
    assert rows == [(str(tenant), "77", 5)]
    for _ in range(12):  # every pooled connection in turn: no tenant, no setting carried over
        with rt.db.engine.connect() as conn:
            left = conn.execute(text("SELECT current_setting(:tenant, true), current_setting('hnsw.ef_search')"),
                                {"tenant": TENANT_SETTING}).one()
        assert left[0] in (None, "") and left[1] != "77"


def test_a_failing_one_round_trip_read_raises_and_its_connection_serves_the_next_tenant(rt):
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError):
        rt.db.tenant_read(uuid.uuid4(), text("SELECT 1 / 0"), {})
    other = uuid.uuid4()
    for _ in range(12):
        assert rt.db.tenant_read(other, text(f"SELECT current_setting('{TENANT_SETTING}')"), {}) == [(str(other),)]


def test_a_one_round_trip_read_needs_a_tenant(rt):
    from autonomos.errors import TenantContextMissing

    with pytest.raises(TenantContextMissing):
        rt.db.tenant_read("", text("SELECT 1"), {})
