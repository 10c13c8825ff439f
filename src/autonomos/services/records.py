"""What consumers read: canonical events by resumable cursor, current records, unified views.

The cursor is an event's ``seq`` (an identity column): a consumer stores the last ``seq`` it
processed and asks for events after it. Events commit with their records in one transaction.
Identity values are handed out before commit, so a reader racing a concurrent apply could see
seq 12 before seq 11 commits; events are therefore served only up to the visibility
watermark (``store.event_watermark``), below which no event can still appear, so a cursor
never skips one.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass
from typing import Any

import datetime as dt

from sqlalchemy import Text, Uuid, bindparam, cast, func, literal_column, select, text, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from autonomos.dcl.apply.resolution import UNIFIED_OF_RECORD, UnifiedRecord, linked_clusters, merge_unified, unified
from autonomos.dcl.mappings.review import connection_id
from autonomos.errors import InvalidInput, NotFound
from autonomos.runtime import Runtime
from autonomos.store.database import loads_json
from autonomos.store.event_watermark import watermark
from autonomos.store.tenant_reads import compiled
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


@dataclass(frozen=True)
class RecordPage:
    """A page of records as Postgres wrote it: ``items`` is a JSON array (UTF-8), ``more``
    says whether records follow, ``last`` is the position (connection id, stream, record key)
    of the last one when they do."""

    items: bytes
    more: bool
    last: tuple[str, str, str] | None


def list_records(rt: Runtime, tenant_id: uuid.UUID, entity: str, **filters: Any) -> list[dict[str, Any]]:
    """Current canonical records of an entity (``list_records_json``'s filters), as dicts."""
    return loads_json(list_records_json(rt, tenant_id, entity, **filters).items)


def list_records_json(rt: Runtime, tenant_id: uuid.UUID, entity: str, *, connection: str | None = None,
                      where: dict[str, str] | None = None, include_deleted: bool = False,
                      limit: int = 50, after: tuple[str, str, str] | None = None,
                      modified_after: dt.datetime | None = None) -> RecordPage:
    """Current canonical records of an entity, filtered by connection, field values and last
    change, in the order of the unique index (connection id, stream, record key), so a page is
    an index range, never a sort; ``after`` resumes behind such a triple.

    Postgres writes the page's JSON itself: the HTTP API passes it through, where decoding
    the rows and encoding them again cost more CPU than the query."""
    params = _page_params(tenant_id, entity, where, limit, after, modified_after)
    query = _page_statement(bool(connection), len(where or {}), include_deleted, after is not None,
                            modified_after is not None)
    with rt.db.tenant(tenant_id) as session:
        if connection:
            params["c"] = connection_id(session, tenant_id, connection)
        text_items, count, position = session.execute(query, params).one()
        if not count and after is None and not _entity_known(session, tenant_id, entity):
            raise InvalidInput(f"no such entity {entity!r}: no ontology or mapping of this tenant names it")
    return _record_page(text_items, count, position, limit)


async def read_records_json(rt: Runtime, tenant_id: uuid.UUID, entity: str, *, include_deleted: bool = False,
                            limit: int = 50, after: tuple[str, str, str] | None = None,
                            modified_after: dt.datetime | None = None, **filters: Any) -> RecordPage:
    """``list_records_json`` on the event loop, in one round trip (``Database.reads``). A
    connection or field filter, or an empty first page (is the entity known at all?), is
    answered by ``list_records_json`` itself, in a thread: those are not the hot reads."""
    if not any(filters.values()):
        params = _page_params(tenant_id, entity, None, limit, after, modified_after)
        sql, constants = _page_sql(include_deleted, after is not None, modified_after is not None)
        (text_items, count, position), = await rt.db.reads.first_rows(tenant_id, [(sql, {**constants, **params})])
        if count or after is not None:
            return _record_page(text_items, count, position, limit)
    return await asyncio.to_thread(list_records_json, rt, tenant_id, entity, include_deleted=include_deleted,
                                   limit=limit, after=after, modified_after=modified_after, **filters)


def _page_params(tenant_id: uuid.UUID, entity: str, where: dict[str, str] | None, limit: int,
                 after: tuple[str, str, str] | None, modified_after: dt.datetime | None) -> dict[str, Any]:
    params: dict[str, Any] = {"t": tenant_id, "e": entity, "fetch": limit + 1, "shown": limit}
    for i, (name, value) in enumerate((where or {}).items()):
        params[f"f{i}"], params[f"v{i}"] = name, value
    if after is not None:
        params.update(a0=uuid.UUID(after[0]), a1=after[1], a2=after[2])
    if modified_after is not None:
        params["m"] = modified_after
    return params


def _record_page(text_items: str, count: int, position: str | None, limit: int) -> RecordPage:
    more = count > limit
    return RecordPage(text_items.encode(), more, tuple(loads_json(position)) if more else None)


@functools.cache
def _page_sql(include_deleted: bool, after: bool, modified_after: bool) -> tuple[str, dict[str, Any]]:
    return compiled(_page_statement(False, 0, include_deleted, after, modified_after))


@functools.cache
def _page_statement(by_connection: bool, fields: int, include_deleted: bool, after: bool, modified_after: bool):
    """The page query of one shape of filters, built once (building it cost more CPU than
    running it); values are bound: t, e, fetch (limit + 1), shown (limit), c, f<i>/v<i>,
    a0..a2, m."""
    order = (CanonicalRecord.connection_id, CanonicalRecord.stream, CanonicalRecord.record_key)
    query = (select(*_RECORD_COLUMNS)
             .where(CanonicalRecord.tenant_id == bindparam("t"), CanonicalRecord.entity == bindparam("e"))
             .order_by(*order).limit(bindparam("fetch")))
    if by_connection:
        query = query.where(CanonicalRecord.connection_id == bindparam("c"))
    for i in range(fields):
        query = query.where(CanonicalRecord.data[bindparam(f"f{i}", type_=Text)].astext == bindparam(f"v{i}"))
    if not include_deleted:
        query = query.where(CanonicalRecord.is_deleted.is_(False))
    if after:
        query = query.where(tuple_(*order) > tuple_(bindparam("a0", type_=Uuid), bindparam("a1"), bindparam("a2")))
    if modified_after:
        query = query.where(CanonicalRecord.updated_at > bindparam("m"))
    # The page is cut first and named after: joined before the limit, the planner misjudged
    # the join's size and sorted every record of the entity (6 ms at 10,000) instead of
    # reading the first rows of the index (0.2 ms).
    page = query.subquery()
    n = func.row_number().over(order_by=(page.c.connection_id, page.c.stream, page.c.record_key)).label("n")
    named = (select(page, Connection.name.label("connection"), n)
             .join(Connection, (Connection.tenant_id == bindparam("t")) & (Connection.id == page.c.connection_id))
             .subquery())
    items = func.json_agg(aggregate_order_by(_record_json(named.c), named.c.n)).filter(named.c.n <= bindparam("shown"))
    last = func.max(cast(func.json_build_array(named.c.connection_id, named.c.stream, named.c.record_key),
                         Text)).filter(named.c.n == bindparam("shown"))
    return (select(cast(func.coalesce(items, literal_column("'[]'::json")), Text), func.count(), last)
            .select_from(named))


def _record_json(c) -> Any:
    """A record as a JSON object (id, entity, connection, ..., updated_at), written by Postgres."""
    return func.json_build_object(
        "id", c.id, "entity", c.entity, "connection", c.connection, "connection_id", c.connection_id,
        "stream", c.stream, "record_key", c.record_key, "data", c.data, "is_deleted", c.is_deleted,
        "version", c.version, "mapping_version_id", c.mapping_version_id, "updated_at", c.updated_at)


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


def show_record(rt: Runtime, tenant_id: uuid.UUID, record_id: uuid.UUID) -> dict[str, Any]:
    """One record with its change history and its unified view across sources: the record, its
    history and the tenant's source precedence in one statement, the unified view in another."""
    with rt.db.tenant(tenant_id) as session:
        found = session.execute(_show_statement(), {"t": tenant_id, "r": record_id}).one_or_none()
        view = session.execute(UNIFIED_OF_RECORD, {"t": tenant_id, "r": record_id}).one() if found else None
    return _record_detail(tenant_id, record_id, found, view)


async def read_record(rt: Runtime, tenant_id: uuid.UUID, record_id: uuid.UUID) -> dict[str, Any]:
    """``show_record`` on the event loop: both statements in one round trip (``Database.reads``)."""
    (show, show_constants), (view_sql, view_constants) = _show_sql(), _unified_sql()
    params = {"t": tenant_id, "r": record_id}
    found, view = await rt.db.reads.first_rows(tenant_id, [(show, {**show_constants, **params}),
                                                           (view_sql, {**view_constants, **params})])
    return _record_detail(tenant_id, record_id, found, view)


def _record_detail(tenant_id: uuid.UUID, record_id: uuid.UUID, found: Any, view: Any) -> dict[str, Any]:
    if found is None:
        raise NotFound("no such canonical record", tenant=tenant_id, record=record_id)
    entity, record, changed, order = found
    unified_view = merge_unified(entity, view, list(loads_json(order or "[]") or []))
    return {**loads_json(record), "history": _changes(loads_json(changed or "[]")), "unified": unified_view}


@functools.cache
def _show_sql() -> tuple[str, dict[str, Any]]:
    return compiled(_show_statement())


@functools.cache
def _unified_sql() -> tuple[str, dict[str, Any]]:
    return compiled(UNIFIED_OF_RECORD)


@functools.cache
def _show_statement():
    """show_record's statement, built once (t: tenant, r: record): entity, record, history,
    source precedence, each as JSON text."""
    t, r = bindparam("t", type_=Uuid), bindparam("r", type_=Uuid)
    record = (select(*_RECORD_COLUMNS, Connection.name.label("connection"))
              .join(Connection, (Connection.tenant_id == CanonicalRecord.tenant_id)
                    & (Connection.id == CanonicalRecord.connection_id))
              .where(CanonicalRecord.tenant_id == t, CanonicalRecord.id == r)).subquery()
    changes = _history_query(t, record_id=r).subquery()
    history = (select(func.json_agg(aggregate_order_by(
        func.json_build_array(*(changes.c[name] for name in _CHANGE_COLUMNS)), changes.c.id)))
        .scalar_subquery())
    precedence = select(Tenant.settings["source_precedence"]).where(Tenant.id == t).scalar_subquery()
    return select(record.c.entity, cast(_record_json(record.c), Text), cast(history, Text), cast(precedence, Text))


_CHANGE_COLUMNS = ("record_id", "event_id", "diff", "changed_at", "op", "data")


def _history_query(tenant_id: Any, *, record_id: Any = None, entity: str | None = None):
    """The change log joined to its events, in order: (id, record_id, event_id, diff, changed_at,
    op, data) per change; the tenant and record are values or bound parameters."""
    query = (select(ChangeLog.id, ChangeLog.record_id, ChangeLog.event_id, ChangeLog.diff, ChangeLog.changed_at,
                    CanonicalEvent.op, CanonicalEvent.data)
             .join(CanonicalEvent, (CanonicalEvent.tenant_id == ChangeLog.tenant_id)
                   & (CanonicalEvent.id == ChangeLog.event_id))
             .where(ChangeLog.tenant_id == tenant_id).order_by(ChangeLog.id))
    if record_id is not None:
        query = query.where(ChangeLog.record_id == record_id)
    if entity is not None:
        query = query.where(ChangeLog.entity == entity)
    return query


def change_history(session: Session, tenant_id: uuid.UUID, *, record_id: uuid.UUID | None = None,
                   entity: str | None = None) -> list[dict[str, Any]]:
    """Changes of one record (or of every record of an entity) in order, each with the record's
    full ``before`` and ``after`` and the per-field ``diff``.

    The change log stores only an update's changed fields; ``after`` is the data of the
    change's event (nothing for a deletion) and ``before`` the ``after`` of the record's
    previous change, so a creation's or deletion's diff is every field it set or dropped.
    """
    return _changes(row[1:] for row in session.execute(_history_query(tenant_id, record_id=record_id,
                                                                      entity=entity)))


def _changes(rows) -> list[dict[str, Any]]:
    """(record id, event id, diff, at, op, data) rows in order -> changes with before and after."""
    state: dict[Any, dict | None] = {}
    history = []
    for rid, event, diff, at, op, data in rows:
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
