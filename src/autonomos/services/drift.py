"""Schema drift as the platform runs it: the check after each landing, the connection's drift
policy, held streams, and the operations people (CLI, API) use on drift events.

The check runs in the post-landing hook before DCL apply sees the run's records, and then
tries to repair what it found (``services.drift_repair``). Under ``propagate`` a repair at or
above the tenant's auto threshold is published as a new mapping version and backfilled; a
breaking event left open (no confident repair) holds the stream. Under ``hold`` every breaking
event holds the stream until a person accepts (publishing the proposed repair) or rejects it;
records keep landing raw and are applied when the stream is released. ``ignore`` records and
announces and never holds. A stream may override its connection's policy, and mute kinds.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_

from autonomos.aam.connectors.base import StreamSpec
from autonomos.aam.drift import DriftReport, check_stream, history
from autonomos.aam.drift.classify import STRUCTURAL, VALUE
from autonomos.aam.drift.exceptions import InvalidDriftRequest
from autonomos.dcl.mappings.versions import current_version
from autonomos.errors import Conflict, NotFound
from autonomos import notifications
from autonomos.runtime import Runtime
from autonomos.services import audit, connections, drift_publish, drift_repair, tenants
from autonomos.services.apply import apply_and_resolve, apply_connection
from autonomos.store.tables import Connection, DriftEvent, Mapping, MappingProposal, SchemaSnapshot, Tenant

logger = logging.getLogger(__name__)

POLICIES = ("propagate", "hold", "ignore")
HOLDING = ("hold", "propagate")
"""Policies under which an open breaking event holds its stream (``propagate`` repairs first)."""
STATUSES = ("open", "accepted", "rejected", "muted", "repaired")
AUTO_THRESHOLD_SETTING = "drift_auto_threshold"
MUTES_SETTING = "drift_mutes"
"""Tenant setting: ``{"<connection id>/<stream>": [kind, ...]}``, drift kinds recorded as muted."""
STREAM_POLICIES_SETTING = "drift_stream_policies"
"""Tenant setting: ``{"<connection id>/<stream>": policy}``, a stream's own drift policy."""
DEFAULT_AUTO_THRESHOLD = 0.9


@dataclass(frozen=True)
class EventInfo:
    id: uuid.UUID
    connection_id: uuid.UUID
    stream: str
    kind: str
    severity: str
    rule: str
    field: str
    status: str
    confidence: float | None
    details: dict[str, Any]
    detected_at: Any
    from_snapshot_id: uuid.UUID | None
    to_snapshot_id: uuid.UUID
    repair: dict[str, Any] | None = None
    """The proposed repair: per mapping its action, fields, confidence and agent run; its status."""


def _info(row: DriftEvent) -> EventInfo:
    return EventInfo(row.id, row.connection_id, row.stream, row.kind, row.severity, row.rule, row.field, row.status,
                     row.confidence, dict(row.details or {}), row.detected_at, row.from_snapshot_id, row.to_snapshot_id,
                     dict(row.repair) if row.repair else None)


def _settings(rt: Runtime, tenant_id: uuid.UUID) -> dict[str, Any]:
    with rt.db.tenant(tenant_id) as session:
        return dict(session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)) or {})


def auto_threshold(rt: Runtime, tenant_id: uuid.UUID) -> float:
    """The confidence at or above which a repair may be published without a person (tenant setting)."""
    value = _settings(rt, tenant_id).get(AUTO_THRESHOLD_SETTING, DEFAULT_AUTO_THRESHOLD)
    return min(max(float(value), 0.0), 1.0) if isinstance(value, int | float) else DEFAULT_AUTO_THRESHOLD


