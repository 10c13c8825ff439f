"""What consumers read: canonical events by resumable cursor, current records, unified views.

The cursor is an event's ``seq`` (an identity column): a consumer stores the last ``seq`` it
processed and asks for events after it. Events commit with their records in one transaction.
Identity values are handed out before commit, so a reader racing a concurrent apply could see
seq 12 before seq 11 commits; events are therefore served only up to the visibility
watermark (``store.event_watermark``), below which no event can still appear, so a cursor
never skips one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import datetime as dt

from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from autonomos.dcl.apply.resolution import UnifiedRecord, linked_clusters, unified
from autonomos.dcl.mappings.review import connection_id
from autonomos.errors import InvalidInput, NotFound
from autonomos.runtime import Runtime
from autonomos.store.event_watermark import watermark
from autonomos.store.tables import (CanonicalEvent, CanonicalRecord, CanonicalSchemaVersion, ChangeLog, Connection,
                                     DefaultOntology, Mapping, Tenant)


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: int


def _envelope(e: CanonicalEvent) -> dict[str, Any]:
    return {"seq": e.seq, "id": str(e.id), "tenant_id": str(e.tenant_id), "entity": e.entity, "op": e.op,
            "record_id": str(e.record_id), "data": e.data, "unknown_fields": e.unknown_fields,
            "source_system": e.source_system, "connection_id": str(e.connection_id), "stream": e.stream,
            "record_key": e.record_key, "raw_record_id": e.raw_record_id, "schema_fingerprint": e.schema_fingerprint,
            "mapping_version_id": str(e.mapping_version_id), "emitted_at": e.emitted_at.isoformat(),
            "trace_id": e.trace_id}


# Events have one reader index, (tenant, entity, seq). Across entities, a page is the merge of
# each entity's next ``limit`` events; the entities are found by skipping through the index
# (one probe per entity), so a page costs (entities x limit) index entries, never a scan.
_ALL_ENTITIES = text(
    """
    WITH RECURSIVE entities(entity) AS (
        (SELECT entity FROM canonical_events WHERE tenant_id = :tenant ORDER BY entity LIMIT 1)
        UNION ALL
        SELECT (SELECT e.entity FROM canonical_events e
                WHERE e.tenant_id = :tenant AND e.entity > entities.entity ORDER BY e.entity LIMIT 1)
        FROM entities WHERE entities.entity IS NOT NULL)
    SELECT ev.* FROM entities CROSS JOIN LATERAL (
        SELECT * FROM canonical_events
        WHERE tenant_id = :tenant AND entity = entities.entity AND seq > :after AND seq <= :upto
        ORDER BY seq LIMIT :limit) ev
    ORDER BY ev.seq LIMIT :limit
    """
)


def read_events(rt: Runtime, tenant_id: uuid.UUID, *, entity: str | None = None, after: int = 0,
                limit: int = 100) -> EventPage:
    """Events with ``seq`` above ``after`` in order; ``next_cursor`` is where to resume."""
    with rt.db.tenant(tenant_id) as session:
        upto = watermark(session)
        if entity:
            query = (select(CanonicalEvent)
                     .where(CanonicalEvent.tenant_id == tenant_id, CanonicalEvent.entity == entity,
                            CanonicalEvent.seq > after, CanonicalEvent.seq <= upto)
                     .order_by(CanonicalEvent.seq).limit(limit))
        else:
            query = select(CanonicalEvent).from_statement(_ALL_ENTITIES.bindparams(
                tenant=tenant_id, after=after, upto=upto, limit=limit))
        events = [_envelope(e) for e in session.scalars(query)]
    return EventPage(events, events[-1]["seq"] if events else after)


def list_records(rt: Runtime, tenant_id: uuid.UUID, entity: str, *, connection: str | None = None,
                 where: dict[str, str] | None = None, include_deleted: bool = False,
                 limit: int = 50, after: tuple[str, str, str] | None = None,
                 modified_after: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Current canonical records of an entity, filtered by connection, field values and last
    change, in the order of the unique index (connection id, stream, record key), so a page is
    an index range, never a sort; ``after`` resumes behind such a triple."""
    with rt.db.tenant(tenant_id) as session:
        order = (CanonicalRecord.connection_id, CanonicalRecord.stream, CanonicalRecord.record_key)
        query = (select(*_RECORD_COLUMNS)
                 .where(CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.entity == entity)
                 .order_by(*order).limit(limit))
        if connection:
            query = query.where(CanonicalRecord.connection_id == connection_id(session, tenant_id, connection))
        for name, value in (where or {}).items():
            query = query.where(CanonicalRecord.data[name].astext == value)
        if not include_deleted:
            query = query.where(CanonicalRecord.is_deleted.is_(False))
        if after is not None:
            query = query.where(tuple_(*order) > tuple_(uuid.UUID(after[0]), after[1], after[2]))
        if modified_after is not None:
            query = query.where(CanonicalRecord.updated_at > modified_after)
        # The page is cut first and named after: joined before the limit, the planner misjudged
        # the join's size and sorted every record of the entity (6 ms at 10,000) instead of
        # reading the first rows of the index (0.2 ms).
        page = query.subquery()
        query = (select(page, Connection.name)
                 .join(Connection, (Connection.tenant_id == tenant_id) & (Connection.id == page.c.connection_id))
                 .order_by(page.c.connection_id, page.c.stream, page.c.record_key))
        found = [_record(*row) for row in session.execute(query)]
        if not found and after is None and not _entity_known(session, tenant_id, entity):
            raise InvalidInput(f"no such entity {entity!r}: no ontology or mapping of this tenant names it")
        return found


