"""Canonical output and schema history: events (append-only), current records, change log,
entity links, schema snapshots (fingerprints) and drift events."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from autonomos.store.base import Base, TenantOwned, new_id_column, utcnow_column


class CanonicalEvent(TenantOwned, Base):
    """One change to one canonical record. ``id`` is a pure function of (tenant, raw record
    version, mapping version); ``seq`` is the consumers' resumable cursor. Append-only.

    A bulk table: no per-row tenant foreign key (``store.purge`` deletes a tenant's events),
    and one reader index, (tenant, entity, seq): readers of one entity range over it, readers
    of all entities merge the entities' ranges (``services.records.read_events``)."""

    __tablename__ = "canonical_events"
    __tenant_fk__ = False
    __table_args__ = (Index(None, "tenant_id", "entity", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), nullable=False)
    entity: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    op: Mapped[str] = mapped_column(String(8), nullable=False)
    data: Mapped[dict] = mapped_column(JSONB, nullable=False)
    unknown_fields: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    source_system: Mapped[str] = mapped_column(String(64), nullable=False)
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    record_key: Mapped[str] = mapped_column(Text, nullable=False)
    raw_record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    schema_fingerprint: Mapped[str | None] = mapped_column(String(64))
    mapping_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    emitted_at: Mapped[dt.datetime] = utcnow_column()


class CanonicalRecord(TenantOwned, Base):
    """The current canonical state of one source record in one entity (a bulk table: no
    per-row tenant foreign key, ``store.purge`` deletes a tenant's records)."""

    __tablename__ = "canonical_records"
    __tenant_fk__ = False
    # The natural key is the only tenant-leading index: apply probes it with every column bound,
    # so a second (tenant, entity, ...) index could only ever be a wrong plan for that probe.
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "connection_id", "stream", "record_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    entity: Mapped[str] = mapped_column(String(64), nullable=False)
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    record_key: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict] = mapped_column(JSONB, nullable=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    last_event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    mapping_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    updated_at: Mapped[dt.datetime] = utcnow_column()


class ChangeLog(TenantOwned, Base):
    """Every change to a canonical record, written with its event, in the record's order.

    The event holds the record's data after the change, so a row stores only what the event
    does not: for an update, the changed fields (``{field: {"before", "after"}}``); for a
    creation or a deletion, nothing (``diff`` NULL: every field changed). The full before and
    after of a change are the data of the record's previous event and of its own
    (``services.records.show_record``). A bulk table keyed by (tenant, record, id): the
    history of a record is one range of its primary key; no per-row tenant foreign key."""

    __tablename__ = "change_log"
    __tenant_fk__ = False

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    entity: Mapped[str] = mapped_column(String(64), nullable=False)
    diff: Mapped[dict | None] = mapped_column(JSONB)
    changed_at: Mapped[dt.datetime] = utcnow_column()


class EntityLink(TenantOwned, Base):
    """Two canonical records known to be the same real thing, and the key that says so."""

    __tablename__ = "entity_links"
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "left_record_id", "right_record_id"),)

    id: Mapped[uuid.UUID] = new_id_column()
    entity: Mapped[str] = mapped_column(String(64), nullable=False)
    left_record_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    right_record_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    match_key: Mapped[str] = mapped_column(Text, nullable=False)
    match_value: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = utcnow_column()


class SchemaSnapshot(TenantOwned, Base):
    """A stream's observed schema and its fingerprint, with the profile that describes it.

    A history ordered by ``observed_at``: a schema may come back (A -> B -> A). ``recipe``
    names how the fingerprint was computed; fingerprints are compared within one recipe."""

    __tablename__ = "schema_snapshots"
    __table_args__ = (Index(None, "tenant_id", "connection_id", "stream", "observed_at"),)

    id: Mapped[uuid.UUID] = new_id_column()
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    recipe: Mapped[str] = mapped_column(String(16), nullable=False, server_default="fields-1")
    fields: Mapped[list] = mapped_column(JSONB, nullable=False)
    profile: Mapped[dict | None] = mapped_column(JSONB)
    observed_at: Mapped[dt.datetime] = utcnow_column()


class DriftEvent(TenantOwned, Base):
    """A classified change between two snapshots, with a proposed repair and its confidence."""

    __tablename__ = "drift_events"
    __table_args__ = (Index(None, "tenant_id", "connection_id", "stream", "detected_at"),)

    id: Mapped[uuid.UUID] = new_id_column()
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    from_snapshot_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    to_snapshot_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False, server_default="informational")
    rule: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    field: Mapped[str] = mapped_column(Text, nullable=False)
    details: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    repair: Mapped[dict | None] = mapped_column(JSONB)
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    detected_at: Mapped[dt.datetime] = utcnow_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
