"""Tenants, their people and API keys, and the platform audit log of tenant lifecycle."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from autonomos.store.base import Base, TableScope, TenantOwned, new_id_column, utcnow_column


class Tenant(Base):
    """A customer. Platform-scoped: RLS lets a tenant see only its own row."""

    __tablename__ = "tenants"
    __scope__: TableScope = "platform"

    id: Mapped[uuid.UUID] = new_id_column()
    slug: Mapped[str] = mapped_column(String(63), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="active")
    settings: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    created_at: Mapped[dt.datetime] = utcnow_column()
    updated_at: Mapped[dt.datetime] = utcnow_column()


class User(TenantOwned, Base):
    """A person of a tenant; ``role`` decides what they may approve and publish."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[uuid.UUID] = new_id_column()
    email: Mapped[str] = mapped_column(Text, nullable=False)
    display_name: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), nullable=False, server_default="member")
    created_at: Mapped[dt.datetime] = utcnow_column()


class ApiKey(TenantOwned, Base):
    """A client credential. Only an argon2 hash of the secret part is stored; ``prefix`` finds the row."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "prefix"), Index(None, "prefix"))

    id: Mapped[uuid.UUID] = new_id_column()
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(Text, nullable=False)
    prefix: Mapped[str] = mapped_column(String(32), nullable=False)
    key_hash: Mapped[str] = mapped_column(Text, nullable=False)
    scopes: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    created_at: Mapped[dt.datetime] = utcnow_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PlatformAuditLog(Base):
    """Who created or deleted tenants. Platform-scoped so it survives the tenant's purge."""

    __tablename__ = "platform_audit_log"
    __scope__: TableScope = "platform"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    at: Mapped[dt.datetime] = utcnow_column()
