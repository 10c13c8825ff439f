"""Mapping versions: publish (from the review queue or explicit fields), rollback, diff, list.

Publishing writes the immutable version, its audit row and the outbox rows that feed the
matcher's memory in one tenant transaction; the backfill (apply from landed raw records)
runs afterwards in its own batches, so a long backfill never holds the publish open.
Rollback publishes a new version whose content is an older one's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from autonomos.dcl.apply import ApplyReport
from autonomos.dcl.mappings import review as queue
from autonomos.dcl.mappings import versions
from autonomos.dcl.mappings.confusables import confusable_twins, describe_twin, odd_characters
from autonomos.dcl.apply.apply import entity_types
from autonomos.dcl.mappings.transforms import compile_fields, normalise_steps
from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.dcl.vectors.outbox import enqueue_mapping_examples
from autonomos.errors import NotFound
from autonomos.services import audit
from autonomos.services.apply import apply_and_resolve, resume_backfill
from autonomos.services.ontology import ontology_version
from autonomos.notifications import notify
from autonomos.runtime import Runtime
from autonomos.store.tables import Connection, Mapping, MappingProposal, MappingVersion, Quarantine

TOP_REASONS = 3


@dataclass(frozen=True)
class VersionInfo:
    id: uuid.UUID
    mapping_id: uuid.UUID
    connection: str
    stream: str
    entity: str
    version: int
    fields: list
    rollback_of: uuid.UUID | None
    published_by: str | None
    published_at: object


@dataclass(frozen=True)
class PublishResult:
    version: VersionInfo
    created: bool
    applied: ApplyReport | None
    problem: str | None = None
    """Set when the backfill quarantined every record it read: what went wrong, top reasons first."""


def _info(row: MappingVersion, mapping: Mapping, connection: str) -> VersionInfo:
    return VersionInfo(row.id, mapping.id, connection, mapping.stream, mapping.canonical_entity, row.version,
                       row.fields, row.rollback_of, row.published_by, row.published_at)


def publish_fields(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, entity: str, fields: list[dict],
                   *, actor: str, apply: bool = True, rollback_of: uuid.UUID | None = None) -> PublishResult:
    """Publish ``fields`` as the next version of (connection, stream, entity) and backfill it."""
    ontology = ontology_version(rt, tenant_id)
    # Compiled once before anything is written: a malformed step or an unknown canonical field is
    # refused here, not by the backfill after the version exists.
    compile_fields(versions.normalise_fields(fields), entity_types(ontology.content, entity))
    with rt.db.tenant(tenant_id) as session:
        connection_id = queue.connection_id(session, tenant_id, connection)
        _refuse_confusable(session, tenant_id, connection_id, stream, fields)
        mapping = versions.lock_mapping(session, tenant_id, connection_id, stream, entity)
        before = versions.current_version(session, tenant_id, mapping.id)
        row, created = versions.publish(session, tenant_id, mapping, ontology.version_id, fields, actor=actor,
                                        rollback_of=rollback_of)
        if created:
            audit.record(session, tenant_id, actor=actor, action="mapping.rollback" if rollback_of else "mapping.publish",
                         target_type="mapping_version", target_id=row.id,
                         before={"version": before.version, "fields": before.fields} if before else None,
                         after={"connection": connection, "stream": stream, "entity": entity, "version": row.version,
                                "fields": row.fields, "rollback_of": str(rollback_of) if rollback_of else None})
            enqueue_mapping_examples(session, tenant_id, row.id)
            notify(rt, session, tenant_id, "mapping.published", {
                "mapping_version_id": str(row.id), "connection_id": str(connection_id), "connection": connection,
                "stream": stream, "entity": entity, "version": row.version,
                "rollback_of": str(rollback_of) if rollback_of else None})
        info = _info(row, mapping, connection)
    report = None
    if apply and created:
        report = apply_and_resolve(rt, tenant_id, row.id, trigger="rollback" if rollback_of else "publish")
    elif apply:  # unchanged: a backfill that never finished (killed, failed, abandoned) continues
        report = resume_backfill(rt, tenant_id, row.id)
    return PublishResult(info, created, report, _backfill_problem(rt, tenant_id, connection_id, info, report))


def _source_names(fields: list[dict]) -> list[str]:
    names = [f.get("source_field", "") for f in fields]
    for f in fields:
        for step in normalise_steps(f.get("transform")):
            names.extend(step.get("with", []))
    return names


def _refuse_confusable(session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str, fields: list[dict]) -> None:
    """A version may not map a field whose name only invisible or look-alike characters tell
    apart from another field of the stream: a person could not see which one was meant."""
    known = session.scalars(select(MappingProposal.source_field).distinct().where(
        MappingProposal.tenant_id == tenant_id, MappingProposal.connection_id == connection_id,
        MappingProposal.stream == stream)).all()
    mapped = _source_names(fields)
    twins = confusable_twins([*mapped, *known])
    for name in mapped:
        if name in twins and odd_characters(name):
            raise MappingError(f"source field {describe_twin(name, twins[name])}; rename it at the source, "
                               "or map the field without the odd characters", stream=stream)


def _backfill_problem(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, info: VersionInfo,
                      report: ApplyReport | None) -> str | None:
    """When the backfill quarantined every record it read, say so with the most frequent reasons."""
    if report is None or not report.counts.read or report.counts.quarantined < report.counts.read:
        return None
    cause = func.split_part(Quarantine.reason, " value ", 1)
    with rt.db.tenant(tenant_id) as session:
        top = session.execute(
            select(cause, func.count()).where(
                Quarantine.tenant_id == tenant_id, Quarantine.connection_id == connection_id,
                Quarantine.stream == info.stream, Quarantine.stage == "apply", Quarantine.status == "open",
                Quarantine.reason.like(f"% (mapping version {info.version})"))
            .group_by(cause).order_by(func.count().desc(), cause).limit(TOP_REASONS)).all()
    reasons = "; ".join(f"{reason.removesuffix(f' (mapping version {info.version})')} ({n})" for reason, n in top)
    return (f"the backfill of version {info.version} quarantined every record it read "
            f"({report.counts.quarantined} of {report.counts.read}); top reasons: {reasons or 'none recorded'}")


def publish_reviewed(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, *, actor: str,
                     apply: bool = True) -> list[PublishResult]:
    """Publish the accepted fields of a stream's review queue, one version per canonical entity."""
    with rt.db.tenant(tenant_id) as session:
        connection_id = queue.connection_id(session, tenant_id, connection)
        by_entity = queue.accepted_fields(session, tenant_id, connection_id, stream)
    if not by_entity:
        raise MappingError("no accepted proposals to publish", tenant=tenant_id, connection=connection, stream=stream)
    return [publish_fields(rt, tenant_id, connection, stream, entity, fields, actor=actor, apply=apply)
            for entity, fields in sorted(by_entity.items())]


