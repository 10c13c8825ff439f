"""Sending webhook deliveries: what each worker's upkeep does with the delivery outbox.

A round claims due deliveries of every tenant (maintenance path, ``FOR UPDATE SKIP LOCKED``,
so several workers share the work) by moving their ``next_attempt_at`` a lease ahead and
counting the attempt, commits, sends each one outside any transaction, then records the
outcome: a 2xx delivers it; anything else retries with exponential backoff until
``give_up_at`` (a day after the notification), when it is marked failed. A worker killed
mid-send leaves the claim to expire: the delivery is due again after the lease (at least once).
Each request goes through the tenant's connector sandbox (``PinnedTransport``), so a URL that
was public at registration cannot later resolve to a private address.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field

import httpx
import orjson
from sqlalchemy import select

from autonomos.aam.connectors.rest.pinned import PinnedTransport
from autonomos.aam.connectors.sandbox import Sandbox, SourceRefused
from autonomos.notifications.log import envelope
from autonomos.notifications.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from autonomos.runtime import Runtime
from autonomos.services.sandbox import tenant_sandbox
from autonomos.store.maintenance import maintenance_database
from autonomos.store.tables import Notification, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

TIMEOUT_S = 10.0
BATCH = 10
LEASE = dt.timedelta(minutes=5)
"""A claimed delivery is due again after this if its worker never reports (killed mid-send);
longer than a whole batch of sends that all time out (``BATCH`` x ``TIMEOUT_S``)."""
FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=2)
MAX_ERROR = 500
USER_AGENT = "AutonomOS-Webhooks/1"


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    ids: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    secret_token: bytes
    kind: str
    body: bytes
    give_up_at: dt.datetime
    attempts: int


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min ... at most 2 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def deliver_due(rt: Runtime, *, now: dt.datetime | None = None, batch_size: int = BATCH,
                tenant_id: uuid.UUID | None = None, client: httpx.Client | None = None) -> DeliveryReport:
    """Work due deliveries until none is left for ``now`` (each is tried at most once per call)."""
    report = DeliveryReport()
    sandboxes: dict[uuid.UUID, Sandbox] = {}
    while True:
        claimed = _claim(rt, now or _now(), batch_size, tenant_id, exclude=report.ids)
        if not claimed:
            return report
        for item in claimed:
            report.ids.append(item.id)
            outcome = _send(rt, item, sandboxes, client)
            _record(rt, item, *outcome, now=now, report=report)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _claim(rt: Runtime, now: dt.datetime, batch_size: int, tenant_id: uuid.UUID | None,
           exclude: list[uuid.UUID]) -> list[_Claimed]:
    with maintenance_database(rt).session() as session:
        query = (select(WebhookDelivery, Webhook.url, Webhook.secret_ciphertext, Notification)
                 .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                 .join(Notification, Notification.seq == WebhookDelivery.notification_seq)
                 .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                 .order_by(WebhookDelivery.next_attempt_at).limit(batch_size)
                 .with_for_update(of=WebhookDelivery, skip_locked=True))
        if tenant_id is not None:
            query = query.where(WebhookDelivery.tenant_id == tenant_id)
        if exclude:
            query = query.where(WebhookDelivery.id.not_in(exclude))
        out = []
        for row, url, token, note in session.execute(query):
            row.attempts += 1
            row.last_attempt_at = now
            row.next_attempt_at = now + LEASE
            body = orjson.dumps({"delivery_id": str(row.id), **envelope(note)}, option=orjson.OPT_SORT_KEYS)
            out.append(_Claimed(row.id, row.tenant_id, url, token, note.kind, body, row.give_up_at, row.attempts))
        return out


def _send(rt: Runtime, item: _Claimed, sandboxes: dict[uuid.UUID, Sandbox],
          client: httpx.Client | None) -> tuple[int | None, str | None, bool]:
    """(status code, error, terminal) of one attempt."""
    try:
        if item.tenant_id not in sandboxes:
            sandboxes[item.tenant_id] = tenant_sandbox(rt, item.tenant_id)
        sandbox = sandboxes[item.tenant_id]
        secret = rt.cipher.decrypt(item.secret_token)["secret"]
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   DELIVERY_HEADER: str(item.id), EVENT_HEADER: item.kind, TIMESTAMP_HEADER: str(timestamp),
                   SIGNATURE_HEADER: sign(secret, timestamp, item.body)}
        http = client or httpx.Client(transport=PinnedTransport(sandbox), timeout=TIMEOUT_S, follow_redirects=False)
        try:
            response = http.post(item.url, content=item.body, headers=headers)
        finally:
            if client is None:
                http.close()
    except SourceRefused as exc:
        return None, str(exc)[:MAX_ERROR], True
    except Exception as exc:  # network errors, timeouts, an unreadable secret: retried
        logger.info("webhook delivery failed", extra={"delivery_id": str(item.id), "error": type(exc).__name__})
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR], False
    if 200 <= response.status_code < 300:
        return response.status_code, None, False
    return response.status_code, f"the receiver answered {response.status_code}", False


def _record(rt: Runtime, item: _Claimed, status_code: int | None, error: str | None, terminal: bool, *,
            now: dt.datetime | None, report: DeliveryReport) -> None:
    when = now or _now()
    with maintenance_database(rt).session() as session:
        row = session.get(WebhookDelivery, item.id, with_for_update=True)
        if row is None or row.status != "pending" or row.attempts != item.attempts:
            return  # deleted with its webhook, or redelivered meanwhile: that state wins
        row.last_status_code, row.last_error = status_code, error
        if error is None:
            row.status, row.delivered_at = "delivered", when
            report.delivered += 1
        elif terminal or when + backoff(row.attempts) > item.give_up_at:
            row.status = "failed"
            report.failed += 1
        else:
            row.next_attempt_at = when + backoff(row.attempts)
            report.retrying += 1
