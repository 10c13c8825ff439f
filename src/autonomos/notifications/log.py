"""The tenant notification log: every announced state change is a Postgres row first.

``notify`` writes the row (and one webhook delivery per matching webhook, the outbox) inside
the caller's tenant transaction, so the change, its notification and its deliveries commit or
vanish together; the Redis message goes out only after that commit. ``publish`` is the same
for changes that already committed on their own. ``read`` serves rows after a ``seq`` but
only up to the visibility watermark, so a resuming reader never skips a row that commits late.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import orjson
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from autonomos.notifications.pubsub import ring
from autonomos.store.event_watermark import notification_watermark
from autonomos.store.tables import Notification

logger = logging.getLogger(__name__)

DELIVERY_WINDOW = dt.timedelta(days=1)
"""How long a webhook delivery is retried before it is marked failed."""
_PENDING = "aos_notifications_to_ring"
_ENQUEUE = text(
    "INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, notification_seq, give_up_at) "
    "SELECT gen_random_uuid(), w.tenant_id, w.id, :seq, now() + :window FROM webhooks w "
    "WHERE w.tenant_id = :tenant AND (w.kinds = '[]'::jsonb OR w.kinds @> jsonb_build_array(CAST(:kind AS text)))"
)


def envelope(row: Notification) -> dict[str, Any]:
    """What a reader sees of a notification (SSE data, webhook body, Redis message)."""
    return {"seq": row.seq, "type": row.kind, "created_at": row.created_at.isoformat(), "data": row.payload}


def notify(rt, session: Session, tenant_id: uuid.UUID | str, kind: str, payload: dict[str, Any]) -> int:
    """Record ``kind`` in the caller's transaction; Redis hears of it after the commit."""
    tenant = uuid.UUID(str(tenant_id))
    row = Notification(tenant_id=tenant, kind=kind, payload=orjson.loads(orjson.dumps(payload, default=str)))
    session.add(row)
    session.flush()
    session.execute(_ENQUEUE, {"seq": row.seq, "window": DELIVERY_WINDOW, "tenant": tenant, "kind": kind})
    session.refresh(row, ["created_at"])
    message = {**envelope(row), "tenant_id": str(tenant)}
    pending = session.info.setdefault(_PENDING, [])
    if not pending:
        event.listen(session, "after_commit", lambda s: _ring_all(rt, s), once=True)
        event.listen(session, "after_rollback", lambda s: s.info.pop(_PENDING, None), once=True)
    pending.append((tenant, message))
    return row.seq


def _ring_all(rt, session: Session) -> None:
    for tenant, message in session.info.pop(_PENDING, []):
        ring(rt, tenant, message)


def publish(rt, tenant_id: uuid.UUID | str, kind: str, payload: dict[str, Any]) -> int | None:
    """Record and announce a change that already committed. Best effort like the announcement
    it replaces: a failure is logged, never raised into the work it describes."""
    try:
        with rt.db.tenant(tenant_id) as session:
            return notify(rt, session, tenant_id, kind, payload)
    except Exception:
        logger.warning("could not record notification %s", kind, exc_info=True)
        return None


def read(session: Session, tenant_id: uuid.UUID, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """Notifications with ``seq`` above ``after`` in order, none above the watermark."""
    upto = notification_watermark(session)
    rows = session.scalars(select(Notification)
                           .where(Notification.tenant_id == tenant_id, Notification.seq > after,
                                  Notification.seq <= upto)
                           .order_by(Notification.seq).limit(limit))
    return [envelope(r) for r in rows]


def latest_seq(session: Session, tenant_id: uuid.UUID) -> int:
    """The last visible notification's seq (0: none): where a reader starting "now" begins."""
    upto = notification_watermark(session)
    return session.scalar(select(func.coalesce(func.max(Notification.seq), 0))
                          .where(Notification.tenant_id == tenant_id, Notification.seq <= upto)) or 0
