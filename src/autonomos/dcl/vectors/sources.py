"""Items as Postgres knows them: references, the outbox entry point, loading and resolution.

The same loader serves the outbox drainer (the text to embed) and query resolution (does
the row still exist, and what does it say now), so a hit is only ever reported through the
row it points at. Every query filters on the tenant explicitly; callers pass either a
tenant session (RLS applies) or the drainer's maintenance session.

Published mapping versions hold ``fields`` as a list of objects with at least
``source_field`` and ``canonical_field``; each such pair is one approved example. A
proposal whose status is ``rejected`` is one rejected example: its source field and the
target its latest ``reject`` review names (``reviews.canonical_entity/field``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from autonomos.dcl.matching.texts import source_field_text
from autonomos.dcl.vectors.exceptions import OutboxItemError
from autonomos.dcl.vectors.typing import ITEM_KINDS, ItemKind, ItemSource, OutboxAction, ResolvedHit, VectorHit
from autonomos.store.tables import (
    CanonicalSchema,
    CanonicalSchemaVersion,
    Connection,
    EmbeddingOutbox,
    Mapping,
    MappingProposal,
    MappingVersion,
    Review,
    SchemaSnapshot,
)


def make_ref(owner_id: uuid.UUID | str, name: str) -> str:
    return f"{owner_id}:{name}"


def split_ref(kind: str, ref_id: str) -> tuple[uuid.UUID, str]:
    """(owning row id, part name) of a reference; raises OutboxItemError when malformed."""
    if kind not in ITEM_KINDS:
        raise OutboxItemError(f"unknown item kind {kind!r}", ref_id=ref_id)
    owner, _, name = ref_id.partition(":")
    try:
        owner_id = uuid.UUID(owner)
    except ValueError:
        owner_id = None
    if owner_id is None or not name:
        raise OutboxItemError("malformed item reference", kind=kind, ref_id=ref_id)
    return owner_id, name


def enqueue(
    session: Session, tenant_id: uuid.UUID, kind: ItemKind, ref_ids: Iterable[str], action: OutboxAction = "upsert"
) -> int:
    """Add outbox rows in the caller's transaction, so a change and its re-embedding commit together."""
    rows = [{"tenant_id": tenant_id, "item_kind": kind, "item_id": r, "action": action} for r in ref_ids]
    if rows:
        session.execute(insert(EmbeddingOutbox), rows)
    return len(rows)


def load_items(session: Session, tenant_id: uuid.UUID, kind: str, ref_ids: Sequence[str]) -> dict[str, ItemSource]:
    """The items that exist now, by reference; references to rows that are gone are absent."""
    by_owner: dict[uuid.UUID, set[str]] = defaultdict(set)
    for ref_id in ref_ids:
        owner, name = split_ref(kind, ref_id)
        by_owner[owner].add(name)
    loader = {"canonical_field": _canonical, "source_field": _source, "mapping_example": _examples,
              "rejected_example": _rejections}[kind]
    found = loader(session, tenant_id, list(by_owner))
    return {make_ref(owner, name): item for owner, names in by_owner.items()
            for name, item in found.get(owner, {}).items() if name in names}


