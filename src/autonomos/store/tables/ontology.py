"""DCL's definitions: canonical schemas and their immutable versions, mappings, mapping
versions (immutable once published), the matcher's proposals and people's reviews."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
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


class CanonicalSchema(TenantOwned, Base):
    """A tenant's ontology (the default one, or an extension of it); content lives in versions."""

    __tablename__ = "canonical_schemas"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "id"))

    id: Mapped[uuid.UUID] = new_id_column()
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    based_on_default_id: Mapped[int | None] = mapped_column(ForeignKey("default_ontologies.id"))
    created_at: Mapped[dt.datetime] = utcnow_column()


class CanonicalSchemaVersion(TenantOwned, Base):
    """An immutable ontology version (a database trigger refuses updates)."""

    __tablename__ = "canonical_schema_versions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "schema_id"], ["canonical_schemas.tenant_id", "canonical_schemas.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "schema_id", "version"),
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[uuid.UUID] = new_id_column()
    schema_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[dict] = mapped_column(JSONB, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = utcnow_column()


class Mapping(TenantOwned, Base):
    """Which canonical entity one stream of one connection feeds; its content lives in versions."""

    __tablename__ = "mappings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "connection_id"], ["connections.tenant_id", "connections.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "connection_id", "stream", "canonical_entity"),
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[uuid.UUID] = new_id_column()
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    canonical_entity: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = utcnow_column()


class MappingVersion(TenantOwned, Base):
    """A set of field mappings pinned to an ontology version; immutable once ``published_at`` is set."""

    __tablename__ = "mapping_versions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "mapping_id"], ["mappings.tenant_id", "mappings.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "ontology_version_id"],
            ["canonical_schema_versions.tenant_id", "canonical_schema_versions.id"],
        ),
        UniqueConstraint("tenant_id", "mapping_id", "version"),
    )

    id: Mapped[uuid.UUID] = new_id_column()
    mapping_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    ontology_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    fields: Mapped[list] = mapped_column(JSONB, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    rollback_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = utcnow_column()


class MappingProposal(TenantOwned, Base):
    """The matcher's ranked candidates for one source field, with evidence and a decision tier."""

    __tablename__ = "mapping_proposals"
    __table_args__ = (Index(None, "tenant_id", "connection_id", "stream", "status"),)

    id: Mapped[uuid.UUID] = new_id_column()
    connection_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    stream: Mapped[str] = mapped_column(Text, nullable=False)
    source_field: Mapped[str] = mapped_column(Text, nullable=False)
    agent_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    candidates: Mapped[list] = mapped_column(JSONB, nullable=False, server_default="[]")
    top_score: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    evidence: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    created_at: Mapped[dt.datetime] = utcnow_column()


class Review(TenantOwned, Base):
    """A person's decision on a proposal: approve, reject, or edit (another field, a transform)."""

    __tablename__ = "reviews"
    __table_args__ = (Index(None, "tenant_id", "proposal_id"),)

    id: Mapped[uuid.UUID] = new_id_column()
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("mapping_proposals.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    canonical_entity: Mapped[str | None] = mapped_column(String(64))
    canonical_field: Mapped[str | None] = mapped_column(Text)
    transform: Mapped[dict | None] = mapped_column(JSONB)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = utcnow_column()