def mapped_fields(session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str) -> frozenset[str] | None:
    """Top-level source fields the stream's current mapping versions read; None without a mapping."""
    found: set[str] | None = None
    for mapping in session.scalars(select(Mapping).where(Mapping.tenant_id == tenant_id,
                                                         Mapping.connection_id == connection_id,
                                                         Mapping.stream == stream)):
        version = current_version(session, tenant_id, mapping.id)
        if version is not None:
            found = (found or set()) | {f["source_field"] for f in version.fields if f.get("source_field")}
    return None if found is None else frozenset(found)


def _discover(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID) -> dict[str, StreamSpec]:
    """The connection's streams as discovery sees them now; empty when discovery fails (the
    check then works from the records alone)."""
    try:
        connector = connections.open_connector(rt, tenant_id, str(connection_id))
        try:
            return {spec.name: spec for spec in connector.discover()}
        finally:
            connector.close()
    except Exception:  # discovery is evidence, not a requirement
        logger.warning("drift check could not discover the connection's streams", exc_info=True,
                       extra={"connection_id": str(connection_id)})
        return {}


def check_run(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, run_id: uuid.UUID,
              streams: list[str], discovered: list[StreamSpec] | None = None) -> dict[str, DriftReport]:
    """Check every stream the run landed (``discovered``: the run's own discovery, if known);
    record events, try to repair them, and announce events, repairs and holds."""
    specs = ({s.name: s for s in discovered} if discovered is not None
             else _discover(rt, tenant_id, connection_id))
    settings = _settings(rt, tenant_id)
    mutes = settings.get(MUTES_SETTING, {})
    reports: dict[str, DriftReport] = {}
    for stream in streams or sorted(specs):
        muted = set(mutes.get(f"{connection_id}/{stream}", []))
        with rt.db.tenant(tenant_id) as session:
            held_before = _held(session, tenant_id, connection_id, stream)
            mapped = mapped_fields(session, tenant_id, connection_id, stream)
            report = check_stream(session, tenant_id, connection_id, stream, run_id, specs.get(stream), mapped=mapped)
            for event in report.events:
                if event.kind in muted:
                    event.status = "muted"
            session.flush()
            policy = stream_policy(session, tenant_id, connection_id, stream)
            events = [_payload(_info(e)) for e in report.events if e.status == "open"]
            open_ids = [e.id for e in report.events if e.status == "open"]
            added = {e.field: (e.details or {}).get("after_stats") or {} for e in report.events
                     if e.status == "open" and e.kind == "field_added"}
        reports[stream] = report
        if events:
            notifications.publish(rt, tenant_id, "drift.detected", {"connection_id": str(connection_id),
                                                                    "stream": stream, "run_id": str(run_id),
                                                                    "events": events})
        if open_ids and policy != "ignore":
            spec = specs.get(stream)
            keyed_by_content = bool(spec.content_key) if spec else not _snapshot_key(rt, tenant_id, report)
            _repair(rt, tenant_id, connection_id, stream, run_id, open_ids, policy, keyed_by_content)
            if added and mapped is not None:
                try:
                    drift_repair.match_new_fields(rt, tenant_id, connection_id, stream, added)
                except Exception:  # matching is a proposal; the sync and its apply go on without it
                    logger.exception("matching a new field failed", extra={"stream": stream})
        with rt.db.tenant(tenant_id) as session:
            held_after = _held(session, tenant_id, connection_id, stream)
        if held_after and not held_before:
            notifications.publish(rt, tenant_id, "stream.held",
                                  {"connection_id": str(connection_id), "stream": stream})
    return reports


def _snapshot_key(rt: Runtime, tenant_id: uuid.UUID, report: DriftReport) -> list[str]:
    with rt.db.tenant(tenant_id) as session:
        profile = session.scalar(select(SchemaSnapshot.profile).where(SchemaSnapshot.tenant_id == tenant_id,
                                                                      SchemaSnapshot.id == report.snapshot_id))
    return list((profile or {}).get("key") or [])


