"""Webhooks: registration behind the connector sandbox's egress rules, signed delivery to a
real receiver on loopback with a retry after a 500, the delivery log, manual redelivery,
giving up after a day, a claim left by a killed worker, and tenant isolation."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from autonomos import notifications
from autonomos.notifications.signing import verify
from autonomos.services import webhook_delivery
from autonomos.services.webhook_delivery import deliver_due
from autonomos.store.tables import WebhookDelivery


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers with the queued statuses (then 200) and
    keeps what it received."""

    def __init__(self) -> None:
        self.answers: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 200 if receiver.answers.empty() else receiver.answers.get()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/aos"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _register(client, headers, url: str, kinds: list[str] | None = None):
    return client.post("/webhooks", json={"url": url, "kinds": kinds or []}, headers=headers)


def test_signed_delivery_retried_after_a_500_then_logged_and_redelivered(rt, client, make_tenant, key_for, receiver):
    tenant = make_tenant("hook").id
    admin = key_for(tenant, "admin")
    created = _register(client, admin, receiver.url, ["sync.completed"])
    assert created.status_code == 201, created.text
    hook = created.json()
    secret = hook["secret"]
    assert secret.startswith("whsec_") and "secret" not in client.get(f"/webhooks/{hook['id']}", headers=admin).json()

    notifications.publish(rt, tenant, "sync.started", {"run_id": "r1"})  # not subscribed: no delivery
    seq = notifications.publish(rt, tenant, "sync.completed", {"run_id": "r1", "inserted": 3})
    receiver.answers.put(500)

    first = deliver_due(rt, tenant_id=tenant)
    assert (first.delivered, first.retrying, first.failed) == (0, 1, 0)
    log = client.get(f"/webhooks/{hook['id']}/deliveries", headers=admin).json()["items"]
    assert len(log) == 1 and log[0]["status"] == "pending" and log[0]["attempts"] == 1
    assert log[0]["last_status_code"] == 500 and log[0]["notification_seq"] == seq and log[0]["kind"] == "sync.completed"

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # past the backoff
    second = deliver_due(rt, tenant_id=tenant, now=later)
    assert (second.delivered, second.retrying) == (1, 0)
    assert len(receiver.received) == 2
    for headers, body in receiver.received:
        assert verify(secret, int(headers["x-aos-timestamp"]), body, headers["x-aos-signature"])
        assert not verify("whsec_wrong", int(headers["x-aos-timestamp"]), body, headers["x-aos-signature"])
    ids = {h["x-aos-delivery"] for h, _ in receiver.received}
    assert ids == {log[0]["id"]}  # one delivery id across attempts: receivers de-duplicate by it
    payload = json.loads(receiver.received[-1][1])
    assert payload["type"] == "sync.completed" and payload["seq"] == seq and payload["data"]["inserted"] == 3
    log = client.get(f"/webhooks/{hook['id']}/deliveries", headers=admin).json()["items"]
    assert log[0]["status"] == "delivered" and log[0]["attempts"] == 2 and log[0]["delivered_at"]

    again = client.post(f"/webhooks/{hook['id']}/deliveries/{log[0]['id']}/redeliver", headers=admin)
    assert again.status_code == 202 and again.json()["status"] == "pending"
    assert deliver_due(rt, tenant_id=tenant).delivered == 1
    assert [h["x-aos-delivery"] for h, _ in receiver.received] == [log[0]["id"]] * 3


def test_a_delivery_is_marked_failed_after_a_day_of_failures(rt, client, make_tenant, key_for, receiver):
    tenant = make_tenant("hook").id
    admin = key_for(tenant, "admin")
    hook = _register(client, admin, receiver.url).json()
    notifications.publish(rt, tenant, "drift.detected", {"stream": "accounts"})
    now = dt.datetime.now(dt.UTC)
    for hours in (0, 6, 12, 20, 30):
        receiver.answers.put(503)
        deliver_due(rt, tenant_id=tenant, now=now + dt.timedelta(hours=hours))
    (entry,) = client.get(f"/webhooks/{hook['id']}/deliveries", headers=admin).json()["items"]
    assert entry["status"] == "failed" and entry["last_status_code"] == 503 and entry["attempts"] == 5


