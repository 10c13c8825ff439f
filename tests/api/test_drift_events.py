"""Schema drift through the API, as a reviewer and an admin drive it: the admin holds a
connection's drift (``PATCH /connections/{id}``), a renamed column waits as an open event
with its samples and proposed repair, the reviewer accepts it (idempotently) and the decision
is in Postgres: the event closed, the repair published, the stream released and applied,
audited with the key as actor. Rejecting, muting and cursor pages over the events too."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from autonomos.services import apikeys, connections
from autonomos.store.tables import AuditLog, Connection, DriftEvent, Tenant
from tests.api.test_more_resources import _walk
from tests.services.test_drift import base_rows, synced_stream
from tests.services.test_drift_repair import canonical, current, expected, publish, renamed

PROBLEM = "application/problem+json"


def _key(rt, tenant, role: str) -> tuple[str, dict[str, str]]:
    """(the key's audit actor, its headers)."""
    info, key = apikeys.create_key(rt, tenant, role, actor="test")
    return f"apikey:{info.id}", {"Authorization": f"Bearer {key}"}


def _event(rt, tenant, event_id: str) -> DriftEvent:
    with rt.db.tenant(tenant) as session:
        return session.scalar(select(DriftEvent).where(DriftEvent.id == uuid.UUID(event_id)))


def _audit(rt, tenant, target_id: str) -> set[tuple[str, str]]:
    with rt.db.tenant(tenant) as session:
        return {(a.action, a.actor) for a in session.scalars(select(AuditLog).where(AuditLog.target_id == target_id))}


def test_a_held_rename_is_listed_shown_and_accepted_through_the_api(rt, client, make_tenant, tmp_path):
    stream = synced_stream(rt, make_tenant("api-drift").id, tmp_path / "accounts.csv")
    publish(stream)
    tenant = stream.tenant_id
    admin_actor, admin = _key(rt, tenant, "admin")
    reviewer_actor, reviewer = _key(rt, tenant, "reviewer")
    connection_id = connections.get_connection(rt, tenant, stream.name).id

    url = f"/connections/{connection_id}"
    assert client.patch(url, headers=reviewer, json={"drift_policy": "hold"}).status_code == 403
    assert client.patch(url, headers=admin, json={"drift_policy": "sometimes"}).status_code == 422
    patched = client.patch(url, headers=admin, json={"drift_policy": "hold"})
    assert patched.status_code == 200 and patched.json()["drift_policy"] == "hold", patched.text
    assert client.get(url, headers=reviewer).json()["drift_policy"] == "hold"  # the cached view follows
    with rt.db.tenant(tenant) as session:
        assert session.scalar(select(Connection.drift_policy).where(Connection.id == uuid.UUID(connection_id))) == "hold"
    assert ("connection.drift_policy", admin_actor) in _audit(rt, tenant, connection_id)

    stream.sync(renamed(base_rows(42), "Name", "AccountName"))
    listed = client.get("/drift-events", headers=reviewer, params={"connection": stream.name, "status": "open"})
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert (item["kind"], item["field"], item["severity"], item["after"]) == (
        "field_renamed", "Name", "breaking", "AccountName")
    assert item["details"] is None and listed.json()["next_cursor"] is None
    shown = client.get(f"/drift-events/{item['id']}", headers=reviewer).json()
    assert shown["details"]["samples"] and "after_stats" not in shown["details"]
    assert shown["repair"]["status"] == "proposed" and shown["repair"]["repairs"][0]["entity"] == "account"
    assert canonical(stream) == expected(base_rows())  # held: the two new records wait raw

    decide = {**reviewer, "Idempotency-Key": uuid.uuid4().hex}
    accepted = client.post(f"/drift-events/{item['id']}/accept", headers=decide)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
    replay = client.post(f"/drift-events/{item['id']}/accept", headers=decide)
    assert replay.json() == accepted.json() and replay.headers["Idempotent-Replayed"] == "true"
    again = client.post(f"/drift-events/{item['id']}/reject", headers=reviewer)
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM

    row = _event(rt, tenant, item["id"])
    assert (row.status, row.repair["status"]) == ("accepted", "published") and row.resolved_at is not None
    assert ("drift.repaired", reviewer_actor) in _audit(rt, tenant, item["id"])
    assert current(stream)["name"]["source_field"] == "AccountName"  # the repair, published
    assert canonical(stream) == expected(base_rows(42))  # released and applied
    assert client.get("/drift-events", headers=reviewer, params={"status": "open"}).json()["items"] == []


def test_events_page_newest_first_and_a_reviewer_rejects_and_mutes(rt, client, make_tenant, tmp_path):
    stream = synced_stream(rt, make_tenant("api-drift").id, tmp_path / "accounts.csv")
    tenant = stream.tenant_id
    without_industry = [{k: v for k, v in r.items() if k != "Industry"} for r in base_rows()]
    stream.sync(without_industry)
    stream.sync([{**r, "AnnualRevenue": str(int(r["AnnualRevenue"]) * 100)} for r in without_industry])
    reviewer_actor, reviewer = _key(rt, tenant, "reviewer")
    _, reader = _key(rt, tenant, "reader")

    every = client.get("/drift-events", headers=reader, params={"limit": 1000}).json()["items"]
    assert [e["kind"] for e in every] == ["unit_scale", "field_removed"]  # newest first
    assert _walk(client, "/drift-events", reader, limit=1) == every
    assert _walk(client, "/drift-events", reader, limit=1, stream="accounts", status="open") == every
    assert client.get("/drift-events", headers=reader, params={"cursor": "bm90LWEtY3Vyc29y"}).status_code == 422
    assert client.get("/drift-events", headers=reader, params={"connection": "nope"}).status_code == 404
    removed = every[1]["id"]
    assert client.post(f"/drift-events/{removed}/reject", headers=reader).status_code == 403

    rejected = client.post(f"/drift-events/{removed}/reject", headers=reviewer)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text
    row = _event(rt, tenant, removed)
    assert row.status == "rejected" and row.resolved_at is not None
    assert ("drift.rejected", reviewer_actor) in _audit(rt, tenant, removed)
    listed = client.get("/drift-events", headers=reader, params={"status": "rejected"}).json()["items"]
    assert [e["id"] for e in listed] == [removed]

    muted = client.post(f"/drift-events/{removed}/mute", headers=reviewer)
    assert muted.status_code == 200 and muted.json()["muted_kinds"] == ["field_removed"], muted.text
    key = f"{every[1]['connection_id']}/accounts"
    with rt.db.tenant(tenant) as session:
        assert session.scalar(select(Tenant.settings).where(Tenant.id == tenant))["drift_mutes"][key] == [
            "field_removed"]
    assert client.post(f"/drift-events/{removed}/unmute", headers=reviewer).json()["muted_kinds"] == []
    assert client.post(f"/drift-events/{uuid.uuid4()}/mute", headers=reviewer).status_code == 404
