"""Changes made by people and clients leave audit rows with actor, action, target, before/after."""

from __future__ import annotations

from sqlalchemy import select

from autonomos.services import connections
from autonomos.store.tables import AuditLog


def test_connection_changes_are_audited_without_credentials(rt, make_tenant):
    tenant = make_tenant("audit")
    info = connections.create_connection(rt, tenant.id, provider="postgres", name="billing",
                                         config={"host": "db"},
                                         credentials={"password": "pw"}, actor="alice")
    connections.set_credentials(rt, tenant.id, "billing", {"password": "pw2"}, actor="bob")
    connections.delete_connection(rt, tenant.id, "billing", actor="carol")

    with rt.db.tenant(tenant.id) as session:
        rows = session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().all()
    assert [(r.actor, r.action, r.target_type, r.target_id) for r in rows] == [
        ("alice", "connection.create", "connection", info.id),
        ("bob", "connection.credentials.set", "connection", info.id),
        ("carol", "connection.delete", "connection", info.id),
    ]
    assert rows[0].before is None and rows[0].after["name"] == "billing"
    assert rows[0].after["config"] == {"host": "db"}
    assert rows[1].before == {"auth": "set"} and rows[1].after == {"auth": "replaced"}
    assert rows[2].before["name"] == "billing" and rows[2].after is None
    assert all(r.at is not None for r in rows)
