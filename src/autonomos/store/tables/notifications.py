"""Notifications: the tenant's log of state changes, its webhooks and their delivery outbox.

A notification row is written before anything is said on Redis, in the same transaction as
the change where the change has one; ``seq`` is what SSE clients resume from and what a
webhook delivery points at. A delivery is a row of the outbox written in the notification's
transaction, so neither a Redis flush nor a killed worker can lose it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from autonomos.store.base import Base, TenantOwned, new_id_column, utcnow_column


class Notification(TenantOwned, Base):
    """One state change of a tenant (``sync.completed``, ``mapping.published`` ...). Append-only."""

    __tablename__ = "notifications"
    __table_args__ = (Index(None, "tenant_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    created_at: Mapped[dt.datetime] = utcnow_column()


class Webhook(TenantOwned, Base):
    """A URL that receives the tenant's notifications of the given kinds (none listed: all)."""

    __tablename__ = "webhooks"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = new_id_column()
    url: Mapped[str] = mapped_column(Text, nullable=False)
    kinds: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    description: Mapped[str | None] = mapped_column(Text)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    secret_key_id: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[dt.datetime] = utcnow_column()


class WebhookDelivery(TenantOwned, Base):
    """One notification owed to one webhook: pending until a 2xx, failed after a day of retries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(None, "tenant_id", "webhook_id", "created_at"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where="status = 'pending'"),
    )

    id: Mapped[uuid.UUID] = new_id_column()
    webhook_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    notification_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notifications.seq", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = utcnow_column()
    """When a worker may (re)try it; a worker claiming it moves this past its lease first."""
    give_up_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = utcnow_column()
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
