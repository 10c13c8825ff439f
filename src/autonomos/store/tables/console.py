"""What the web console keeps: its sessions, each bound to one API key of one tenant."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autonomos.store.base import Base, TenantOwned, new_id_column, utcnow_column


class ConsoleSession(TenantOwned, Base):
    """A signed-in console browser. The cookie carries a random token; only its SHA-256 is
    stored. The session lives only while its key does: deleting or revoking the key ends it."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index(None, "token_hash", "tenant_id", unique=True), Index(None, "tenant_id", "api_key_id"))

    id: Mapped[uuid.UUID] = new_id_column()
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_keys.id", ondelete="CASCADE"),
                                                  nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = utcnow_column()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
