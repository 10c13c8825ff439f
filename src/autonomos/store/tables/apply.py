"""Applying mapping versions: apply runs (bulk movement is recorded per run, not per row; the
apply's COPY target is a temporary table of each batch's transaction, ``dcl.apply.writer``)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKeyConstraint, Index, Integer
from sqlalchemy import String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from autonomos.store.base import Base, TenantOwned, new_id_column, utcnow_column


class ApplyRun(TenantOwned, Base):
    """One application of a mapping version to landed records: a backfill after a publish or
    rollback, or the records a sync landed. ``high_water`` is the highest raw record id it saw,
    where the next incremental apply of the mapping starts."""

    __tablename__ = "apply_runs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "mapping_id"], ["mappings.tenant_id", "mappings.id"], ondelete="CASCADE"),
        Index(None, "tenant_id", "mapping_id", "started_at"),
        Index(None, "status", "heartbeat_at"),
    )

    id: Mapped[uuid.UUID] = new_id_column()
    mapping_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    mapping_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    trigger: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="running")
    counts: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    high_water: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    error: Mapped[dict | None] = mapped_column(JSONB)
    """The last failure, structured: kind, message, transient, causes."""
    incremental: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    resume_after: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    """Position after the last committed batch (record key, or raw record id for an incremental run)."""
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    """Failed attempts in a row without progress (a committed batch resets it)."""
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    history: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    worker_id: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime] = utcnow_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
