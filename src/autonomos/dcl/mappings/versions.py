"""Mapping versions in Postgres: the current one, publishing the next one, diffs.

Functions run in the caller's tenant transaction. The mapping row is locked while the next
number is decided, so two publishers cannot both claim it. A version is published as it is
written (``published_at`` set), which makes it immutable (a trigger refuses updates).
Publishing content equal to the current version's writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.dcl.mappings.paths import path_problem
from autonomos.dcl.mappings.transforms import normalise_steps
from autonomos.dcl.mappings.typing import FieldMapping
from autonomos.store.tables import Mapping, MappingVersion


def normalise_fields(fields: Sequence[dict]) -> list[FieldMapping]:
    """Validated entries, sorted by canonical field (so content hashes ignore order)."""
    if not isinstance(fields, (list, tuple)):
        raise MappingError(f"fields must be a list of {{source_field, canonical_field}} objects, not {type(fields).__name__}")
    out: list[FieldMapping] = []
    seen: set[str] = set()
    for entry in fields:
        if not isinstance(entry, dict):
            raise MappingError(f"every field is an object with source_field and canonical_field, not {entry!r:.80}")
        source, target = entry.get("source_field"), entry.get("canonical_field")
        if not isinstance(source, str) or not isinstance(target, str) or not source or not target:
            raise MappingError(f"every field needs source_field and canonical_field: {entry!r}")
        if problem := path_problem(source):
            raise MappingError(problem)
        if target in seen:
            raise MappingError(f"canonical field {target} is mapped twice")
        seen.add(target)
        item: FieldMapping = {"source_field": source, "canonical_field": target}
        steps = normalise_steps(entry.get("transform"))
        if steps:
            item["transform"] = steps
        out.append(item)
    return sorted(out, key=lambda f: f["canonical_field"])


def content_hash(fields: Sequence[FieldMapping], ontology_version_id: uuid.UUID) -> str:
    body = json.dumps({"ontology_version": str(ontology_version_id), "fields": list(fields)}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def lock_mapping(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str,
                 entity: str) -> Mapping:
    """The mapping row of (connection, stream, entity), created if missing, locked."""
    session.execute(insert(Mapping).values(id=uuid.uuid4(), tenant_id=tenant_id, connection_id=connection_id,
                                           stream=stream, canonical_entity=entity)
                    .on_conflict_do_nothing(index_elements=["tenant_id", "connection_id", "stream",
                                                            "canonical_entity"]))
    return session.scalars(select(Mapping).where(
        Mapping.tenant_id == tenant_id, Mapping.connection_id == connection_id, Mapping.stream == stream,
        Mapping.canonical_entity == entity).with_for_update()).one()


def current_version(session: Session, tenant_id: uuid.UUID, mapping_id: uuid.UUID) -> MappingVersion | None:
    """The newest published version: the one apply uses."""
    return session.scalar(select(MappingVersion).where(
        MappingVersion.tenant_id == tenant_id, MappingVersion.mapping_id == mapping_id,
        MappingVersion.published_at.is_not(None)).order_by(MappingVersion.version.desc()).limit(1))


def get_version(session: Session, tenant_id: uuid.UUID, mapping_id: uuid.UUID, version: int) -> MappingVersion:
    found = session.scalar(select(MappingVersion).where(
        MappingVersion.tenant_id == tenant_id, MappingVersion.mapping_id == mapping_id,
        MappingVersion.version == version))
    if found is None:
        raise MappingError("no such mapping version", tenant=tenant_id, mapping=mapping_id, version=version)
    return found


def publish(session: Session, tenant_id: uuid.UUID, mapping: Mapping, ontology_version_id: uuid.UUID,
            fields: Sequence[dict], *, actor: str, rollback_of: uuid.UUID | None = None
            ) -> tuple[MappingVersion, bool]:
    """Publish ``fields`` as the mapping's next version; (version, created). ``mapping`` must be locked."""
    normalised = normalise_fields(fields)
    if not normalised:
        raise MappingError("nothing to publish: no accepted fields", tenant=tenant_id, mapping=mapping.id)
    digest = content_hash(normalised, ontology_version_id)
    latest = current_version(session, tenant_id, mapping.id)
    if latest is not None and latest.content_hash == digest:
        return latest, False
    number = (session.scalar(select(func.max(MappingVersion.version)).where(
        MappingVersion.tenant_id == tenant_id, MappingVersion.mapping_id == mapping.id)) or 0) + 1
    row = MappingVersion(id=uuid.uuid4(), tenant_id=tenant_id, mapping_id=mapping.id, version=number,
                         ontology_version_id=ontology_version_id, fields=normalised, content_hash=digest,
                         rollback_of=rollback_of, published_at=func.now(), published_by=actor)
    session.add(row)
    session.flush()
    session.refresh(row)
    return row, True


def diff(old: Sequence[FieldMapping], new: Sequence[FieldMapping]) -> list[dict]:
    """Per canonical field: added, removed or changed (source field or transform)."""
    before = {f["canonical_field"]: f for f in old}
    after = {f["canonical_field"]: f for f in new}
    out: list[dict] = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        change = "added" if a is None else "removed" if b is None else "changed"
        out.append({"canonical_field": name, "change": change, "before": a, "after": b})
    return out
