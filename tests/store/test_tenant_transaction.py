"""A tenant transaction's extra settings: set with the tenant, local to the transaction."""

from __future__ import annotations

import uuid

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
