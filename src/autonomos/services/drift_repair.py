"""Repairs of detected drift, with a confidence score, through mapping versions and the matcher.

For each open event on a field a current mapping version reads: a rename re-points the
mapping; a format, unit or type change gets a transform; each candidate is tried on the run's
landed records (``dcl.mappings.repairs.trial``, the SQL apply runs) and scored by how often it
reproduces the canonical values the same records had before the change. A new field is matched
like any source field and queued for review. A removed mapped field has no repair: it stays
open and breaking.

A repair at or above the tenant's ``drift_auto_threshold``, under the ``propagate`` policy, is
published as a new mapping version (the event becomes ``repaired``); otherwise it is kept on
the event and queued for review with its evidence, and accepting the event publishes it. Each
attempt is an ``agent_runs`` row of kind ``drift_repair``.

On a stream keyed by content (no primary key) a rename gives every record a new key: before
the repaired version is applied, each canonical record is moved to the key its record has
under the new name, so the rename updates nothing instead of deleting and recreating all.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from autonomos.aam.sync.landing import canonical_json
from autonomos.dcl.apply.apply import entity_types
from autonomos.dcl.mappings import repairs
from autonomos.dcl.mappings import review as queue
from autonomos.dcl.mappings.versions import current_version
from autonomos.runtime import Runtime
from autonomos.services import matching
from autonomos.services.ontology import ontology_version
from autonomos.store.tables import (
    AgentRun,
    CanonicalRecord,
    CanonicalSchemaVersion,
    Connection,
    DriftEvent,
    Mapping,
    MappingProposal,
    RawRecord,
)

AGENT = "agent:drift-repair"
TRIAL_RECORDS = 2_000
"""Records of a run each candidate repair is tried on."""
UNPROVEN = 0.8
"""Weight of a candidate's conversion rate when no record's earlier canonical value can vouch for it."""
REPAIRABLE = ("field_renamed", "format_changed", "unit_scale", "type_changed")


@dataclass(frozen=True)
class Repair:
    """One proposed repair of one mapping for one event."""

    event_id: uuid.UUID
    entity: str
    kind: str
    field: str
    action: str
    fields: list[dict]
    confidence: float
    agent_run_id: uuid.UUID
    evidence: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "action": self.action, "fields": self.fields,
                "confidence": round(self.confidence, 4), "agent_run_id": str(self.agent_run_id),
                "evidence": self.evidence}


def run_sample(session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str,
               run_id: uuid.UUID, limit: int | None = TRIAL_RECORDS) -> list[tuple[str, dict]]:
    """(record key, payload) of live records the run landed, in landing order."""
    return [(k, p) for k, p in session.execute(
        select(RawRecord.record_key, RawRecord.payload).where(
            RawRecord.tenant_id == tenant_id, RawRecord.connection_id == connection_id, RawRecord.stream == stream,
            RawRecord.sync_run_id == run_id, RawRecord.is_deleted.is_(False))
        .order_by(RawRecord.id).limit(limit))]


def _canonical(session, tenant_id: uuid.UUID, entity: str, connection_id: uuid.UUID, stream: str,
               keys: list[str]) -> dict[str, dict]:
    rows = session.execute(select(CanonicalRecord.record_key, CanonicalRecord.data).where(
        CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.entity == entity,
        CanonicalRecord.connection_id == connection_id, CanonicalRecord.stream == stream,
        CanonicalRecord.record_key.in_(keys), CanonicalRecord.is_deleted.is_(False)))
    return dict(rows.all())


def _renamed(payload: dict, old: str, new: str) -> dict:
    return {(new if k == old else k): v for k, v in payload.items()}


def rekey_pairs(session, tenant_id: uuid.UUID, entity: str, connection_id: uuid.UUID, stream: str,
                sample: list[tuple[str, dict]], old: str, new: str) -> tuple[dict[str, str], int]:
    """For a stream keyed by content: {old key: new key} of canonical records whose record,
    with ``old`` renamed ``new``, is a record the run landed; and how many canonical records
    were looked at."""
    landed = {canonical_json(p): k for k, p in sample}
    rows = session.execute(
        select(CanonicalRecord.record_key, RawRecord.payload)
        .join(RawRecord, (RawRecord.tenant_id == CanonicalRecord.tenant_id)
              & (RawRecord.connection_id == CanonicalRecord.connection_id) & (RawRecord.stream == CanonicalRecord.stream)
              & (RawRecord.record_key == CanonicalRecord.record_key) & RawRecord.is_deleted.is_(False))
        .where(CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.entity == entity,
               CanonicalRecord.connection_id == connection_id, CanonicalRecord.stream == stream,
               CanonicalRecord.is_deleted.is_(False))).all()
    pairs: dict[str, str] = {}
    for key, payload in rows:
        target = landed.get(canonical_json(_renamed(payload, old, new)))
        if target is not None and target != key:
            pairs[key] = target
    return pairs, len({k for k, _ in rows})


def rekey(session, tenant_id: uuid.UUID, entity: str, connection_id: uuid.UUID, stream: str,
          pairs: dict[str, str]) -> int:
    """Move canonical records to their new content keys (ids, data and history stay)."""
    taken = set(session.scalars(select(CanonicalRecord.record_key).where(
        CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.entity == entity,
        CanonicalRecord.connection_id == connection_id, CanonicalRecord.stream == stream,
        CanonicalRecord.record_key.in_(list(pairs.values())))))
    moved = 0
    for old, new in pairs.items():
        if new in taken:
            continue
        moved += session.execute(update(CanonicalRecord).where(
            CanonicalRecord.tenant_id == tenant_id, CanonicalRecord.entity == entity,
            CanonicalRecord.connection_id == connection_id, CanonicalRecord.stream == stream,
            CanonicalRecord.record_key == old).values(record_key=new)).rowcount
    return moved


def _mappings(session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str):
    """(mapping, current version, its entity's field types) of the stream."""
    for mapping in session.scalars(select(Mapping).where(Mapping.tenant_id == tenant_id,
                                                         Mapping.connection_id == connection_id,
                                                         Mapping.stream == stream).order_by(Mapping.canonical_entity)):
        version = current_version(session, tenant_id, mapping.id)
        if version is None:
            continue
        content = session.scalar(select(CanonicalSchemaVersion.content).where(
            CanonicalSchemaVersion.tenant_id == tenant_id, CanonicalSchemaVersion.id == version.ontology_version_id))
        yield mapping, version, entity_types(content or {}, mapping.canonical_entity)


def propose_repairs(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str, run_id: uuid.UUID,
                    event_ids: list[uuid.UUID], *, content_keyed: bool) -> list[Repair]:
    """The best repair of each open repairable event on a mapped field, each recorded as an agent run."""
    out: list[Repair] = []
    with rt.db.tenant(tenant_id) as session:
        events = session.scalars(select(DriftEvent).where(
            DriftEvent.tenant_id == tenant_id, DriftEvent.id.in_(event_ids), DriftEvent.status == "open",
            DriftEvent.kind.in_(REPAIRABLE)).order_by(DriftEvent.kind, DriftEvent.field)).all()
        if not events:
            return out
        sample = run_sample(session, tenant_id, connection_id, stream, run_id)
        payloads = [p for _, p in sample]
        for mapping, version, types in list(_mappings(session, tenant_id, connection_id, stream)):
            before = _canonical(session, tenant_id, mapping.canonical_entity, connection_id, stream,
                                [k for k, _ in sample])
            expected = [before.get(k) for k, _ in sample]
            for event in events:
                if not repairs.reads(version.fields, event.field):
                    continue
                started = time.perf_counter()
                repair = _best(session, tenant_id, mapping, version.fields, types, event, sample, payloads, expected,
                               content_keyed=content_keyed)
                run = AgentRun(tenant_id=tenant_id, kind="drift_repair", status="succeeded",
                               inputs={"drift_event_id": str(event.id), "kind": event.kind, "field": event.field,
                                       "rule": event.rule, "stream": stream, "run_id": str(run_id),
                                       "mapping_version": version.version, "fields": version.fields},
                               outputs={"action": repair[0], "fields": repair[1], "confidence": repair[2]},
                               evidence=repair[3], duration_ms=round((time.perf_counter() - started) * 1000),
                               finished_at=dt.datetime.now(dt.UTC))
                session.add(run)
                session.flush()
                out.append(Repair(event.id, mapping.canonical_entity, event.kind, event.field, repair[0], repair[1],
                                  repair[2], run.id, repair[3]))
    return out


def _best(session, tenant_id: uuid.UUID, mapping: Mapping, fields: list, types: dict[str, str], event: DriftEvent,
          sample, payloads, expected, *, content_keyed: bool) -> tuple[str, list[dict], float, dict[str, Any]]:
    """(action, fields, confidence, evidence) of the best candidate for one event."""
    details = event.details or {}
    targets = repairs.targets_of(fields, event.field)
    tried: list[dict[str, Any]] = []
    best: tuple[str, list[dict], float, dict[str, Any]] = ("no repair found", list(fields), 0.0, {"tried": tried})
    for action, candidate in repairs.candidates(fields, event.kind, event.rule, event.field, details.get("after"),
                                                details.get("samples") or ()):
        try:
            rows = repairs.trial(candidate, types, payloads)
        except Exception as exc:  # a candidate the compiler refuses is not a repair
            tried.append({"action": action, "error": str(exc)})
            continue
        converted = repairs.converts(rows)
        agreed = repairs.agreement(rows, expected, targets)
        evidence: dict[str, Any] = {"converts": round(converted, 4), "agrees": agreed, "records": len(rows),
                                    "examples": [r.data for r in rows[:3]]}
        if event.kind == "field_renamed" and content_keyed and agreed is None:
            pairs, seen = rekey_pairs(session, tenant_id, mapping.canonical_entity, mapping.connection_id,
                                      mapping.stream, sample, event.field, str(details.get("after")))
            evidence["same_records"] = len(pairs)
            agreed = len(pairs) / seen if seen else None
        if agreed is not None:
            score = agreed
        elif event.kind == "field_renamed":
            score = (event.confidence or 0.0) * converted
        else:
            score = UNPROVEN * converted
        score = round(min(score, 1.0), 4)
        tried.append({"action": action, "confidence": score, **evidence})
        if score > best[2]:
            best = (action, candidate, score, {"tried": tried})
    return best


def queue_for_review(session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str, repair: Repair,
                     source_field: str) -> uuid.UUID:
    """A repair below the auto threshold: one review-queue item with its evidence."""
    targets = repairs.targets_of(repair.fields, source_field) or ["(none)"]
    row = MappingProposal(tenant_id=tenant_id, connection_id=connection_id, stream=stream, source_field=source_field,
                          agent_run_id=repair.agent_run_id, decision="review", top_score=repair.confidence,
                          candidates=[{"entity": repair.entity, "field": t, "score": repair.confidence,
                                       "signals": {"drift_repair": repair.confidence}} for t in targets],
                          evidence={"drift_event_id": str(repair.event_id), "repair": repair.as_json(),
                                    "reasons": [f"drift repair: {repair.action}"]})
    session.add(row)
    session.flush()
    return row.id


def match_new_fields(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str,
                     added: dict[str, dict[str, Any]]) -> int:
    """Match fields a mapped stream gained, like any source field, into the review queue."""
    ontology = ontology_version(rt, tenant_id)
    with rt.db.tenant(tenant_id) as session:
        provider = session.scalar(select(Connection.provider_id).where(Connection.tenant_id == tenant_id,
                                                                       Connection.id == connection_id))
        queued = set(session.scalars(select(MappingProposal.source_field).where(
            MappingProposal.tenant_id == tenant_id, MappingProposal.connection_id == connection_id,
            MappingProposal.stream == stream, MappingProposal.source_field.in_(list(added)))))
    fresh = {k: v for k, v in added.items() if k not in queued}
    if not fresh:
        return 0
    profile = {"fields": [{"path": name, "type": (stats or {}).get("type", "string"),
                           "patterns": (stats or {}).get("styles", {}),
                           "top_values": [{"value": v} for v, _ in (stats or {}).get("top", [])[:5]]}
                          for name, stats in sorted(fresh.items())]}
    source = queue.source_schema(provider or "", stream, profile)
    run = matching.propose_mappings(rt, tenant_id, source, dict(ontology.content),
                                    context={"connection_id": str(connection_id), "stream": stream,
                                             "reason": "drift: field added", "actor": AGENT})
    types = {(t["name"], f["name"]): f.get("type", "string") for t in ontology.content["tables"] for f in t["fields"]}
    with rt.db.tenant(tenant_id) as session:
        stored, _ = queue.store_proposals(session, tenant_id, connection_id, stream, run.proposals,
                                          agent_run_id=run.run_id, profile=profile, types=types, supersede=False)
    return stored

