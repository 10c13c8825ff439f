"""What the HTTP API keeps: platform keys (outside tenants) and stored idempotent responses."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, Index, Integer, PrimaryKeyConstraint, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from autonomos.store.base import Base, TableScope, TenantOwned, new_id_column, utcnow_column


class PlatformApiKey(Base):
    """A key that manages tenants and reads no tenant data. Maintenance role only."""

    __tablename__ = "platform_api_keys"
    __scope__: TableScope = "platform"

    id: Mapped[uuid.UUID] = new_id_column()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    prefix: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    key_hash: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = utcnow_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(TenantOwned, Base):
    """The first response to a POST with ``Idempotency-Key``; a replay returns it (24 h)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "key"), Index(None, "created_at"))

    key: Mapped[str] = mapped_column(String(255), nullable=False)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    body_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = utcnow_column()