def resolve(session: Session, tenant_id: uuid.UUID, hits: Sequence[VectorHit]) -> list[ResolvedHit]:
    """Hits whose rows still exist, best first, carrying what Postgres says (not the vector metadata)."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for hit in hits:
        if hit.kind in ITEM_KINDS:
            by_kind[hit.kind].append(hit.ref_id)
    items = {(k, r): item for k, refs in by_kind.items() for r, item in load_items(session, tenant_id, k, refs).items()}
    return [ResolvedHit(h.score, items[(h.kind, h.ref_id)]) for h in hits if (h.kind, h.ref_id) in items]


def current_refs(session: Session, tenant_id: uuid.UUID) -> dict[ItemKind, list[str]]:
    """Everything the store should hold for a tenant (what a rebuild re-embeds)."""
    refs: dict[ItemKind, list[str]] = {}
    schema_ids = list(session.scalars(select(CanonicalSchema.id).where(CanonicalSchema.tenant_id == tenant_id)))
    refs["canonical_field"] = sorted(_all(_canonical(session, tenant_id, schema_ids)))
    # Field-list snapshots only: drift keeps a history of its own recipe next to them.
    latest = (select(SchemaSnapshot.id).where(SchemaSnapshot.tenant_id == tenant_id, SchemaSnapshot.recipe == "fields-1")
              .ext(distinct_on(SchemaSnapshot.connection_id, SchemaSnapshot.stream))
              .order_by(SchemaSnapshot.connection_id, SchemaSnapshot.stream, SchemaSnapshot.observed_at.desc()))
    refs["source_field"] = sorted(_all(_source(session, tenant_id, list(session.scalars(latest)))))
    published = (select(MappingVersion.id)
                 .where(MappingVersion.tenant_id == tenant_id, MappingVersion.published_at.is_not(None))
                 .ext(distinct_on(MappingVersion.mapping_id))
                 .order_by(MappingVersion.mapping_id, MappingVersion.version.desc()))
    refs["mapping_example"] = sorted(_all(_examples(session, tenant_id, list(session.scalars(published)))))
    rejected = select(MappingProposal.id).where(MappingProposal.tenant_id == tenant_id,
                                                MappingProposal.status == "rejected")
    refs["rejected_example"] = sorted(_all(_rejections(session, tenant_id, list(session.scalars(rejected)))))
    return refs


def _all(found: dict[uuid.UUID, dict[str, ItemSource]]) -> list[str]:
    return [make_ref(owner, name) for owner, items in found.items() for name in items]


def _canonical(session: Session, tenant_id: uuid.UUID, schema_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """Fields of each schema's current version."""
    if not schema_ids:
        return {}
    newest = (select(CanonicalSchemaVersion.schema_id, func.max(CanonicalSchemaVersion.version).label("v"))
              .where(CanonicalSchemaVersion.tenant_id == tenant_id, CanonicalSchemaVersion.schema_id.in_(schema_ids))
              .group_by(CanonicalSchemaVersion.schema_id).subquery())
    rows = session.execute(
        select(CanonicalSchemaVersion.schema_id, CanonicalSchemaVersion.id, CanonicalSchemaVersion.version,
               CanonicalSchemaVersion.content)
        .join(newest, (newest.c.schema_id == CanonicalSchemaVersion.schema_id) & (newest.c.v == CanonicalSchemaVersion.version))
        .where(CanonicalSchemaVersion.tenant_id == tenant_id))
    found: dict[uuid.UUID, dict[str, ItemSource]] = {}
    for schema_id, version_id, version, content in rows:
        items = found.setdefault(schema_id, {})
        for entity in content.get("tables", []):
            for spec in entity.get("fields", []):
                name = f"{entity['name']}.{spec['name']}"
                text = (f"{name} ({spec.get('type', 'unknown')}): {spec.get('description', '')} "
                        f"[{entity['name']}: {entity.get('description', '')}]")
                items[name] = ItemSource("canonical_field", make_ref(schema_id, name), text,
                                         source_system=content.get("name"), object_type=entity["name"],
                                         field_name=spec["name"],
                                         details={"version_id": str(version_id), "version": version, **spec})
    return found


