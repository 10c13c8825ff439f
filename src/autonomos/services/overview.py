"""Read-only summaries for people: each connection's sync health, and the lineage graph.

The console's Connections and Lineage pages read these; everything is counted in Postgres
under the tenant's RLS context, so a summary holds only the tenant's own objects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from autonomos.aam.sync import runs
from autonomos.runtime import Runtime
from autonomos.services import connections, drift
from autonomos.services.connections import ConnectionInfo
from autonomos.store.tables import CanonicalRecord, Connection, Quarantine, RawRecordHead, SyncRun

RECENT_RUNS = 5


@dataclass(frozen=True)
class Health:
    connection: ConnectionInfo
    runs: list[runs.RunInfo]
    records_per_s: float | None
    """Of the latest finished run: records read over its wall time."""
    quarantined: dict[str, int]
    """Open quarantined records of the connection by reason (the part before the first colon)."""
    held: list[str]


@dataclass
class Lineage:
    sources: list[dict[str, Any]] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    """{from, to, count}: source -> stream (records landed), stream -> entity (canonical records)."""


def _rate(run: runs.RunInfo) -> float | None:
    if run.started_at is None or run.finished_at is None:
        return None
    seconds = (run.finished_at - run.started_at).total_seconds()
    return round(run.counts.get("read", 0) / seconds, 1) if seconds > 0 else None


def connection_health(rt: Runtime, tenant_id: uuid.UUID, connection: str | None = None) -> list[Health]:
    """Health of every connection (or one, by name or id)."""
    found = ([connections.get_connection(rt, tenant_id, connection)] if connection
             else connections.list_connections(rt, tenant_id))
    reason = func.split_part(Quarantine.reason, ":", 1)
    out = []
    for info in found:
        cid = uuid.UUID(info.id)
        with rt.db.tenant(tenant_id) as session:
            recent = [runs.info(r) for r in session.scalars(
                select(SyncRun).where(SyncRun.tenant_id == tenant_id, SyncRun.connection_id == cid)
                .order_by(SyncRun.created_at.desc()).limit(RECENT_RUNS))]
            quarantined = {r: n for r, n in session.execute(
                select(reason, func.count()).where(Quarantine.tenant_id == tenant_id, Quarantine.connection_id == cid,
                                                   Quarantine.status == "open")
                .group_by(reason).order_by(func.count().desc())).all()}
        finished = next((r for r in recent if r.finished_at is not None), None)
        out.append(Health(info, recent, _rate(finished) if finished else None, quarantined,
                          sorted(drift.held_streams(rt, tenant_id, cid))))
    return out


def lineage(rt: Runtime, tenant_id: uuid.UUID) -> Lineage:
    """Sources -> streams -> canonical entities, with the record counts on each edge."""
    graph = Lineage()
    with rt.db.tenant(tenant_id) as session:
        rows = session.execute(select(Connection.id, Connection.name, Connection.provider_id)
                               .where(Connection.tenant_id == tenant_id)).all()
        names = {cid: name for cid, name, _ in rows}
        providers = {cid: provider for cid, _, provider in rows}
        landed = session.execute(
            select(RawRecordHead.connection_id, RawRecordHead.stream, func.count())
            .where(RawRecordHead.tenant_id == tenant_id)
            .group_by(RawRecordHead.connection_id, RawRecordHead.stream)).all()
        mapped = session.execute(
            select(CanonicalRecord.connection_id, CanonicalRecord.stream, CanonicalRecord.entity, func.count())
            .where(CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.is_deleted.is_(False))
            .group_by(CanonicalRecord.connection_id, CanonicalRecord.stream, CanonicalRecord.entity)).all()
    graph.sources = [{"id": f"c:{cid}", "label": names[cid], "provider": providers[cid]} for cid in sorted(
        names, key=lambda c: names[c])]
    streams = {(cid, s) for cid, s, _ in landed} | {(cid, s) for cid, s, _, _ in mapped}
    graph.streams = [{"id": f"s:{cid}:{s}", "label": s, "connection": names.get(cid, "?")}
                     for cid, s in sorted(streams, key=lambda k: (names.get(k[0], ""), k[1]))]
    totals: dict[str, int] = {}
    for _, _, entity, n in mapped:
        totals[entity] = totals.get(entity, 0) + n
    graph.entities = [{"id": f"e:{e}", "label": e, "count": n} for e, n in sorted(totals.items())]
    graph.edges = ([{"from": f"c:{cid}", "to": f"s:{cid}:{s}", "count": n} for cid, s, n in landed]
                   + [{"from": f"s:{cid}:{s}", "to": f"e:{e}", "count": n} for cid, s, e, n in mapped])
    return graph
