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

from autonomos.store.database import loads_json
from autonomos.store.tables import EntityLink

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


# The cluster (every record transitively linked to :r, itself included), its live members
# (oldest connection first, then by record key) and its links in one statement, as JSON text:
# a record read answers in as few round trips as possible. ``{entity}`` is the entity's SQL.
_UNIFIED_SQL = """
    WITH RECURSIVE c(id) AS (
        SELECT CAST(:r AS uuid)
        UNION
        SELECT CASE WHEN l.left_record_id = c.id THEN l.right_record_id ELSE l.left_record_id END
        FROM entity_links l JOIN c ON l.left_record_id = c.id OR l.right_record_id = c.id
        WHERE l.tenant_id = :t AND l.entity = {entity})
    SELECT (SELECT json_agg(id ORDER BY id) FROM c)::text,
           (SELECT coalesce(json_agg(json_build_array(r.id, r.stream, r.record_key, r.data, n.name)
                                     ORDER BY n.created_at, r.record_key), '[]')
            FROM canonical_records r JOIN connections n ON n.tenant_id = r.tenant_id AND n.id = r.connection_id
            WHERE r.tenant_id = :t AND r.entity = {entity} AND r.id IN (SELECT id FROM c) AND NOT r.is_deleted)::text,
           (SELECT coalesce(json_agg(json_build_object('left', l.left_record_id, 'right', l.right_record_id,
                                                       'match_key', l.match_key, 'match_value', l.match_value)
                                     ORDER BY l.left_record_id, l.right_record_id), '[]')
            FROM entity_links l
            WHERE l.tenant_id = :t AND l.entity = {entity} AND l.right_record_id IN (SELECT id FROM c))::text"""
_UNIFIED = text(_UNIFIED_SQL.format(entity=":e"))
UNIFIED_OF_RECORD = text(_UNIFIED_SQL.format(
    entity="(SELECT entity FROM canonical_records WHERE tenant_id = :t AND id = CAST(:r AS uuid))"))
"""The same statement taking the entity from record :r itself, so it needs no earlier read."""


def unified(session: Session, tenant_id: uuid.UUID, entity: str, record_id: uuid.UUID,
            precedence: list[str] | None = None) -> UnifiedRecord:
    """The merged view of the record's cluster, with the source of each value."""
    row = session.execute(_UNIFIED, {"r": record_id, "t": tenant_id, "e": entity}).one()
    return merge_unified(entity, row, precedence)


def merge_unified(entity: str, row: Any, precedence: list[str] | None = None) -> UnifiedRecord:
    """The merged view from a row of ``_UNIFIED`` (or ``UNIFIED_OF_RECORD``): cluster ids,
    members and links as JSON text."""
    ids, rows, links = row
    order = {name: i for i, name in enumerate(precedence or [])}
    members = sorted(loads_json(rows), key=lambda m: order.get(m[4], len(order)))  # stable: age, key
    data: dict[str, Any] = {}
    sources: dict[str, dict[str, str]] = {}
    seen: dict[str, list[dict[str, Any]]] = {}
    for member_id, stream, record_key, values, connection in members:
        origin = {"connection": connection, "stream": stream, "record_key": record_key, "record_id": member_id}
        for name, value in values.items():
            if value is None:
                continue
            seen.setdefault(name, [])
            if all(v["value"] != value for v in seen[name]):
                seen[name].append({"value": value, "connection": connection})
            if name not in data:
                data[name], sources[name] = value, origin
    return UnifiedRecord(uuid.UUID(loads_json(ids)[0]), entity, dict(sorted(data.items())),
                         dict(sorted(sources.items())),
                         [{"record_id": m, "connection": c, "stream": s, "record_key": k} for m, s, k, _, c in members],
                         {k: v for k, v in sorted(seen.items()) if len(v) > 1}, loads_json(links))
