"""The event feed never skips a row: ``seq`` is drawn at insert, so while a transaction that
drew seq N is open, a later seq that has committed is not served; once N commits, both are,
in order. Records page by cursor with ``modified_after``."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import insert

from autonomos.store.tables import CanonicalEvent


def _event(session, tenant_id: uuid.UUID, key: str) -> int:
    return session.execute(insert(CanonicalEvent).values(
        id=uuid.uuid4(), tenant_id=tenant_id, entity="contact", record_id=uuid.uuid4(), op="upsert",
        data={"id": key}, source_system="test", connection_id=uuid.uuid4(), stream="contacts", record_key=key,
        raw_record_id=1, mapping_version_id=uuid.uuid4()).returning(CanonicalEvent.seq)).scalar_one()


def _seqs(client, headers, after: int) -> tuple[list[int], int]:
    body = client.get(f"/events?after={after}", headers=headers).json()
    return [e["seq"] for e in body["items"]], body["next_cursor"]


def test_cursor_never_passes_an_event_still_in_flight(rt, client, make_tenant, key_for):
    tenant = make_tenant("api").id
    headers = key_for(tenant, "reader")
    with rt.db.tenant(tenant) as session:
        first = _event(session, tenant, "0")
    assert _seqs(client, headers, 0) == ([first], first)

    open_txn = rt.db.tenant(tenant)
    slow = open_txn.__enter__()  # holds seq `held` uncommitted
    try:
        held = _event(slow, tenant, "1")
        with rt.db.tenant(tenant) as session:
            later = _event(session, tenant, "2")
        assert held < later
        served, cursor = _seqs(client, headers, first)
        assert served == [] and cursor == first  # `later` is committed, but not below the watermark
    finally:
        open_txn.__exit__(None, None, None)  # commits
    assert _seqs(client, headers, first) == ([held, later], later)


def test_records_page_by_cursor_and_modified_after(client, seeded, key_for):
    headers = key_for(seeded.tenant_id, "reader")
    first = client.get("/records?entity=contact&limit=1", headers=headers).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get(f"/records?entity=contact&limit=1&cursor={first['next_cursor']}", headers=headers).json()
    assert len(second["items"]) == 1 and second["items"][0]["id"] != first["items"][0]["id"]
    assert second["next_cursor"] is None
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert client.get("/records", headers=headers, params={"entity": "contact", "modified_after": future}).json() == {
        "items": [], "next_cursor": None}
    shown = client.get(f"/records/{seeded.record_id}", headers=headers).json()
    assert shown["id"] == seeded.record_id and "history" in shown and "unified" in shown
