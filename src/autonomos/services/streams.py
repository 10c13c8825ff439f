"""A connection's streams as the platform has seen them: where reading resumes, and the
history of schema snapshots (fingerprint, fields, profile) that drift detection compares."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select

from autonomos.runtime import Runtime
from autonomos.services.history import newest_first, one
from autonomos.store.lookups import load_connection
from autonomos.store.tables import SchemaSnapshot, StreamState


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def list_streams(rt: Runtime, tenant_id: uuid.UUID, connection: str) -> list[dict[str, Any]]:
    """Every stream of a connection that has a cursor or a snapshot, by name: its cursor, its
    latest fingerprint and how many snapshots it has."""
    with rt.db.tenant(tenant_id) as session:
        connection_id = load_connection(session, tenant_id, connection).id
        cursors = {s.stream: s for s in session.scalars(select(StreamState).where(
            StreamState.tenant_id == tenant_id, StreamState.connection_id == connection_id))}
        latest = (select(SchemaSnapshot.stream, SchemaSnapshot.fingerprint, SchemaSnapshot.observed_at,
                         func.count().over(partition_by=SchemaSnapshot.stream).label("snapshots"),
                         func.row_number().over(partition_by=SchemaSnapshot.stream,
                                                order_by=(SchemaSnapshot.observed_at.desc(),
                                                          SchemaSnapshot.id.desc())).label("n"))
                  .where(SchemaSnapshot.tenant_id == tenant_id, SchemaSnapshot.connection_id == connection_id)
                  .subquery())
        snapshots = {r.stream: r for r in session.execute(select(latest).where(latest.c.n == 1))}
    out = []
    for name in sorted({*cursors, *snapshots}):
        state, snap = cursors.get(name), snapshots.get(name)
        out.append({"connection_id": str(connection_id), "stream": name,
                    "cursor": state.cursor if state else None,
                    "cursor_updated_at": _iso(state.updated_at) if state else None,
                    "fingerprint": snap.fingerprint if snap else None,
                    "last_snapshot_at": _iso(snap.observed_at) if snap else None,
                    "snapshots": snap.snapshots if snap else 0})
    return out


def _snapshot(row: SchemaSnapshot, full: bool) -> dict[str, Any]:
    out = {"id": str(row.id), "connection_id": str(row.connection_id), "stream": row.stream,
           "fingerprint": row.fingerprint, "recipe": row.recipe, "fields": row.fields,
           "observed_at": _iso(row.observed_at)}
    if full:  # the profile (types, samples, top values) only on the single snapshot
        out["profile"] = row.profile
    return out


def list_snapshots(rt: Runtime, tenant_id: uuid.UUID, *, connection: str | None = None, stream: str | None = None,
                   after: tuple[str, str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Schema snapshots newest first (``observed_at``, ``id``), optionally of one connection and stream."""
    query = newest_first(select(SchemaSnapshot).where(SchemaSnapshot.tenant_id == tenant_id),
                         SchemaSnapshot.observed_at, SchemaSnapshot.id, after, limit)
    if stream:
        query = query.where(SchemaSnapshot.stream == stream)
    with rt.db.tenant(tenant_id) as session:
        if connection:
            query = query.where(SchemaSnapshot.connection_id == load_connection(session, tenant_id, connection).id)
        return [_snapshot(r, False) for r in session.scalars(query)]


def get_snapshot(rt: Runtime, tenant_id: uuid.UUID, snapshot_id: uuid.UUID) -> dict[str, Any]:
    return _snapshot(one(rt, tenant_id, SchemaSnapshot, snapshot_id, "schema snapshot"), True)