def _repair(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str, run_id: uuid.UUID,
            event_ids: list[uuid.UUID], policy: str, keyed_by_content: bool) -> None:
    """Repair what can be repaired (``services.drift_publish``) and backfill what was published,
    unless the stream is still held (then its release applies it)."""
    published = drift_publish.settle(rt, tenant_id, connection_id, stream, run_id, event_ids,
                                     auto=policy == "propagate", threshold=auto_threshold(rt, tenant_id),
                                     keyed_by_content=keyed_by_content)
    with rt.db.tenant(tenant_id) as session:
        held = _held(session, tenant_id, connection_id, stream)
    if not held:
        for version_id in published:
            apply_and_resolve(rt, tenant_id, version_id, trigger="publish")


def _payload(info: EventInfo) -> dict[str, Any]:
    return {"id": str(info.id), "kind": info.kind, "severity": info.severity, "rule": info.rule,
            "field": info.field, "before": info.details.get("before"), "after": info.details.get("after")}


def stream_policy(session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str) -> str:
    """The stream's own policy if it has one, else its connection's."""
    overrides = (session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)) or {}).get(
        STREAM_POLICIES_SETTING, {})
    own = overrides.get(f"{connection_id}/{stream}")
    if own in POLICIES:
        return own
    return session.scalar(select(Connection.drift_policy).where(Connection.tenant_id == tenant_id,
                                                                Connection.id == connection_id)) or "propagate"


def _held(session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str) -> bool:
    """``hold`` and ``propagate``: an open breaking event holds the stream (under ``propagate``
    only what no confident repair fixed is still open: applying it would write wrong or empty
    canonical values). ``ignore``: nothing does."""
    if stream_policy(session, tenant_id, connection_id, stream) not in HOLDING:
        return False
    return session.scalar(select(DriftEvent.id).where(
        DriftEvent.tenant_id == tenant_id, DriftEvent.connection_id == connection_id, DriftEvent.stream == stream,
        DriftEvent.status == "open", DriftEvent.severity == "breaking").limit(1)) is not None


def held_streams(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID) -> set[str]:
    """Streams not applied now: their policy holds on one of their open breaking events."""
    with rt.db.tenant(tenant_id) as session:
        streams = set(session.scalars(select(DriftEvent.stream).distinct().where(
            DriftEvent.tenant_id == tenant_id, DriftEvent.connection_id == connection_id,
            DriftEvent.status == "open", DriftEvent.severity == "breaking")))
        return {s for s in streams if _held(session, tenant_id, connection_id, s)}


def set_policy(rt: Runtime, tenant_id: uuid.UUID, connection: str, policy: str | None, *, actor: str,
               stream: str | None = None) -> str | None:
    """Set a connection's drift policy, or (``stream``) one stream's own (None: follow the
    connection again). Streams no longer held are released and applied."""
    if policy not in POLICIES and not (stream and policy is None):
        raise InvalidDriftRequest(f"unknown drift policy {policy!r}; expected one of {', '.join(POLICIES)}")
    with rt.db.tenant(tenant_id) as session:
        row = _connection(session, tenant_id, connection)
        connection_id, before = row.id, row.drift_policy
    held = held_streams(rt, tenant_id, connection_id)
    if stream is None:
        with rt.db.tenant(tenant_id) as session:
            row = _connection(session, tenant_id, connection)
            row.drift_policy = policy
            audit.record(session, tenant_id, actor=actor, action="connection.drift_policy", target_type="connection",
                         target_id=row.id, before={"drift_policy": before}, after={"drift_policy": policy})
        connections.evict(rt, tenant_id, row)
    else:
        overrides = dict(_settings(rt, tenant_id).get(STREAM_POLICIES_SETTING, {}))
        key = f"{connection_id}/{stream}"
        if policy is None:
            overrides.pop(key, None)
        else:
            overrides[key] = policy
        tenants.update_settings(rt, str(tenant_id), {STREAM_POLICIES_SETTING: overrides}, actor=actor)
    _apply_released(rt, tenant_id, connection_id, sorted(held - held_streams(rt, tenant_id, connection_id)))
    return policy


