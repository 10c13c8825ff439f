"""Settling drift repairs: publishing them as mapping versions, or keeping them for review.

``settle`` runs after a run's drift check: the repair proposed for each event
(``services.drift_repair``) is published when the stream's policy allows it and its
confidence reaches the tenant's auto threshold (the event becomes ``repaired``); otherwise
it is kept on the event and queued for review, and ``publish_repair`` publishes it when a
person accepts the event. Publishing recomputes the change on each mapping's *current*
fields, so a version published in between is not undone. The caller applies the versions.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import func, select

from autonomos.aam.drift import history
from autonomos.aam.drift.classify import VALUE
from autonomos.dcl.mappings import repairs
from autonomos.errors import NotFound
from autonomos import notifications
from autonomos.runtime import Runtime
from autonomos.services import audit, drift_repair, mappings
from autonomos.store.tables import Connection, DriftEvent, MappingProposal

logger = logging.getLogger(__name__)


def _event(session, tenant_id: uuid.UUID, event_id: str) -> DriftEvent:
    row = session.scalar(select(DriftEvent).where(DriftEvent.tenant_id == tenant_id,
                                                  DriftEvent.id == uuid.UUID(event_id)).with_for_update())
    if row is None:
        raise NotFound("no such drift event", tenant=tenant_id, id=event_id)
    return row


def settle(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str, run_id: uuid.UUID,
           event_ids: list[uuid.UUID], *, auto: bool, threshold: float, keyed_by_content: bool) -> list[uuid.UUID]:
    """Propose a repair for each repairable event; with ``auto``, publish those at or above
    ``threshold``; keep the others on their event and in the review queue. Returns the mapping
    versions published (not yet applied)."""
    try:
        found = drift_repair.propose_repairs(rt, tenant_id, connection_id, stream, run_id, event_ids,
                                             content_keyed=keyed_by_content)
    except Exception:  # a failed repair leaves the event open (and the stream held if it breaks)
        logger.exception("drift repair failed", extra={"stream": stream})
        return []
    by_event: dict[uuid.UUID, list[drift_repair.Repair]] = {}
    for repair in found:
        by_event.setdefault(repair.event_id, []).append(repair)
    published = []
    for event_id, proposed in by_event.items():
        confident = all(r.confidence >= threshold for r in proposed)
        with rt.db.tenant(tenant_id) as session:
            row = _event(session, tenant_id, str(event_id))
            row.repair = {"status": "proposed", "keyed_by_content": keyed_by_content,
                          "repairs": [r.as_json() for r in proposed]}
            row.confidence = min(r.confidence for r in proposed)
            if not (confident and auto):
                source = str(row.details.get("after")) if row.kind == "field_renamed" else row.field
                for r in proposed:
                    drift_repair.queue_for_review(session, tenant_id, connection_id, stream, r, source)
        if confident and auto:
            published += publish_repair(rt, tenant_id, str(event_id), actor=drift_repair.AGENT, status="repaired")
    return published


def publish_repair(rt: Runtime, tenant_id: uuid.UUID, event_id: str, *, actor: str,
                    status: str) -> list[uuid.UUID]:
    """Publish the repair kept on an event (each mapping's current fields, changed the same way)
    as new mapping versions without applying them; close the event as ``status``. Returns the
    versions published."""
    with rt.db.tenant(tenant_id) as session:
        row = _event(session, tenant_id, event_id)
        repair = dict(row.repair or {})
        connection_id, stream, kind, rule, field = row.connection_id, row.stream, row.kind, row.rule, row.field
        details = dict(row.details or {})
        name = session.scalar(select(Connection.name).where(Connection.tenant_id == tenant_id,
                                                            Connection.id == row.connection_id))
    versions: list[uuid.UUID] = []
    rekeyed = 0
    for item in repair.get("repairs", []):
        current = mappings.get_version(rt, tenant_id, name, stream, item["entity"])
        fields = next((f for action, f in repairs.candidates(current.fields, kind, rule, field, details.get("after"),
                                                             details.get("samples") or ())
                       if action == item["action"]), None)
        if fields is None:  # the mapping changed since and no longer reads the field that way
            continue
        if kind == "field_renamed" and repair.get("keyed_by_content"):
            rekeyed += _rekey(rt, tenant_id, connection_id, stream, details, field, item["entity"])
        result = mappings.publish_fields(rt, tenant_id, name, stream, item["entity"], fields, actor=actor,
                                         apply=False)
        versions.append(result.version.id)
        item["version"] = result.version.version
    with rt.db.tenant(tenant_id) as session:
        row = _event(session, tenant_id, event_id)
        row.repair = {**repair, "status": "published", "rekeyed": rekeyed}
        row.status = status
        row.resolved_at = func.now()
        if row.kind in VALUE:
            history.rebaseline(session, tenant_id, row.to_snapshot_id, row.field, row.details.get("after_stats"))
        session.execute(MappingProposal.__table__.update().where(
            MappingProposal.tenant_id == tenant_id, MappingProposal.status == "open",
            MappingProposal.evidence["drift_event_id"].astext == event_id).values(status="accepted"))
        audit.record(session, tenant_id, actor=actor, action="drift.repaired", target_type="drift_event",
                     target_id=row.id, before={"status": "open"}, after={"status": status, "repair": row.repair})
    notifications.publish(rt, tenant_id, "drift.repaired", {"connection_id": str(connection_id), "stream": stream,
                                                     "event_id": event_id, "kind": kind, "field": field,
                                                     "versions": [str(v) for v in versions]})
    return versions


def _rekey(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str, details: dict[str, Any],
           field: str, entity: str) -> int:
    """Move a content-keyed stream's canonical records to their keys under the new field name."""
    run_id = uuid.UUID(details["run_id"])
    with rt.db.tenant(tenant_id) as session:
        sample = drift_repair.run_sample(session, tenant_id, connection_id, stream, run_id, limit=None)
        pairs, _ = drift_repair.rekey_pairs(session, tenant_id, entity, connection_id, stream, sample, field,
                                            str(details.get("after")))
        return drift_repair.rekey(session, tenant_id, entity, connection_id, stream, pairs)
