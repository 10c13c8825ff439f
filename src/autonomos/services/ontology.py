"""A tenant's canonical ontology: import, export, list and show, each in one tenant transaction.

The first call for an ontology with a built-in default (``crm``) copies the default in as
version 1. ``import`` writes a new immutable version only when the content hash changes;
with ``extend`` the file is laid over the current version instead of replacing it, which
is how a tenant adds its own entities and fields. Every new version is audited in the
transaction that writes it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from autonomos.dcl.ontology import registry
from autonomos.dcl.ontology.documents import extend as extend_document
from autonomos.dcl.ontology.documents import normalise
from autonomos.dcl.ontology.exceptions import OntologyError
from autonomos.dcl.ontology.typing import DEFAULT_ONTOLOGY, EntitySpec, OntologyDocument
from autonomos.dcl.ontology.registry import OntologyVersion
from autonomos.errors import NotFound
from autonomos.services import audit
from autonomos.runtime import Runtime
from autonomos.store.tables import CanonicalSchema

SYSTEM_ACTOR = "system:ontology"
"""Who seeds a tenant's ontology from the default when a read is its first use."""


@dataclass(frozen=True)
class ImportResult:
    version: OntologyVersion
    created: bool


def import_ontology(
    rt: Runtime, tenant_id: uuid.UUID, document: OntologyDocument, *, extend: bool = False, actor: str
) -> ImportResult:
    """Make ``document`` (or, with ``extend``, the current version extended by it) the current version."""
    with rt.db.tenant(tenant_id) as session:
        schema, seeded = registry.lock_schema(session, tenant_id, document["name"], actor=actor, create=True)
        if seeded:
            _audit_seed(session, tenant_id, schema, actor)
        latest = registry.current(session, tenant_id, schema)
        if extend and latest is not None:
            document = extend_document(latest.content, document)
        version, created = registry.add_version(session, tenant_id, schema, document, actor=actor)
        if created:
            before = {"version": latest.version, "content_hash": latest.content_hash} if latest else None
            _audit(session, tenant_id, version.version_id, version.name, version.version, version.content_hash,
                   actor, "ontology.import", before)
        return ImportResult(version, created)


def import_document(rt: Runtime, tenant_id: uuid.UUID, raw: object, *, extend: bool = False,
                    actor: str) -> ImportResult:
    """``import_ontology`` of a document given as parsed JSON/YAML (checked and normalised first)."""
    return import_ontology(rt, tenant_id, normalise(raw), extend=extend, actor=actor)


def ontology_version(
    rt: Runtime, tenant_id: uuid.UUID, name: str = DEFAULT_ONTOLOGY, version: int | None = None,
    *, actor: str = SYSTEM_ACTOR,
) -> OntologyVersion:
    """A version (default: current) of the tenant's ontology; what ``export`` writes out."""
    with rt.db.tenant(tenant_id) as session:
        _seed_if_first_use(session, tenant_id, name, actor)
        return registry.get_version(session, tenant_id, name, version)


def list_ontologies(rt: Runtime, tenant_id: uuid.UUID, *, actor: str = SYSTEM_ACTOR) -> list[OntologyVersion]:
    """Every version of every ontology of the tenant (the default is seeded first)."""
    with rt.db.tenant(tenant_id) as session:
        _seed_if_first_use(session, tenant_id, DEFAULT_ONTOLOGY, actor)
        return registry.list_versions(session, tenant_id)


def version_by_id(rt: Runtime, tenant_id: uuid.UUID, version_id: uuid.UUID, *,
                  actor: str = SYSTEM_ACTOR) -> OntologyVersion:
    """A version by its id (what the API addresses); NotFound for another tenant's."""
    for found in list_ontologies(rt, tenant_id, actor=actor):
        if found.version_id == version_id:
            return found
    raise NotFound("no such ontology version", tenant=tenant_id, version=version_id)


def show_entity(
    rt: Runtime, tenant_id: uuid.UUID, entity: str, name: str = DEFAULT_ONTOLOGY, version: int | None = None,
    *, actor: str = SYSTEM_ACTOR,
) -> tuple[OntologyVersion, EntitySpec]:
    """One entity's fields at a version (default: current)."""
    found = ontology_version(rt, tenant_id, name, version, actor=actor)
    for spec in found.content["tables"]:
        if spec["name"] == entity:
            return found, spec
    raise OntologyError("no such entity", tenant=tenant_id, ontology=name, version=found.version, entity=entity)


def _seed_if_first_use(session: Session, tenant_id: uuid.UUID, name: str, actor: str) -> None:
    if registry.newest_default(session, name) is None:
        return
    schema, seeded = registry.lock_schema(session, tenant_id, name, actor=actor)
    if seeded:
        _audit_seed(session, tenant_id, schema, actor)


def _audit_seed(session: Session, tenant_id: uuid.UUID, schema: CanonicalSchema, actor: str) -> None:
    row = registry.current(session, tenant_id, schema)
    _audit(session, tenant_id, row.id, schema.name, row.version, row.content_hash, actor, "ontology.seed", None)


def _audit(
    session: Session, tenant_id: uuid.UUID, version_id: uuid.UUID, name: str, version: int, digest: str,
    actor: str, action: str, before: dict | None,
) -> None:
    audit.record(session, tenant_id, actor=actor, action=action, target_type="ontology", target_id=version_id,
                 before=before, after={"ontology": name, "version": version, "content_hash": digest})
