"""Schema drift as the platform runs it: the check after each landing, the connection's drift
policy, held streams, and the operations people (CLI, API) use on drift events.

The check runs in the post-landing hook before DCL apply sees the run's records. Under the
``hold`` policy a stream with an open breaking event is not applied; its records keep landing
raw and are applied when the event is accepted or rejected (released). ``propagate`` holds
only on a breaking value change (values that still parse but mean something else); ``ignore``
records and announces and never holds.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from autonomos.aam.connectors.base import StreamSpec
from autonomos.aam.drift import DriftReport, check_stream, history
from autonomos.aam.drift.classify import STRUCTURAL, VALUE
from autonomos.dcl.mappings.versions import current_version
from autonomos.aam.drift.exceptions import InvalidDriftRequest
from autonomos.errors import Conflict, NotFound
from autonomos import notifications
from autonomos.runtime import Runtime
from autonomos.services import audit, connections, tenants
from autonomos.services.apply import apply_connection
from autonomos.store.tables import Connection, DriftEvent, Mapping, Tenant

logger = logging.getLogger(__name__)

POLICIES = ("propagate", "hold", "ignore")
HOLDING_KINDS: dict[str, tuple[str, ...] | None] = {"hold": None, "propagate": ("format_changed", "unit_scale")}
"""Per policy, the kinds of open breaking event that hold a stream (None: every kind)."""
STATUSES = ("open", "accepted", "rejected", "muted")
AUTO_THRESHOLD_SETTING = "drift_auto_threshold"
MUTES_SETTING = "drift_mutes"
"""Tenant setting: ``{"<connection id>/<stream>": [kind, ...]}``, drift kinds recorded as muted."""
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


def _info(row: DriftEvent) -> EventInfo:
    return EventInfo(row.id, row.connection_id, row.stream, row.kind, row.severity, row.rule, row.field, row.status,
                     row.confidence, dict(row.details or {}), row.detected_at, row.from_snapshot_id, row.to_snapshot_id)


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
    record events and announce them (and holds)."""
    specs = ({s.name: s for s in discovered} if discovered is not None
             else _discover(rt, tenant_id, connection_id))
    mutes = _settings(rt, tenant_id).get(MUTES_SETTING, {})
    reports: dict[str, DriftReport] = {}
    for stream in streams or sorted(specs):
        muted = set(mutes.get(f"{connection_id}/{stream}", []))
        with rt.db.tenant(tenant_id) as session:
            held_before = _held(session, tenant_id, connection_id, stream)
            report = check_stream(session, tenant_id, connection_id, stream, run_id, specs.get(stream),
                                  mapped=mapped_fields(session, tenant_id, connection_id, stream))
            for event in report.events:
                if event.kind in muted:
                    event.status = "muted"
            session.flush()
            held_after = _held(session, tenant_id, connection_id, stream)
            events = [_payload(_info(e)) for e in report.events if e.status == "open"]
            if events:
                notifications.notify(rt, session, tenant_id, "drift.detected", {
                    "connection_id": str(connection_id), "stream": stream, "run_id": str(run_id), "events": events})
            if held_after and not held_before:
                notifications.notify(rt, session, tenant_id, "stream.held",
                                     {"connection_id": str(connection_id), "stream": stream})
        reports[stream] = report
    return reports


def _payload(info: EventInfo) -> dict[str, Any]:
    return {"id": str(info.id), "kind": info.kind, "severity": info.severity, "rule": info.rule,
            "field": info.field, "before": info.details.get("before"), "after": info.details.get("after")}


def _held(session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str) -> bool:
    """``hold``: any open breaking event holds the stream. ``propagate``: an open breaking value
    change does (its values still parse, so applying them would write wrong canonical values and
    no repair exists for it yet). ``ignore``: nothing does."""
    policy = session.scalar(select(Connection.drift_policy).where(Connection.tenant_id == tenant_id,
                                                                  Connection.id == connection_id))
    if policy not in HOLDING_KINDS:
        return False
    query = select(DriftEvent.id).where(
        DriftEvent.tenant_id == tenant_id, DriftEvent.connection_id == connection_id, DriftEvent.stream == stream,
        DriftEvent.status == "open", DriftEvent.severity == "breaking")
    if HOLDING_KINDS[policy] is not None:
        query = query.where(DriftEvent.kind.in_(HOLDING_KINDS[policy]))
    return session.scalar(query.limit(1)) is not None