def _source(session: Session, tenant_id: uuid.UUID, snapshot_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """Fields of each snapshot, with the patterns its profile saw (they say what a field holds)."""
    if not snapshot_ids:
        return {}
    rows = session.execute(
        select(SchemaSnapshot, Connection.provider_id)
        .join(Connection, (Connection.tenant_id == SchemaSnapshot.tenant_id) & (Connection.id == SchemaSnapshot.connection_id))
        .where(SchemaSnapshot.tenant_id == tenant_id, SchemaSnapshot.id.in_(snapshot_ids)))
    found: dict[uuid.UUID, dict[str, ItemSource]] = {}
    for snapshot, provider in rows:
        profiles = {p["path"]: p for p in (snapshot.profile or {}).get("fields", [])}
        items = found.setdefault(snapshot.id, {})
        for spec in snapshot.fields:
            path = spec["name"]
            patterns = [n for n, share in profiles.get(path, {}).get("patterns", {}).items() if share >= 0.5]
            text = source_field_text(snapshot.stream, path, spec["type"], patterns, spec.get("description") or "")
            items[path] = ItemSource("source_field", make_ref(snapshot.id, path), text, source_system=provider,
                                     object_type=snapshot.stream, field_name=path,
                                     details={"connection_id": str(snapshot.connection_id),
                                              "fingerprint": snapshot.fingerprint, **spec,
                                              "profile": profiles.get(path)})
    return found


def _examples(session: Session, tenant_id: uuid.UUID, version_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """Source -> canonical pairs of published mapping versions, embedded by their source side."""
    if not version_ids:
        return {}
    rows = session.execute(
        select(MappingVersion, Mapping, Connection.provider_id)
        .join(Mapping, (Mapping.tenant_id == MappingVersion.tenant_id) & (Mapping.id == MappingVersion.mapping_id))
        .join(Connection, (Connection.tenant_id == Mapping.tenant_id) & (Connection.id == Mapping.connection_id))
        .where(MappingVersion.tenant_id == tenant_id, MappingVersion.id.in_(version_ids),
               MappingVersion.published_at.is_not(None)))
    found: dict[uuid.UUID, dict[str, ItemSource]] = {}
    for version, mapping, provider in rows:
        items = found.setdefault(version.id, {})
        for name, source, target in example_names(version.fields):
            # the source side only, in the recipe memory queries use; the target is read from the row
            text = source_field_text(mapping.stream, source)
            items[name] = ItemSource("mapping_example", make_ref(version.id, name), text,
                                       source_system=provider, object_type=mapping.stream, field_name=source,
                                       mapping_id=mapping.id,
                                       details={"canonical_entity": mapping.canonical_entity,
                                                "canonical_field": target, "version": version.version})
    return found


def _rejections(session: Session, tenant_id: uuid.UUID, proposal_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """Rejected proposals with the target their latest review rejects, embedded by their source side."""
    if not proposal_ids:
        return {}
    latest = (select(MappingProposal, Review, Connection.provider_id)
              .join(Review, (Review.tenant_id == MappingProposal.tenant_id) & (Review.proposal_id == MappingProposal.id))
              .outerjoin(Connection, (Connection.tenant_id == MappingProposal.tenant_id)
                         & (Connection.id == MappingProposal.connection_id))
              .where(MappingProposal.tenant_id == tenant_id, MappingProposal.id.in_(proposal_ids),
                     MappingProposal.status == "rejected")
              .ext(distinct_on(MappingProposal.id))
              .order_by(MappingProposal.id, Review.created_at.desc(), Review.id))
    found: dict[uuid.UUID, dict[str, ItemSource]] = {}
    for proposal, review, provider in session.execute(latest):
        if review.action != "reject" or not review.canonical_entity or not review.canonical_field:
            continue  # a rejection that names no target says nothing about any target
        text = source_field_text(proposal.stream, proposal.source_field)
        found.setdefault(proposal.id, {})[proposal.source_field] = ItemSource(
            "rejected_example", make_ref(proposal.id, proposal.source_field), text, source_system=provider,
            object_type=proposal.stream, field_name=proposal.source_field,
            details={"canonical_entity": review.canonical_entity, "canonical_field": review.canonical_field,
                     "connection_id": str(proposal.connection_id) if proposal.connection_id else None,
                     "actor": review.actor, "comment": review.comment})
    return found


def example_names(fields: Any) -> list[tuple[str, str, str]]:
    """(reference name, source field, canonical field) of each approved example in a version.

    A source field with one target is named by itself; a source field split into several
    targets (a full name into given and family names) is one example per target, named
    ``<source> -> <target>``, so memory remembers every part of the split.
    """
    pairs = list(dict.fromkeys(example_pairs(fields)))
    targets_of: dict[str, int] = defaultdict(int)
    for source, _ in pairs:
        targets_of[source] += 1
    return [(source if targets_of[source] == 1 else f"{source} -> {target}", source, target)
            for source, target in pairs]


def example_pairs(fields: Any) -> list[tuple[str, str]]:
    """(source field, canonical field) of each complete pair in a mapping version's ``fields``."""
    return [(f["source_field"], f["canonical_field"]) for f in fields or []
            if isinstance(f, dict) and f.get("source_field") and f.get("canonical_field")]
