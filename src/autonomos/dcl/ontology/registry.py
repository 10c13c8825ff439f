"""A tenant's ontologies in Postgres: ``canonical_schemas`` and immutable versions.

These functions run inside the caller's tenant transaction (services open it and audit).
First use of an ontology that has a built-in default copies the newest default in as
version 1. A new version is written only when the content hash changes; the schema row is
locked while deciding, so two concurrent imports cannot both claim the next number. Each
new version enqueues the re-embedding of the canonical fields that changed, in the same
transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from autonomos.dcl.ontology.documents import content_hash, field_index
from autonomos.dcl.ontology.exceptions import OntologyError
from autonomos.dcl.ontology.typing import OntologyDocument
from autonomos.dcl.vectors.sources import enqueue, make_ref
from autonomos.store.tables import CanonicalSchema, CanonicalSchemaVersion, DefaultOntology


@dataclass(frozen=True)
class OntologyVersion:
    """One stored version of a tenant's ontology."""

    schema_id: uuid.UUID
    name: str
    version_id: uuid.UUID
    version: int
    content: OntologyDocument
    content_hash: str
    created_by: str
    created_at: dt.datetime


def _view(schema: CanonicalSchema, row: CanonicalSchemaVersion) -> OntologyVersion:
    return OntologyVersion(schema.id, schema.name, row.id, row.version, row.content, row.content_hash,
                           row.created_by, row.created_at)


def newest_default(session: Session, name: str) -> DefaultOntology | None:
    return session.scalar(select(DefaultOntology).where(DefaultOntology.name == name)
                          .order_by(DefaultOntology.version.desc()).limit(1))


def lock_schema(
    session: Session, tenant_id: uuid.UUID, name: str, *, actor: str, create: bool = False
) -> tuple[CanonicalSchema, bool]:
    """The tenant's schema row ``name``, locked. Missing, it is created when there is a default
    to seed it from (as version 1) or when ``create`` is set. Returns (schema, seeded)."""
    default = newest_default(session, name)
    inserted = None
    if default is not None or create:
        inserted = session.execute(
            insert(CanonicalSchema)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, name=name,
                    based_on_default_id=default.id if default else None)
            .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
            .returning(CanonicalSchema.id)
        ).scalar_one_or_none()
    schema = session.scalar(select(CanonicalSchema).where(CanonicalSchema.tenant_id == tenant_id,
                                                          CanonicalSchema.name == name).with_for_update())
    if schema is None:
        raise OntologyError("no such ontology", tenant=tenant_id, ontology=name)
    if inserted is None or default is None:
        return schema, False
    _write_version(session, schema, None, default.content, default.content_hash, actor)
    return schema, True


def current(session: Session, tenant_id: uuid.UUID, schema: CanonicalSchema) -> CanonicalSchemaVersion | None:
    return session.scalar(select(CanonicalSchemaVersion)
                          .where(CanonicalSchemaVersion.tenant_id == tenant_id,
                                 CanonicalSchemaVersion.schema_id == schema.id)
                          .order_by(CanonicalSchemaVersion.version.desc()).limit(1))


def add_version(
    session: Session, tenant_id: uuid.UUID, schema: CanonicalSchema, document: OntologyDocument, *, actor: str
) -> tuple[OntologyVersion, bool]:
    """Store ``document`` as the next version unless it equals the current one (no-op).
    ``schema`` must be locked by ``lock_schema`` in this transaction."""
    latest = current(session, tenant_id, schema)
    digest = content_hash(document)
    if latest is not None and latest.content_hash == digest:
        return _view(schema, latest), False
    return _view(schema, _write_version(session, schema, latest, document, digest, actor)), True


def _write_version(
    session: Session, schema: CanonicalSchema, previous: CanonicalSchemaVersion | None,
    document: OntologyDocument, digest: str, actor: str,
) -> CanonicalSchemaVersion:
    row = CanonicalSchemaVersion(id=uuid.uuid4(), tenant_id=schema.tenant_id, schema_id=schema.id,
                                 version=(previous.version + 1) if previous else 1, content=document,
                                 content_hash=digest, created_by=actor)
    session.add(row)
    session.flush()
    _enqueue_changed_fields(session, schema, previous.content if previous else None, document)
    return row


def _enqueue_changed_fields(
    session: Session, schema: CanonicalSchema, before: OntologyDocument | None, after: OntologyDocument
) -> None:
    old = field_index(before) if before else {}
    new = field_index(after)
    descriptions = {t["name"]: t["description"] for t in after["tables"]}
    old_descriptions = {t["name"]: t["description"] for t in before["tables"]} if before else {}
    changed = [key for key, spec in new.items()
               if old.get(key) != spec or descriptions[key[0]] != old_descriptions.get(key[0])]
    ref = lambda key: make_ref(schema.id, f"{key[0]}.{key[1]}")  # noqa: E731
    enqueue(session, schema.tenant_id, "canonical_field", [ref(k) for k in changed], "upsert")
    enqueue(session, schema.tenant_id, "canonical_field", [ref(k) for k in old if k not in new], "delete")


def get_version(session: Session, tenant_id: uuid.UUID, name: str, version: int | None) -> OntologyVersion:
    """Version ``version`` (default: current) of the tenant's ontology ``name``."""
    schema = session.scalar(select(CanonicalSchema).where(CanonicalSchema.tenant_id == tenant_id,
                                                          CanonicalSchema.name == name))
    if schema is None:
        raise OntologyError("no such ontology", tenant=tenant_id, ontology=name)
    query = select(CanonicalSchemaVersion).where(CanonicalSchemaVersion.tenant_id == tenant_id,
                                                 CanonicalSchemaVersion.schema_id == schema.id)
    if version is None:
        row = session.scalar(query.order_by(CanonicalSchemaVersion.version.desc()).limit(1))
    else:
        row = session.scalar(query.where(CanonicalSchemaVersion.version == version))
    if row is None:
        raise OntologyError("no such ontology version", tenant=tenant_id, ontology=name, version=version)
    return _view(schema, row)


def list_versions(session: Session, tenant_id: uuid.UUID) -> list[OntologyVersion]:
    rows = session.execute(
        select(CanonicalSchema, CanonicalSchemaVersion)
        .join(CanonicalSchemaVersion, (CanonicalSchemaVersion.tenant_id == CanonicalSchema.tenant_id)
              & (CanonicalSchemaVersion.schema_id == CanonicalSchema.id))
        .where(CanonicalSchema.tenant_id == tenant_id)
        .order_by(CanonicalSchema.name, CanonicalSchemaVersion.version))
    return [_view(schema, row) for schema, row in rows]
