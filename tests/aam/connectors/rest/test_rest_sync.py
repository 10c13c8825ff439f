"""Syncs through the REST, Salesforce and HubSpot connectors with the real sync engine: they land
like file and SQL syncs (versions, cursors, quarantine, deletes), and a failed run resumes from
its last checkpoint, landing each record exactly once."""

from __future__ import annotations

from sqlalchemy import func, select

from autonomos.services.worker import run_worker
from autonomos.services import sync
from autonomos.runtime import Runtime
from autonomos.store.tables import Quarantine, RawRecord, StreamState
from tests.aam.connectors.rest.vendors import FakeHubSpot, FakeSalesforce, hs_contact, sf_account
from tests.conftest import make_settings


def _sync(rt, tenant, name):
    started = sync.start_sync(rt, tenant, name, actor="test")
    run_worker(rt, burst=True)
    return sync.get_run(rt, tenant, started.run.id)


def _landed(rt, tenant):
    with rt.db.tenant(tenant) as session:
        return session.execute(select(func.count(), func.count(RawRecord.record_key.distinct()))).one()


def _cursor(rt, tenant, stream):
    with rt.db.tenant(tenant) as session:
        return session.scalar(select(StreamState.cursor).where(StreamState.stream == stream))


def _rest_app(rows, fail_at_page=None):
    def app(request):
        page = int(request.query.get("page", 1))
        if page == fail_at_page:
            return 400, {}, {"error": "bad_request"}
        since = request.query.get("updated_since", "")
        chosen = [r for r in rows if r.get("updated_at", "") >= since]
        return 200, {}, {"items": chosen[(page - 1) * 2:page * 2]}

    return app


def _rest_config(vendor):
    return {"base_url": vendor.base, "auth": {"type": "bearer"},
            "streams": {"orders": {"path": "/orders", "records_path": "items", "primary_key": ["id"],
                                   "cursor_field": "updated_at", "cursor_param": "updated_since",
                                   "pagination": {"style": "page", "page_size": 2}}}}


def test_rest_sync_lands_versions_cursor_and_quarantine(rt, vendor, connection):
    rows = [{"id": f"o{i}", "total": i, "updated_at": f"2024-05-0{i + 1}"} for i in range(5)] + [{"total": 9}]
    vendor.app = _rest_app(rows)
    tenant, info, _ = connection("rest", _rest_config(vendor), {"token": "t"})
    run = _sync(rt, tenant, info.name)
    assert run.status == "succeeded", run.error
    assert (run.counts["inserted"], run.counts["quarantined"]) == (5, 1)
    assert _cursor(rt, tenant, "orders") == {"cursor": "2024-05-05"}
    with rt.db.tenant(tenant) as session:
        assert "missing key field(s) id" in session.scalar(select(Quarantine.reason))

    rows[4] = {**rows[4], "total": 40}
    second = _sync(rt, tenant, info.name)
    assert second.counts["read"] == 1 and second.counts["inserted"] == 1  # only what changed since the cursor
    assert _landed(rt, tenant) == (6, 5)


def test_salesforce_sync_lands_deletes_from_query_all(rt, vendor, connection):
    accounts = [sf_account(i, f"2024-05-0{i + 1}T10:00:00.000+0000") for i in range(3)]
    accounts.append(sf_account(8, "2024-05-05T10:00:00.000+0000", deleted=True))
    vendor.app = FakeSalesforce(vendor.base, accounts)
    tenant, info, _ = connection("salesforce", {"login_url": vendor.base, "objects": ["Account"]},
                                 {"client_id": "c", "client_secret": "s", "refresh_token": "r"})
    run = _sync(rt, tenant, info.name)
    assert run.status == "succeeded", run.error
    assert (run.counts["read"], run.counts["inserted"] + run.counts["deleted"]) == (4, 4), run.counts
    with rt.db.tenant(tenant) as session:
        assert session.scalars(select(RawRecord.record_key).where(RawRecord.is_deleted)).all() == [accounts[-1]["Id"]]
    assert _cursor(rt, tenant, "Account") == {"cursor": "2024-05-05T10:00:00.000+0000"}


def test_hubspot_sync_lists_first_then_searches_changes(rt, vendor, connection):
    contacts = [hs_contact(i, f"2024-05-0{i + 1}T00:00:00.000Z") for i in range(4)]
    fake = FakeHubSpot(contacts)
    vendor.app = fake
    tenant, info, _ = connection("hubspot", {"base_url": vendor.base, "objects": ["contacts"], "page_size": 2},
                                 {"access_token": fake.token})
    first = _sync(rt, tenant, info.name)
    assert first.status == "succeeded", first.error
    assert first.counts["inserted"] == 4
    contacts[3] = {**hs_contact(3, "2024-05-09T00:00:00.000Z"), "properties": {
        **contacts[3]["properties"], "firstname": "Renamed"}}
    second = _sync(rt, tenant, info.name)
    assert second.counts["inserted"] == 1 and any(r.path.endswith("/search") for r in vendor.requests)
    assert _cursor(rt, tenant, "contacts") == {"cursor": "2024-05-09T00:00:00.000Z"}


def test_failed_rest_sync_resumes_from_its_checkpoint_landing_each_record_once(rt, settings, vendor, connection):
    rows = [{"id": f"o{i:02d}", "updated_at": f"2024-05-{i + 1:02d}"} for i in range(10)]
    vendor.app = _rest_app(rows, fail_at_page=4)
    tenant, info, _ = connection("rest", _rest_config(vendor), {"token": "t"})
    small = Runtime(make_settings(settings.database_url, settings.redis_url, settings.data_dir,
                                  settings.redis_namespace, AOS_SYNC_BATCH_SIZE="2"))
    try:
        failed = _sync(small, tenant, info.name)
        assert failed.status == "failed" and "HTTP 400" in failed.error["message"]
        assert failed.error["transient"] is False and failed.attempts == 1
        assert _landed(rt, tenant) == (6, 6)  # three pages committed with their checkpoint
        assert _cursor(rt, tenant, "orders")["page"] == {"page": 4}
        vendor.app = _rest_app(rows)
        resumed = _sync(small, tenant, info.name)
    finally:
        small.close()
    assert resumed.status == "succeeded", resumed.error
    assert resumed.counts["read"] == 4  # pages 4 and 5 only
    assert _landed(rt, tenant) == (10, 10)  # every record exactly once
    assert _cursor(rt, tenant, "orders") == {"cursor": "2024-05-10"}