def held_everywhere(rt: Runtime, tenant_id: uuid.UUID, connection: str | None = None) -> dict[str, list[str]]:
    """Held streams per connection name (of one connection, or of every connection that has any)."""
    with rt.db.tenant(tenant_id) as session:
        query = select(Connection.id, Connection.name).where(Connection.tenant_id == tenant_id)
        if connection:
            query = query.where(Connection.id == _connection(session, tenant_id, connection).id)
        rows = session.execute(query.order_by(Connection.name)).all()
    out = {name: sorted(held_streams(rt, tenant_id, cid)) for cid, name in rows}
    return {name: streams for name, streams in out.items() if streams}


def stream_policies(rt: Runtime, tenant_id: uuid.UUID, connection: str) -> dict[str, str]:
    """Streams of a connection with their own policy."""
    with rt.db.tenant(tenant_id) as session:
        connection_id = _connection(session, tenant_id, connection).id
    prefix = f"{connection_id}/"
    return {k.removeprefix(prefix): v for k, v in _settings(rt, tenant_id).get(STREAM_POLICIES_SETTING, {}).items()
            if k.startswith(prefix)}


def get_policy(rt: Runtime, tenant_id: uuid.UUID, connection: str) -> str:
    with rt.db.tenant(tenant_id) as session:
        return _connection(session, tenant_id, connection).drift_policy


def _connection(session, tenant_id: uuid.UUID, connection: str) -> Connection:
    try:
        wanted = Connection.id == uuid.UUID(connection)
    except ValueError:
        wanted = Connection.name == connection
    row = session.scalar(select(Connection).where(Connection.tenant_id == tenant_id, wanted))
    if row is None:
        raise NotFound(f"no connection {connection!r}")
    return row


def list_events(rt: Runtime, tenant_id: uuid.UUID, *, connection: str | None = None, stream: str | None = None,
                status: str | None = None, limit: int = 100,
                after: tuple[str, str, str, str] | None = None) -> list[EventInfo]:
    """Events newest first (one check's events by kind and field); ``after``: the last
    (detected_at, kind, field, id) served, to resume below it."""
    with rt.db.tenant(tenant_id) as session:
        query = select(DriftEvent).where(DriftEvent.tenant_id == tenant_id)
        if connection:
            query = query.where(DriftEvent.connection_id == _connection(session, tenant_id, connection).id)
        if stream:
            query = query.where(DriftEvent.stream == stream)
        if status:
            query = query.where(DriftEvent.status == status)
        if after is not None:
            at = dt.datetime.fromisoformat(after[0])
            query = query.where(or_(DriftEvent.detected_at < at, and_(DriftEvent.detected_at == at, tuple_(
                DriftEvent.kind, DriftEvent.field, DriftEvent.id) > tuple_(after[1], after[2], uuid.UUID(after[3])))))
        rows = session.scalars(query.order_by(DriftEvent.detected_at.desc(), DriftEvent.kind, DriftEvent.field,
                                              DriftEvent.id).limit(limit))
        return [_info(r) for r in rows]


def get_event(rt: Runtime, tenant_id: uuid.UUID, event_id: str) -> EventInfo:
    with rt.db.tenant(tenant_id) as session:
        return _info(_event(session, tenant_id, event_id))


def _event(session, tenant_id: uuid.UUID, event_id: str) -> DriftEvent:
    try:
        wanted = uuid.UUID(event_id)
    except ValueError as exc:
        raise NotFound("no such drift event", tenant=tenant_id, id=event_id) from exc
    row = session.scalar(select(DriftEvent).where(DriftEvent.tenant_id == tenant_id, DriftEvent.id == wanted)
                         .with_for_update())
    if row is None:
        raise NotFound("no such drift event", tenant=tenant_id, id=event_id)
    return row