def rollback(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, entity: str, to_version: int, *,
             actor: str) -> PublishResult:
    """Publish a new version with the content of ``to_version``."""
    old = get_version(rt, tenant_id, connection, stream, entity, to_version)
    result = publish_fields(rt, tenant_id, connection, stream, entity, old.fields, actor=actor, rollback_of=old.id)
    if not result.created:
        raise MappingError(f"version {to_version} is already the current content", tenant=tenant_id,
                           connection=connection, stream=stream, entity=entity)
    return result


def _mapping(session, tenant_id: uuid.UUID, connection: str, stream: str, entity: str) -> Mapping:
    connection_id = queue.connection_id(session, tenant_id, connection)
    found = session.scalar(select(Mapping).where(Mapping.tenant_id == tenant_id, Mapping.connection_id == connection_id,
                                                 Mapping.stream == stream, Mapping.canonical_entity == entity))
    if found is None:
        raise NotFound("no such mapping", tenant=tenant_id, connection=connection, stream=stream, entity=entity)
    return found


def get_version(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, entity: str,
                version: int | None = None) -> VersionInfo:
    """A version (default: the current one) of a mapping."""
    with rt.db.tenant(tenant_id) as session:
        mapping = _mapping(session, tenant_id, connection, stream, entity)
        row = (versions.get_version(session, tenant_id, mapping.id, version) if version is not None
               else versions.current_version(session, tenant_id, mapping.id))
        if row is None:
            raise NotFound("the mapping has no published version", tenant=tenant_id, mapping=mapping.id)
        return _info(row, mapping, connection)


def diff_versions(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, entity: str, old: int,
                  new: int | None = None) -> list[dict]:
    """What changed between two versions (default: ``old`` against the current one)."""
    before = get_version(rt, tenant_id, connection, stream, entity, old)
    after = get_version(rt, tenant_id, connection, stream, entity, new)
    return versions.diff(before.fields, after.fields)


def list_versions(rt: Runtime, tenant_id: uuid.UUID, connection: str | None = None) -> list[VersionInfo]:
    """Every mapping version of the tenant (or of one connection), newest last per mapping."""
    with rt.db.tenant(tenant_id) as session:
        query = (select(MappingVersion, Mapping, Connection.name)
                 .join(Mapping, (Mapping.tenant_id == MappingVersion.tenant_id) & (Mapping.id == MappingVersion.mapping_id))
                 .join(Connection, (Connection.tenant_id == Mapping.tenant_id) & (Connection.id == Mapping.connection_id))
                 .where(MappingVersion.tenant_id == tenant_id)
                 .order_by(Connection.name, Mapping.stream, Mapping.canonical_entity, MappingVersion.version))
        if connection is not None:
            query = query.where(Mapping.connection_id == queue.connection_id(session, tenant_id, connection))
        return [_info(row, mapping, name) for row, mapping, name in session.execute(query)]


def version_by_id(rt: Runtime, tenant_id: uuid.UUID, version_id: uuid.UUID) -> VersionInfo:
    """A mapping version by its id (what the API addresses)."""
    with rt.db.tenant(tenant_id) as session:
        found = session.execute(
            select(MappingVersion, Mapping, Connection.name)
            .join(Mapping, (Mapping.tenant_id == MappingVersion.tenant_id) & (Mapping.id == MappingVersion.mapping_id))
            .join(Connection, (Connection.tenant_id == Mapping.tenant_id) & (Connection.id == Mapping.connection_id))
            .where(MappingVersion.tenant_id == tenant_id, MappingVersion.id == version_id)).one_or_none()
    if found is None:
        raise NotFound("no such mapping version", tenant=tenant_id, version=version_id)
    return _info(*found)


def diff_by_id(rt: Runtime, tenant_id: uuid.UUID, version_id: uuid.UUID, against: int | None = None
               ) -> tuple[VersionInfo, VersionInfo, list[dict]]:
    """What changed from version ``version_id`` to version number ``against`` of the same mapping
    (default: the current one): (old, new, changes)."""
    old = version_by_id(rt, tenant_id, version_id)
    new = get_version(rt, tenant_id, old.connection, old.stream, old.entity, against)
    return old, new, versions.diff(old.fields, new.fields)


def rollback_to(rt: Runtime, tenant_id: uuid.UUID, version_id: uuid.UUID, *, actor: str) -> PublishResult:
    """Publish a new version of the mapping with the content of version ``version_id``."""
    old = version_by_id(rt, tenant_id, version_id)
    return rollback(rt, tenant_id, old.connection, old.stream, old.entity, old.version, actor=actor)
