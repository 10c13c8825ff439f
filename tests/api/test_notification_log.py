"""The notification log: real state changes land in it (with the change's transaction), a
rolled-back change announces nothing, and readers never skip a row that commits late."""

from __future__ import annotations

import threading

from sqlalchemy import select

from autonomos import notifications
from autonomos.notifications import subscribe
from autonomos.store.tables import Notification, WebhookDelivery


def _log(rt, tenant) -> list[dict]:
    with rt.db.tenant(tenant) as session:
        return notifications.read(session, tenant, after=0, limit=1000)


def test_sync_proposals_and_publish_are_in_the_log(rt, seeded):
    kinds = [n["type"] for n in _log(rt, seeded.tenant_id)]
    for kind in ("sync.started", "sync.completed", "proposals.ready", "mapping.published"):
        assert kind in kinds, kinds
    assert kinds.index("sync.started") < kinds.index("sync.completed") < kinds.index("mapping.published")
    completed = next(n for n in _log(rt, seeded.tenant_id) if n["type"] == "sync.completed")
    assert completed["data"]["run_id"] == str(seeded.run_id) and completed["data"]["inserted"] == 2
    published = next(n for n in _log(rt, seeded.tenant_id) if n["type"] == "mapping.published")
    assert published["data"]["mapping_version_id"] == str(seeded.version_id)


def test_a_rolled_back_change_announces_nothing(rt, make_tenant, client, key_for):
    tenant = make_tenant("log").id
    client.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=key_for(tenant, "admin"))
    listener = subscribe(rt, tenant)
    try:
        try:
            with rt.db.tenant(tenant) as session:
                notifications.notify(rt, session, tenant, "sync.completed", {"run_id": "gone"})
                raise RuntimeError("the change fails after announcing")
        except RuntimeError:
            pass
        kept = notifications.publish(rt, tenant, "sync.completed", {"run_id": "kept"})
        message = None
        for _ in range(100):  # the first message on the channel must be the kept one
            message = listener.get_message(timeout=0.1)
            if message:
                break
    finally:
        listener.close()
    assert message is not None and f'"seq":{kept}'.encode() in message["data"]
    assert [n["data"]["run_id"] for n in _log(rt, tenant)] == ["kept"]
    with rt.db.tenant(tenant) as session:
        assert session.scalars(select(WebhookDelivery.notification_seq)).all() == [kept]


def test_a_reader_never_skips_a_notification_that_commits_late(rt, make_tenant):
    tenant = make_tenant("log").id
    inserted, release = threading.Event(), threading.Event()
    early: list[int] = []

    def slow_writer():
        with rt.db.tenant(tenant) as session:
            early.append(notifications.notify(rt, session, tenant, "slow", {}))
            inserted.set()
            release.wait(60)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert inserted.wait(60)
        late = notifications.publish(rt, tenant, "fast", {})
        assert late > early[0]
        with rt.db.tenant(tenant) as session:  # the later seq committed first: it is held back
            assert session.scalar(select(Notification.seq).where(Notification.seq == late)) == late
        assert [n["seq"] for n in _log(rt, tenant)] == []
    finally:
        release.set()
        writer.join()
    assert [n["seq"] for n in _log(rt, tenant)] == [early[0], late]
