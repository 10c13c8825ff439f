"""A tenant's webhooks: register (URL checked by the connector sandbox), list, show, delete,
the delivery log, and manual redelivery. Sending is ``services.webhook_delivery``'s job.

The signing secret is returned once, by ``create_webhook``; Postgres keeps it encrypted with
the credentials key (``rt.cipher``, rotated by ``aos keys rotate`` with connection credentials).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select

from autonomos.aam.connectors.sandbox import UnresolvedHost
from autonomos.errors import InvalidInput, NotFound
from autonomos.notifications.log import DELIVERY_WINDOW
from autonomos.notifications.signing import new_secret
from autonomos.runtime import Runtime
from autonomos.services import audit
from autonomos.services.sandbox import tenant_sandbox
from autonomos.store.tables import Notification, Webhook, WebhookDelivery

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_KINDS = 64


@dataclass(frozen=True)
class WebhookInfo:
    id: uuid.UUID
    url: str
    kinds: list[str]
    description: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class DeliveryInfo:
    id: uuid.UUID
    webhook_id: uuid.UUID
    notification_seq: int
    kind: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    give_up_at: dt.datetime
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    last_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None


def _info(row: Webhook) -> WebhookInfo:
    return WebhookInfo(row.id, row.url, list(row.kinds), row.description, row.created_at)


def _delivery(row: WebhookDelivery, kind: str) -> DeliveryInfo:
    return DeliveryInfo(row.id, row.webhook_id, row.notification_seq, kind, row.status, row.attempts,
                        row.next_attempt_at if row.status == "pending" else None, row.give_up_at,
                        row.last_status_code, row.last_error, row.created_at, row.last_attempt_at, row.delivered_at)


def check_url(rt: Runtime, tenant_id: uuid.UUID, url: str) -> str:
    """An http(s) URL without credentials whose host the tenant's sandbox lets it reach.
    A host that does not resolve now is accepted: every delivery resolves and checks again."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidInput("a webhook URL must be an absolute http or https URL", url=url)
    if parts.username or parts.password:
        raise InvalidInput("a webhook URL may not carry credentials; use the signing secret", url=parts.hostname)
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise InvalidInput("a webhook URL has an invalid port", url=url) from None
    try:
        tenant_sandbox(rt, tenant_id).resolve(parts.hostname, port)
    except UnresolvedHost:
        pass
    return url


def create_webhook(rt: Runtime, tenant_id: uuid.UUID, url: str, kinds: list[str], *, actor: str,
                   description: str | None = None) -> tuple[WebhookInfo, str]:
    """Register ``url`` for ``kinds`` (empty: every kind); returns the info and the secret (once)."""
    check_url(rt, tenant_id, url)
    if len(kinds) > MAX_KINDS or any(not k or len(k) > 64 for k in kinds):
        raise InvalidInput(f"at most {MAX_KINDS} event kinds of 1-64 characters each")
    secret = new_secret()
    with rt.db.tenant(tenant_id) as session:
        row = Webhook(tenant_id=tenant_id, url=url, kinds=sorted(set(kinds)), description=description,
                      secret_ciphertext=rt.cipher.encrypt({"secret": secret}), secret_key_id=rt.cipher.primary_key_id)
        session.add(row)
        session.flush()
        audit.record(session, tenant_id, actor=actor, action="webhook.create", target_type="webhook",
                     target_id=row.id, after={"url": url, "kinds": row.kinds})
        session.refresh(row, ["created_at"])
        return _info(row), secret


def _own(session, tenant_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
    row = session.scalar(select(Webhook).where(Webhook.tenant_id == tenant_id, Webhook.id == webhook_id))
    if row is None:
        raise NotFound("no such webhook", tenant=tenant_id, webhook=webhook_id)
    return row


def list_webhooks(rt: Runtime, tenant_id: uuid.UUID) -> list[WebhookInfo]:
    with rt.db.tenant(tenant_id) as session:
        rows = session.scalars(select(Webhook).where(Webhook.tenant_id == tenant_id)
                               .order_by(Webhook.created_at, Webhook.id))
        return [_info(r) for r in rows]


def get_webhook(rt: Runtime, tenant_id: uuid.UUID, webhook_id: uuid.UUID) -> WebhookInfo:
    with rt.db.tenant(tenant_id) as session:
        return _info(_own(session, tenant_id, webhook_id))


def delete_webhook(rt: Runtime, tenant_id: uuid.UUID, webhook_id: uuid.UUID, *, actor: str) -> None:
    """Remove the webhook with its delivery log; pending deliveries are not sent."""
    with rt.db.tenant(tenant_id) as session:
        row = _own(session, tenant_id, webhook_id)
        audit.record(session, tenant_id, actor=actor, action="webhook.delete", target_type="webhook",
                     target_id=row.id, before={"url": row.url, "kinds": row.kinds})
        session.execute(delete(Webhook).where(Webhook.tenant_id == tenant_id, Webhook.id == webhook_id))


def list_deliveries(rt: Runtime, tenant_id: uuid.UUID, webhook_id: uuid.UUID, *, limit: int = 100,
                    before: tuple[dt.datetime, uuid.UUID] | None = None) -> list[DeliveryInfo]:
    """The delivery log, newest first; ``before`` resumes behind a (created_at, id) position."""
    with rt.db.tenant(tenant_id) as session:
        _own(session, tenant_id, webhook_id)
        query = (select(WebhookDelivery, Notification.kind)
                 .join(Notification, (Notification.tenant_id == WebhookDelivery.tenant_id)
                       & (Notification.seq == WebhookDelivery.notification_seq))
                 .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.webhook_id == webhook_id)
                 .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit))
        if before is not None:
            query = query.where(func.row(WebhookDelivery.created_at, WebhookDelivery.id)
                                < func.row(before[0], before[1]))
        return [_delivery(row, kind) for row, kind in session.execute(query)]


def redeliver(rt: Runtime, tenant_id: uuid.UUID, webhook_id: uuid.UUID, delivery_id: uuid.UUID, *,
              actor: str) -> DeliveryInfo:
    """Send a delivery again (whatever its state): pending now, with a fresh day of retries.
    It keeps its id, so a receiver that de-duplicates by ``X-AOS-Delivery`` sees the same one."""
    with rt.db.tenant(tenant_id) as session:
        _own(session, tenant_id, webhook_id)
        found = session.execute(
            select(WebhookDelivery, Notification.kind)
            .join(Notification, (Notification.tenant_id == WebhookDelivery.tenant_id)
                  & (Notification.seq == WebhookDelivery.notification_seq))
            .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.webhook_id == webhook_id,
                   WebhookDelivery.id == delivery_id).with_for_update(of=WebhookDelivery)).first()
        if found is None:
            raise NotFound("no such delivery", tenant=tenant_id, webhook=webhook_id, delivery=delivery_id)
        row, kind = found
        row.status, row.next_attempt_at = "pending", func.now()
        row.give_up_at = func.now() + DELIVERY_WINDOW
        audit.record(session, tenant_id, actor=actor, action="webhook.redeliver", target_type="webhook_delivery",
                     target_id=row.id, after={"webhook_id": str(webhook_id)})
        session.flush()
        session.refresh(row)
        return _delivery(row, kind)

