"""Entity resolution: canonical records of one entity linked across sources, and unified views.

**Links.** Records are linked when a configured match key, normalised, is equal: by default
contacts and leads by email (trimmed, lower-cased), accounts by web domain (from ``domain``
or ``website``: scheme, ``www.`` and path dropped, lower-cased). A tenant overrides the keys
with its ``match_keys`` setting (entity -> list of ``{"field", "normalise"}``; normalisers
``email``, ``domain``, ``phone``, ``exact``). Keys normalised the same way share one
namespace, so an account's ``website`` can meet another's ``domain``. Each group sharing a
value is stored as a star around its smallest record id; a unified record is the connected
component, so links are transitive (A~B by email, B~C by phone: A, B, C are one).

**Precedence.** When members disagree, for each field the value of the first member in
precedence order that has a value wins: connections named in the tenant's
``source_precedence`` setting first, in that order; then the others, oldest connection
first; ties by record key. The view says which record each value came from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from autonomos.store.tables import CanonicalRecord, Connection, EntityLink

DEFAULT_MATCH_KEYS: dict[str, list[dict[str, str]]] = {
    "contact": [{"field": "email", "normalise": "email"}],
    "lead": [{"field": "email", "normalise": "email"}],
    "account": [{"field": "domain", "normalise": "domain"}, {"field": "website", "normalise": "domain"}],
}

NORMALISERS: dict[str, str] = {
    "email": "CASE WHEN position('@' IN {v}) > 1 THEN lower(btrim({v})) END",
    "domain": r"nullif(regexp_replace(lower(btrim({v})), "
              r"'^([a-z][a-z0-9+.-]*://)?([^@/]*@)?(www\.)?([^/:?#]+).*$', '\4'), '')",
    "phone": "CASE WHEN length(regexp_replace({v}, '[^0-9]', '', 'g')) >= 7 "
             "THEN regexp_replace({v}, '[^0-9]', '', 'g') END",
    "exact": "nullif(btrim({v}), '')",
}


def match_keys(entity: str, configured: dict[str, Any] | None) -> list[dict[str, str]]:
    keys = (configured or {}).get(entity, DEFAULT_MATCH_KEYS.get(entity, []))
    return [k for k in keys if k.get("normalise", "exact") in NORMALISERS and k.get("field")]


def resolve_entity(session: Session, tenant_id: uuid.UUID, entity: str, configured: dict | None = None) -> int:
    """Recompute the entity's links from its current records; returns the number of links."""
    session.execute(text("DELETE FROM entity_links WHERE tenant_id = :t AND entity = :e"), {"t": tenant_id, "e": entity})
    keys = match_keys(entity, configured)
    if not keys:
        return 0
    parts = []
    params: dict[str, Any] = {"t": tenant_id, "e": entity}
    for i, key in enumerate(keys):
        normalise = key.get("normalise", "exact")
        params[f"f{i}"] = key["field"]
        value = NORMALISERS[normalise].format(v=f"(data ->> :f{i})")
        parts.append(f"SELECT id, '{normalise}' AS match_key, {value} AS v FROM canonical_records "
                     f"WHERE tenant_id = :t AND entity = :e AND NOT is_deleted AND data ? :f{i}")
    return session.execute(text(f"""
        WITH k AS (SELECT DISTINCT id, match_key, v FROM ({' UNION ALL '.join(parts)}) keys WHERE v IS NOT NULL),
        anchored AS (SELECT id, match_key, v, first_value(id) OVER (PARTITION BY match_key, v ORDER BY id) AS anchor
                     FROM k),
        inserted AS (
            INSERT INTO entity_links (id, tenant_id, entity, left_record_id, right_record_id, match_key, match_value)
            SELECT gen_random_uuid(), :t, :e, anchor, id, match_key, min(v) FROM anchored WHERE id <> anchor
            GROUP BY anchor, id, match_key
            ON CONFLICT (tenant_id, entity, left_record_id, right_record_id) DO NOTHING
            RETURNING 1)
        SELECT count(*) FROM inserted"""), params).scalar_one()


