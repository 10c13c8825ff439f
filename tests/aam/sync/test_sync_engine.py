"""The sync engine end to end: enqueue, worker, landing, cursors, steering."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from autonomos.errors import Conflict
from autonomos.notifications import subscribe
from autonomos.services import sync
from autonomos.store.tables import RawRecord, StreamState
from tests.aam.sync.conftest import heads_and_their_rows, write_accounts


def _versions(rt, tenant) -> int:
    with rt.db.tenant(tenant) as session:
        return session.scalar(select(func.count()).select_from(RawRecord))


def _sync(rt, tenant, name, drain, **options):
    started = sync.start_sync(rt, tenant, name, actor="test", **options)
    drain()
    return sync.get_run(rt, tenant, started.run.id)


def test_shuffled_rewrite_lands_nothing_and_k_changes_land_k_versions(rt, file_connection, drain):
    tenant, info, path = file_connection
    write_accounts(path, 2000)
    first = _sync(rt, tenant, info.name, drain)
    assert first.status == "succeeded", first.error
    assert (first.counts["read"], first.counts["inserted"]) == (2000, 2000)

    write_accounts(path, 2000, seed=42)  # same rows, shuffled: the file changed, its records did not
    second = _sync(rt, tenant, info.name, drain)
    assert second.status == "succeeded"
    assert second.counts["read"] == 2000 and second.counts["inserted"] == 0
    assert _versions(rt, tenant) == 2000

    k = {5, 99, 1500, 1999}
    write_accounts(path, 2000, changed=k, seed=7)
    third = _sync(rt, tenant, info.name, drain)
    assert third.counts["inserted"] == len(k)
    assert _versions(rt, tenant) == 2000 + len(k)
    with rt.db.tenant(tenant) as session:
        assert session.scalar(select(StreamState.cursor).where(StreamState.stream == "accounts")) is not None


def test_leading_zeros_survive_landing(rt, file_connection, drain):
    tenant, info, path = file_connection
    write_accounts(path, 3)
    _sync(rt, tenant, info.name, drain)
    with rt.db.tenant(tenant) as session:
        codes = set(session.scalars(select(RawRecord.payload["BillingPostalCode"].astext)))
    assert codes == {"00000", "00001", "00002"}


def test_one_active_run_per_connection_and_events_are_published(rt, file_connection, drain):
    tenant, info, path = file_connection
    write_accounts(path, 10)
    listener = subscribe(rt, tenant)
    first = sync.start_sync(rt, tenant, info.name, actor="test")
    again = sync.start_sync(rt, tenant, info.name, actor="test")
    assert first.created and not again.created and again.run.id == first.run.id
    drain()
    events = []
    for _ in range(50):
        message = listener.get_message(timeout=0.1)
        if message:
            events.append(message["data"])
        if len(events) >= 2:
            break
    listener.close()
    assert b"sync.started" in events[0] and b"sync.completed" in events[1]
    assert b'"inserted":10' in events[1]


def test_pause_resume_cancel_and_reset(rt, file_connection, drain):
    tenant, info, path = file_connection
    write_accounts(path, 10)
    sync.start_sync(rt, tenant, info.name, actor="test")
    paused = sync.pause_sync(rt, tenant, info.name, actor="test")
    assert paused.status == "paused"
    drain()  # the queued job finds the run paused and does nothing
    assert sync.get_run(rt, tenant, paused.id).status == "paused"
    resumed = sync.resume_sync(rt, tenant, info.name, actor="test")
    assert resumed.status == "pending"
    drain()
    assert sync.get_run(rt, tenant, paused.id).status == "succeeded"

    started = sync.start_sync(rt, tenant, info.name, actor="test")
    cancelled = sync.cancel_sync(rt, tenant, info.name, actor="test")
    assert cancelled.status == "cancelled" and cancelled.id == started.run.id
    drain()
    assert sync.get_run(rt, tenant, started.run.id).status == "cancelled"

    assert sync.reset_sync(rt, tenant, info.name, actor="test") == 1
    rerun = _sync(rt, tenant, info.name, drain)
    assert rerun.counts["read"] == 10 and rerun.counts["inserted"] == 0


def test_reset_refused_while_a_run_is_active(rt, file_connection):
    tenant, info, path = file_connection
    write_accounts(path, 1)
    sync.start_sync(rt, tenant, info.name, actor="test")
    with pytest.raises(Conflict):
        sync.reset_sync(rt, tenant, info.name, actor="test")
    sync.cancel_sync(rt, tenant, info.name, actor="test")


def test_full_refresh_records_deletes_for_missing_keys(rt, file_connection, drain):
    tenant, info, path = file_connection
    write_accounts(path, 100)
    _sync(rt, tenant, info.name, drain)
    write_accounts(path, 90)  # the last 10 accounts are gone from the source
    run = _sync(rt, tenant, info.name, drain, full=True)
    assert run.status == "succeeded" and run.counts["deleted"] == 10
    with rt.db.tenant(tenant) as session:
        gone = session.scalars(select(RawRecord.record_key).where(RawRecord.is_deleted)).all()
        versions = session.execute(select(RawRecord.record_key, RawRecord.version, RawRecord.payload)
                                   .where(RawRecord.record_key.in_(gone))).all()
    assert sorted(gone) == [f"001{i:09d}" for i in range(90, 100)]
    payloads = {(key, version): payload for key, version, payload in versions}
    assert all(payloads[(key, 2)] == payloads[(key, 1)] for key in gone)  # a deletion repeats the last content
    again = _sync(rt, tenant, info.name, drain, full=True)
    assert again.counts["deleted"] == 0 and again.counts["inserted"] == 0
    assert heads_and_their_rows(rt, tenant) == (100, 100)  # deleted versions too


def test_unknown_connection_is_a_clear_error(rt, make_tenant):
    from autonomos.errors import NotFound

    tenant = make_tenant("nosync")
    with pytest.raises(NotFound, match="no such connection"):
        sync.start_sync(rt, tenant.id, "nope", actor="test")
    assert uuid.UUID(str(tenant.id))