def resolve_event(rt: Runtime, tenant_id: uuid.UUID, event_id: str, decision: str, *, actor: str) -> EventInfo:
    """Accept (the change is right: its proposed repair, if any, is published as new mapping
    versions) or reject (the source is wrong) an open event. A held stream whose last breaking
    event is decided is released and applied."""
    if decision not in ("accepted", "rejected"):
        raise InvalidDriftRequest("a drift event is accepted or rejected")
    with rt.db.tenant(tenant_id) as session:
        row = _event(session, tenant_id, event_id)
        if row.status != "open":
            raise Conflict(f"drift event {event_id} is already {row.status}")
        was_held = _held(session, tenant_id, row.connection_id, row.stream)
        has_repair = decision == "accepted" and bool((row.repair or {}).get("repairs"))
        if not has_repair:
            row.status = decision
            row.resolved_at = func.now()
            if decision == "accepted" and row.kind in VALUE:
                history.rebaseline(session, tenant_id, row.to_snapshot_id, row.field, row.details.get("after_stats"))
            if decision == "rejected" and row.repair:
                row.repair = {**row.repair, "status": "rejected"}
            session.execute(MappingProposal.__table__.update().where(
                MappingProposal.tenant_id == tenant_id, MappingProposal.status == "open",
                MappingProposal.evidence["drift_event_id"].astext == event_id).values(status=decision))
            audit.record(session, tenant_id, actor=actor, action=f"drift.{decision}", target_type="drift_event",
                         target_id=row.id, before={"status": "open"}, after={"status": decision})
        connection_id, stream = row.connection_id, row.stream
    if has_repair:
        drift_publish.publish_repair(rt, tenant_id, event_id, actor=actor, status="accepted")
    with rt.db.tenant(tenant_id) as session:
        released = was_held and not _held(session, tenant_id, connection_id, stream)
        info = _info(_event(session, tenant_id, event_id))
    if released:
        _apply_released(rt, tenant_id, info.connection_id, [info.stream])
    return info


def mute(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, kind: str, *, actor: str,
         muted: bool = True) -> list[str]:
    """Record a drift kind of one stream as muted from now on (or no longer): still written,
    never announced, never holding. Returns the stream's muted kinds."""
    if kind not in STRUCTURAL + VALUE:
        raise InvalidDriftRequest(f"unknown drift kind {kind!r}; expected one of {', '.join(STRUCTURAL + VALUE)}")
    with rt.db.tenant(tenant_id) as session:
        connection_id = _connection(session, tenant_id, connection).id
    mutes = dict(_settings(rt, tenant_id).get(MUTES_SETTING, {}))
    key = f"{connection_id}/{stream}"
    kinds = set(mutes.get(key, []))
    kinds = kinds | {kind} if muted else kinds - {kind}
    mutes[key] = sorted(kinds)
    tenants.update_settings(rt, str(tenant_id), {MUTES_SETTING: mutes}, actor=actor)
    return mutes[key]


def _apply_released(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, streams: list[str]) -> None:
    """Announce the release and apply what landed raw while the streams were held."""
    if not streams:
        return
    for stream in streams:
        notifications.publish(rt, tenant_id, "stream.released", {"connection_id": str(connection_id), "stream": stream})
    apply_connection(rt, tenant_id, connection_id, streams)


def streams_to_apply(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID,
                     streams: list[str]) -> list[str] | None:
    """None when no stream is held (apply ``streams`` as given; empty means every stream);
    otherwise the explicit list of the run's streams that are not held, possibly empty."""
    held = held_streams(rt, tenant_id, connection_id)
    if not held:
        return None
    if not streams:
        with rt.db.tenant(tenant_id) as session:
            streams = sorted(set(session.scalars(select(Mapping.stream).where(
                Mapping.tenant_id == tenant_id, Mapping.connection_id == connection_id))))
    return [s for s in streams if s not in held]
