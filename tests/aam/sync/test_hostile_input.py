"""Input that never stops a file: too deep, not a finite number; each such record is
quarantined with its reason and the rest lands."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from autonomos.errors import Conflict
from autonomos.services import connections, quarantine, sync
from autonomos.store.tables import Quarantine, RawRecord
from tests.conftest import tenant_files


def _sync(rt, tenant, drain):
    run = sync.start_sync(rt, tenant.id, "src", actor="test").run
    drain()
    return sync.get_run(rt, tenant.id, run.id)


@pytest.fixture
def hostile(rt, make_tenant, tmp_path, drain):
    tenant = make_tenant("hostile")
    path = tenant_files(rt, tenant) / "events.ndjson"
    deep = '{"id": "deep", "x": ' + "[" * 10_000 + "]" * 10_000 + "}"
    path.write_text("\n".join([
        '{"id": "a", "x": 1.5}', deep, '{"id": "nan", "x": NaN}', '{"id": "inf", "x": {"y": [-Infinity]}}',
        '{"id": "big", "x": 1e999}', '{"id": "b", "x": 2}']) + "\n")
    connections.create_connection(rt, tenant.id, provider="files", name="src", actor="test",
                                  config={"path": str(path), "stream": "events", "primary_key": ["id"]})
    return tenant, _sync(rt, tenant, drain)


def test_deep_and_non_finite_records_are_quarantined_and_the_rest_lands(rt, hostile):
    tenant, run = hostile
    assert run.status == "succeeded", run.error
    assert run.counts["inserted"] == 2 and run.counts["quarantined"] == 4
    with rt.db.tenant(tenant.id) as session:
        assert sorted(session.scalars(select(RawRecord.record_key))) == ["a", "b"]
        reasons = sorted(session.scalars(select(Quarantine.reason)))
    assert sum("nested too deep" in r for r in reasons) == 1, reasons
    non_finite = [r for r in reasons if r.startswith("non-finite number")]
    assert len(non_finite) == 3, reasons
    assert any("x.y[0]" in r for r in non_finite)
    assert quarantine.summary(rt, tenant.id, run.id)["non-finite number"] == 3


def test_retry_with_a_non_finite_number_is_refused_not_nulled(rt, hostile):
    tenant, _ = hostile
    items = [i for i in quarantine.list_items(rt, tenant.id).items if i.reason.startswith("non-finite")]
    with pytest.raises(Conflict) as refused:
        quarantine.retry_item(rt, tenant.id, items[0].id, payload={"id": "nan", "x": float("nan")}, actor="test")
    assert "non-finite number" in str(refused.value)
    with rt.db.tenant(tenant.id) as session:
        assert session.scalar(select(RawRecord.id).where(RawRecord.record_key == "nan")) is None
    fixed = quarantine.retry_item(rt, tenant.id, items[0].id, payload={"id": "nan", "x": 0}, actor="test")
    assert fixed.status == "resolved"
