"""Every mutating request leaves an audit row whose actor is the API key, written by the
service in the transaction of the change; credentials appear only as "changed"."""

from __future__ import annotations

from sqlalchemy import select

from autonomos.services import apikeys
from autonomos.store.tables import AuditLog
from tests.api.conftest import files_config


def test_mutations_are_audited_with_the_key_as_actor(rt, client, make_tenant):
    tenant = make_tenant("api").id
    info, key = apikeys.create_key(rt, tenant, "admin", actor="test")
    headers = {"Authorization": f"Bearer {key}"}
    created = client.post("/connections", headers=headers, json={
        "provider": "files", "name": "audited", "config": files_config(rt, tenant),
        "credentials": {"password": "hunter2-secret"}})
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert client.patch(f"/connections/{cid}", headers=headers, json={"schedule": "every 15m"}).status_code == 200
    assert client.delete(f"/connections/{cid}", headers=headers).status_code == 204
    with rt.db.tenant(tenant) as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.tenant_id == tenant, AuditLog.target_id == cid)
                               .order_by(AuditLog.id)).all()
    assert [(r.actor, r.action) for r in rows] == [(f"apikey:{info.id}", a) for a in
                                                   ("connection.create", "connection.update", "connection.delete")]
    assert "hunter2-secret" not in str([(r.before, r.after) for r in rows])