def _entity_known(session: Session, tenant_id: uuid.UUID, entity: str) -> bool:
    """Whether an ontology version or a mapping of the tenant names ``entity`` (an empty list
    of records then means "none yet", not a typo)."""
    named = select(CanonicalSchemaVersion.id).where(
        CanonicalSchemaVersion.tenant_id == tenant_id,
        CanonicalSchemaVersion.content["tables"].contains([{"name": entity}]))
    mapped = select(Mapping.id).where(Mapping.tenant_id == tenant_id, Mapping.canonical_entity == entity)
    default = select(DefaultOntology.id).where(DefaultOntology.content["tables"].contains([{"name": entity}]))
    return any(session.scalar(select(q.exists())) for q in (named, mapped, default))


# Plain columns rather than ORM objects: a page of records is read, never changed, and
# building 1,000 tracked instances cost more than the query.
_RECORD_COLUMNS = (CanonicalRecord.id, CanonicalRecord.entity, CanonicalRecord.connection_id, CanonicalRecord.stream,
                   CanonicalRecord.record_key, CanonicalRecord.data, CanonicalRecord.is_deleted,
                   CanonicalRecord.version, CanonicalRecord.mapping_version_id, CanonicalRecord.updated_at)


def _record(record_id: uuid.UUID, entity: str, source_connection_id: uuid.UUID, stream: str, record_key: str,
            data: dict[str, Any], is_deleted: bool, version: int, mapping_version_id: uuid.UUID,
            updated_at: dt.datetime, connection: str) -> dict[str, Any]:
    return {"id": str(record_id), "entity": entity, "connection": connection, "connection_id": str(source_connection_id),
            "stream": stream, "record_key": record_key, "data": data, "is_deleted": is_deleted, "version": version,
            "mapping_version_id": str(mapping_version_id), "updated_at": updated_at.isoformat()}


def show_record(rt: Runtime, tenant_id: uuid.UUID, record_id: uuid.UUID) -> dict[str, Any]:
    """One record with its change history and its unified view across sources."""
    with rt.db.tenant(tenant_id) as session:
        row = session.execute(
            select(*_RECORD_COLUMNS, Connection.name)
            .join(Connection, (Connection.tenant_id == CanonicalRecord.tenant_id)
                  & (Connection.id == CanonicalRecord.connection_id))
            .where(CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.id == record_id)).one_or_none()
        if row is None:
            raise NotFound("no such canonical record", tenant=tenant_id, record=record_id)
        history = [{**h, "event_id": str(h["event_id"]), "at": h["at"].isoformat()}
                   for h in change_history(session, tenant_id, record_id=record_id)]
        view = unified(session, tenant_id, row.entity, record_id, _precedence(session, tenant_id))
    return {**_record(*row), "history": history, "unified": view}


def change_history(session: Session, tenant_id: uuid.UUID, *, record_id: uuid.UUID | None = None,
                   entity: str | None = None) -> list[dict[str, Any]]:
    """Changes of one record (or of every record of an entity) in order, each with the record's
    full ``before`` and ``after`` and the per-field ``diff``.

    The change log stores only an update's changed fields; ``after`` is the data of the
    change's event (nothing for a deletion) and ``before`` the ``after`` of the record's
    previous change, so a creation's or deletion's diff is every field it set or dropped.
    """
    query = (select(ChangeLog.record_id, ChangeLog.event_id, ChangeLog.diff, ChangeLog.changed_at,
                    CanonicalEvent.op, CanonicalEvent.data)
             .join(CanonicalEvent, (CanonicalEvent.tenant_id == ChangeLog.tenant_id)
                   & (CanonicalEvent.id == ChangeLog.event_id))
             .where(ChangeLog.tenant_id == tenant_id).order_by(ChangeLog.id))
    if record_id is not None:
        query = query.where(ChangeLog.record_id == record_id)
    if entity is not None:
        query = query.where(ChangeLog.entity == entity)
    state: dict[uuid.UUID, dict | None] = {}
    history = []
    for rid, event, diff, at, op, data in session.execute(query):
        before, after = state.get(rid), (None if op == "delete" else data)
        if diff is None:
            diff = {k: {"before": (before or {}).get(k), "after": (after or {}).get(k)}
                    for k in sorted({*(before or {}), *(after or {})})
                    if not _same((before or {}).get(k), (after or {}).get(k))}
        history.append({"record_id": rid, "event_id": event, "before": before, "after": after, "diff": diff,
                        "at": at})
        state[rid] = after
    return history


def _same(a: Any, b: Any) -> bool:
    """JSON equality as jsonb has it: 1 and 1.0 are equal, 1 and true are not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def unified_records(rt: Runtime, tenant_id: uuid.UUID, entity: str, limit: int = 5) -> list[UnifiedRecord]:
    """Unified views of the entity's linked clusters, largest first."""
    with rt.db.tenant(tenant_id) as session:
        precedence = _precedence(session, tenant_id)
        return [unified(session, tenant_id, entity, ids[0], precedence)
                for ids in linked_clusters(session, tenant_id, entity)[:limit]]


def _precedence(session, tenant_id: uuid.UUID) -> list[str]:
    settings = session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)) or {}
    return list(settings.get("source_precedence", []))
