"""AAM's tables: connections, sync runs, stream cursors, landed raw records and quarantine."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from autonomos.store.base import Base, TableScope, TenantOwned, new_id_column, utcnow_column


class Connection(TenantOwned, Base):
    """One tenant's configured access to one provider. Credentials are stored encrypted only."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "id"),
                      CheckConstraint("drift_policy IN ('propagate', 'hold', 'ignore')", name="drift_policy"))

    id: Mapped[uuid.UUID] = new_id_column()
    provider_id: Mapped[str] = mapped_column(String(64), ForeignKey("providers.id"), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    config: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    credentials_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    credentials_key_id: Mapped[str | None] = mapped_column(String(16))
    schedule: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="active")
    drift_policy: Mapped[str] = mapped_column(String(16), nullable=False, server_default="propagate")
    """What a schema change does to applying: propagate, hold (on a breaking change), ignore."""
    created_at: Mapped[dt.datetime] = utcnow_column()
    updated_at: Mapped[dt.datetime] = utcnow_column()


def _connection_fk() -> ForeignKeyConstraint:
    """Child rows reference (tenant_id, connection id), so a row can never point across tenants."""
    return ForeignKeyConstraint(
        ["tenant_id", "connection_id"], ["connections.tenant_id", "connections.id"], ondelete="CASCADE"
    )


class SyncRun(TenantOwned, Base):
    """One sync of a connection: the durable truth that the Redis job only points at."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        _connection_fk(),
        Index(None, "tenant_id", "connection_id", "created_at"),
        Index(None, "status", "heartbeat_at"),
        # At most one active run per connection, enforced by the database.
        Index(
            "uq_sync_runs_one_active_per_connection",
            "tenant_id",
            "connection_id",
            unique=True,
            postgresql_where="status IN ('pending', 'running', 'paused')",
        ),
    )

    id: Mapped[uuid.UUID] = new_id_column()
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    streams: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    mode: Mapped[str] = mapped_column(String(16), nullable=False, server_default="incremental")
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    control: Mapped[str | None] = mapped_column(String(16))
    """What a person asked of a running run (``cancel`` / ``pause``); the worker obeys between batches."""
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    worker_id: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    error: Mapped[dict | None] = mapped_column(JSONB)
    """The last failure, structured: kind, message, transient, causes."""
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    """Failed attempts in a row without progress (a committed batch resets it)."""
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    history: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    created_at: Mapped[dt.datetime] = utcnow_column()


class StreamState(TenantOwned, Base):
    """Where incremental reading of one stream resumes; committed with the batch it follows."""

    __tablename__ = "stream_states"
    __table_args__ = (_connection_fk(), PrimaryKeyConstraint("tenant_id", "connection_id", "stream"))

    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    cursor: Mapped[dict | None] = mapped_column(JSONB)
    updated_at: Mapped[dt.datetime] = utcnow_column()


class RawRecord(TenantOwned, Base):
    """Every distinct version of a source record, content-hashed: unchanged records add nothing."""

    __tablename__ = "raw_records"
    __tenant_fk__ = False  # bulk table: purged explicitly (see ``store.purge``), no per-row FK checks
    __table_args__ = (
        UniqueConstraint("tenant_id", "connection_id", "stream", "record_key", "version"),
        Index(None, "tenant_id", "connection_id", "stream", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    record_key: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    payload: Mapped[dict] = mapped_column(JSONB, nullable=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    sync_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    landed_at: Mapped[dt.datetime] = utcnow_column()


class RawRecordHead(TenantOwned, Base):
    """The latest version of each source record: what the landing compares a batch with.

    Landing upserts heads with ``ON CONFLICT`` on this primary key, so finding a record's
    latest version is always one unique-index probe, whatever the planner believes about
    table sizes.
    """

    __tablename__ = "raw_record_heads"
    __tenant_fk__ = False  # bulk table: purged explicitly (see ``store.purge``), no per-row FK checks
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "connection_id", "stream", "record_key"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    record_key: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    raw_record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    """The ``raw_records`` row of this version: readers fetch it by primary key."""


class Quarantine(TenantOwned, Base):
    """A record that could not be landed or applied, with the reason and what was read."""

    __tablename__ = "quarantine"
    __table_args__ = (
        Index(None, "tenant_id", "connection_id", "stream", "created_at"),
        Index("uq_quarantine_open_fingerprint", "tenant_id", "connection_id", "stream", "stage", "fingerprint",
              unique=True, postgresql_where="status = 'open' AND fingerprint IS NOT NULL"),
        Index("ix_quarantine_open_record_key", "tenant_id", "connection_id", "stream", "record_key",
              postgresql_where="status = 'open'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    connection_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    stream: Mapped[str | None] = mapped_column(Text)
    sync_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    record_key: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict | None] = mapped_column(JSONB)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    created_at: Mapped[dt.datetime] = utcnow_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    """Hash of what was read (stream, stage, raw text or payload): the same bad source row
    re-read by later syncs counts on its open item instead of opening another."""
    occurrences: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    last_seen_at: Mapped[dt.datetime] = utcnow_column()


class SyncRunKey(TenantOwned, Base):
    """Keys seen by a full-refresh run, so the keys it did not see can be recorded as deleted
    (kept in Postgres, so a resumed run still knows what it saw before the crash)."""

    __tablename__ = "sync_run_keys"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "sync_run_id", "stream", "record_key"),)

    sync_run_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    record_key: Mapped[str] = mapped_column(Text, nullable=False)


class LandingStaging(Base):
    """COPY target of the landing. Never holds a committed row (see ``store.base``)."""

    __tablename__ = "landing_staging"
    __scope__: TableScope = "staging"
    __table_args__ = (
        PrimaryKeyConstraint("batch_id", "seq"),
        {"prefixes": ["UNLOGGED"]},
    )

    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    record_key: Mapped[str] = mapped_column(Text, nullable=False)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    """JSON text: parsed into JSONB only for the records that become a new version."""
    is_deleted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    raw_record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    """Reserved before the batch is written, in read order (see ``Lander.reserve_ids``)."""