def held_streams(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID) -> set[str]:
    """Streams not applied now: their connection's policy holds on one of their open breaking events."""
    with rt.db.tenant(tenant_id) as session:
        streams = set(session.scalars(select(DriftEvent.stream).distinct().where(
            DriftEvent.tenant_id == tenant_id, DriftEvent.connection_id == connection_id,
            DriftEvent.status == "open", DriftEvent.severity == "breaking")))
        return {s for s in streams if _held(session, tenant_id, connection_id, s)}


def set_policy(rt: Runtime, tenant_id: uuid.UUID, connection: str, policy: str, *, actor: str) -> str:
    if policy not in POLICIES:
        raise InvalidDriftRequest(f"unknown drift policy {policy!r}; expected one of {', '.join(POLICIES)}")
    with rt.db.tenant(tenant_id) as session:
        row = _connection(session, tenant_id, connection)
        held = held_streams(rt, tenant_id, row.id)
        before, row.drift_policy = row.drift_policy, policy
        audit.record(session, tenant_id, actor=actor, action="connection.drift_policy", target_type="connection",
                     target_id=row.id, before={"drift_policy": before}, after={"drift_policy": policy})
        connection_id = row.id
    if policy != "hold":
        _apply_released(rt, tenant_id, connection_id, sorted(held))
    return policy


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
                status: str | None = None, limit: int = 100) -> list[EventInfo]:
    with rt.db.tenant(tenant_id) as session:
        query = select(DriftEvent).where(DriftEvent.tenant_id == tenant_id)
        if connection:
            query = query.where(DriftEvent.connection_id == _connection(session, tenant_id, connection).id)
        if stream:
            query = query.where(DriftEvent.stream == stream)
        if status:
            query = query.where(DriftEvent.status == status)
        rows = session.scalars(query.order_by(DriftEvent.detected_at.desc(), DriftEvent.kind, DriftEvent.field)
                               .limit(limit))
        return [_info(r) for r in rows]


def get_event(rt: Runtime, tenant_id: uuid.UUID, event_id: str) -> EventInfo:
    with rt.db.tenant(tenant_id) as session:
        return _info(_event(session, tenant_id, event_id))


def _event(session, tenant_id: uuid.UUID, event_id: str) -> DriftEvent:
    try:
        wanted = uuid.UUID(event_id)
    except ValueError as exc:
        raise NotFound(f"no drift event {event_id!r}") from exc
    row = session.scalar(select(DriftEvent).where(DriftEvent.tenant_id == tenant_id, DriftEvent.id == wanted)
                         .with_for_update())
    if row is None:
        raise NotFound(f"no drift event {event_id!r}")
    return row


def resolve_event(rt: Runtime, tenant_id: uuid.UUID, event_id: str, decision: str, *, actor: str) -> EventInfo:
    """Accept (the change is right; mappings follow it) or reject (the source is wrong) an open
    event. A held stream whose last breaking event is decided is released and applied."""
    if decision not in ("accepted", "rejected"):
        raise InvalidDriftRequest("a drift event is accepted or rejected")
    with rt.db.tenant(tenant_id) as session:
        row = _event(session, tenant_id, event_id)
        if row.status != "open":
            raise Conflict(f"drift event {event_id} is already {row.status}")
        was_held = _held(session, tenant_id, row.connection_id, row.stream)
        row.status = decision
        row.resolved_at = func.now()
        if decision == "accepted" and row.kind in VALUE:
            history.rebaseline(session, tenant_id, row.to_snapshot_id, row.field, row.details.get("after_stats"))
        audit.record(session, tenant_id, actor=actor, action=f"drift.{decision}", target_type="drift_event",
                     target_id=row.id, before={"status": "open"}, after={"status": decision})
        session.flush()
        released = was_held and not _held(session, tenant_id, row.connection_id, row.stream)
        info = _info(row)
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