@dataclass
class UnifiedRecord:
    """One real-world thing as all its sources describe it."""

    id: uuid.UUID
    entity: str
    data: dict[str, Any]
    sources: dict[str, dict[str, str]]
    """field -> the record its value came from (connection, stream, record key, record id)."""
    members: list[dict[str, Any]] = field(default_factory=list)
    conflicts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """fields whose members disagree: every distinct value with its connection."""
    links: list[dict[str, str]] = field(default_factory=list)


def cluster_of(session: Session, tenant_id: uuid.UUID, entity: str, record_id: uuid.UUID) -> list[uuid.UUID]:
    """Every record transitively linked to ``record_id`` (itself included)."""
    return list(session.scalars(text("""
        WITH RECURSIVE c(id) AS (
            SELECT CAST(:r AS uuid)
            UNION
            SELECT CASE WHEN l.left_record_id = c.id THEN l.right_record_id ELSE l.left_record_id END
            FROM entity_links l JOIN c ON l.left_record_id = c.id OR l.right_record_id = c.id
            WHERE l.tenant_id = :t AND l.entity = :e)
        SELECT id FROM c ORDER BY id"""), {"r": record_id, "t": tenant_id, "e": entity}))


def linked_clusters(session: Session, tenant_id: uuid.UUID, entity: str) -> list[list[uuid.UUID]]:
    """Connected components with more than one record, largest first."""
    parent: dict[uuid.UUID, uuid.UUID] = {}

    def find(x: uuid.UUID) -> uuid.UUID:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for left, right in session.execute(select(EntityLink.left_record_id, EntityLink.right_record_id)
                                       .where(EntityLink.tenant_id == tenant_id, EntityLink.entity == entity)):
        a, b = find(left), find(right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[uuid.UUID, list[uuid.UUID]] = {}
    for node in list(parent):
        groups.setdefault(find(node), []).append(node)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def unified(session: Session, tenant_id: uuid.UUID, entity: str, record_id: uuid.UUID,
            precedence: list[str] | None = None) -> UnifiedRecord:
    """The merged view of the record's cluster, with the source of each value."""
    ids = cluster_of(session, tenant_id, entity, record_id)
    rows = session.execute(
        select(CanonicalRecord, Connection.name, Connection.created_at)
        .join(Connection, (Connection.tenant_id == CanonicalRecord.tenant_id)
              & (Connection.id == CanonicalRecord.connection_id))
        .where(CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.entity == entity,
               CanonicalRecord.id.in_(ids), CanonicalRecord.is_deleted.is_(False))).all()
    order = {name: i for i, name in enumerate(precedence or [])}
    rows.sort(key=lambda r: (order.get(r[1], len(order)), r[2], r[0].record_key))
    data: dict[str, Any] = {}
    sources: dict[str, dict[str, str]] = {}
    seen: dict[str, list[dict[str, Any]]] = {}
    for record, connection, _ in rows:
        origin = {"connection": connection, "stream": record.stream, "record_key": record.record_key,
                  "record_id": str(record.id)}
        for name, value in record.data.items():
            if value is None:
                continue
            seen.setdefault(name, [])
            if all(v["value"] != value for v in seen[name]):
                seen[name].append({"value": value, "connection": connection})
            if name not in data:
                data[name], sources[name] = value, origin
    links = [{"left": str(l.left_record_id), "right": str(l.right_record_id), "match_key": l.match_key,
              "match_value": l.match_value}
             for l in session.scalars(select(EntityLink).where(EntityLink.tenant_id == tenant_id,
                                                               EntityLink.entity == entity,
                                                               EntityLink.right_record_id.in_(ids)))]
    members = [{"record_id": str(r.id), "connection": c, "stream": r.stream, "record_key": r.record_key}
               for r, c, _ in rows]
    anchor = min(ids)
    return UnifiedRecord(anchor, entity, dict(sorted(data.items())), dict(sorted(sources.items())), members,
                         {k: v for k, v in sorted(seen.items()) if len(v) > 1}, links)