def test_a_claim_left_by_a_killed_worker_is_sent_after_its_lease(rt, client, make_tenant, key_for, receiver):
    tenant = make_tenant("hook").id
    hook = _register(client, key_for(tenant, "admin"), receiver.url).json()
    notifications.publish(rt, tenant, "mapping.published", {"version": 2})
    now = dt.datetime.now(dt.UTC)
    claimed = webhook_delivery._claim(rt, now, 10, tenant, exclude=[])  # the worker dies before sending
    assert len(claimed) == 1 and not receiver.received
    assert deliver_due(rt, tenant_id=tenant, now=now).delivered == 0  # still leased
    assert deliver_due(rt, tenant_id=tenant, now=now + webhook_delivery.LEASE).delivered == 1
    assert receiver.received[0][0]["x-aos-delivery"] == str(claimed[0].id)
    with rt.db.tenant(tenant) as session:
        row = session.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == uuid.UUID(hook["id"])))
        assert row.status == "delivered" and row.attempts == 2


@pytest.mark.parametrize("url", [
    "http://10.0.0.5/hook", "http://192.168.1.20:8080/hook", "http://169.254.169.254/latest/meta-data",
    "http://127.0.0.2:9000/hook", "http://[::1]:9000/hook", "http://0.0.0.0/hook",
])
def test_a_webhook_on_a_private_address_is_refused(client, make_tenant, key_for, url):
    response = _register(client, key_for(make_tenant("hook").id, "admin"), url)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://user:pw@127.0.0.1/x", "not a url"])
def test_a_webhook_url_must_be_plain_http(client, make_tenant, key_for, url):
    assert _register(client, key_for(make_tenant("hook").id, "admin"), url).status_code == 422


def test_webhooks_are_invisible_to_other_tenants_and_readers(rt, client, make_tenant, key_for, receiver):
    a, b = make_tenant("hook-a").id, make_tenant("hook-b").id
    admin_a, admin_b = key_for(a, "admin"), key_for(b, "admin")
    hook = _register(client, admin_a, receiver.url).json()
    notifications.publish(rt, a, "sync.completed", {"run_id": "a"})
    deliver_due(rt, tenant_id=a)
    (delivery,) = client.get(f"/webhooks/{hook['id']}/deliveries", headers=admin_a).json()["items"]

    base = f"/webhooks/{hook['id']}"
    assert client.get("/webhooks", headers=admin_b).json()["items"] == []
    for method, path in [("GET", base), ("GET", f"{base}/deliveries"), ("DELETE", base),
                         ("POST", f"{base}/deliveries/{delivery['id']}/redeliver")]:
        assert client.request(method, path, headers=admin_b).status_code == 404, (method, path)
    reader_a = key_for(a, "reader")
    assert _register(client, reader_a, receiver.url).status_code == 403
    assert client.delete(base, headers=reader_a).status_code == 403

    notifications.publish(rt, b, "sync.completed", {"run_id": "b"})  # B's change reaches no webhook of A
    deliver_due(rt)
    assert [json.loads(body)["data"]["run_id"] for _, body in receiver.received] == ["a"]
    assert client.get(base, headers=admin_a).json()["url"] == receiver.url  # untouched by B's attempts
    assert client.delete(base, headers=admin_a).status_code == 204
    assert client.get(base, headers=admin_a).status_code == 404


def test_the_readme_verification_snippet_accepts_our_signature_and_refuses_a_forgery():
    from pathlib import Path

    from autonomos.notifications.signing import sign

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    snippet = readme.split("Verifying a delivery:", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # noqa: S102 (our own README)
    import time

    body, now = b'{"seq":1,"type":"sync.completed"}', int(time.time())
    headers = {"X-AOS-Timestamp": str(now), "X-AOS-Signature": sign("whsec_s", now, body)}
    assert scope["verify"]("whsec_s", headers, body)
    assert not scope["verify"]("whsec_s", headers, body + b" ")
    assert not scope["verify"]("whsec_other", headers, body)
