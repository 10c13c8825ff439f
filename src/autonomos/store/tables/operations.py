"""Operational records: the embedding outbox, agent runs, eval runs and the audit log."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from autonomos.store.base import Base, TenantOwned, new_id_column, utcnow_column


class EmbeddingOutbox(TenantOwned, Base):
    """What must be (re)embedded or removed from the vector store; a background job drains it."""

    __tablename__ = "embedding_outbox"
    __table_args__ = (
        Index(None, "tenant_id", "item_kind", "item_id"),
        Index("ix_embedding_outbox_pending", "id", postgresql_where="processed_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    item_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    item_id: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(8), nullable=False, server_default="upsert")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    enqueued_at: Mapped[dt.datetime] = utcnow_column()
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """A row that failed transiently is not retried before this time."""


class AgentRun(TenantOwned, Base):
    """One run of an automated proposer (matcher, repair, reranker): inputs, outputs, costs."""

    __tablename__ = "agent_runs"
    __table_args__ = (Index(None, "tenant_id", "kind", "started_at"),)

    id: Mapped[uuid.UUID] = new_id_column()
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    model: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="running")
    inputs: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    outputs: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    evidence: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    tokens: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    cost_usd: Mapped[float | None] = mapped_column(Numeric(12, 6))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = utcnow_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class EvalRun(TenantOwned, Base):
    """One scored evaluation of the matcher against gold files."""

    __tablename__ = "eval_runs"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = new_id_column()
    matcher: Mapped[str] = mapped_column(Text, nullable=False)
    model: Mapped[str | None] = mapped_column(Text)
    gold_files: Mapped[list] = mapped_column(JSONB, nullable=False)
    scores: Mapped[dict] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[dt.datetime] = utcnow_column()


class AuditLog(TenantOwned, Base):
    """Every change a person or client made: actor, action, target, time, before/after.
    Credentials never appear here, only the fact that they changed."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "tenant_id", "at"), Index(None, "tenant_id", "target_type", "target_id"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str] = mapped_column(String(32), nullable=False)
    target_id: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    at: Mapped[dt.datetime] = utcnow_column()
