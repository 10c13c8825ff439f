"""Proposals and their review: run the matcher over a landed stream, list and decide the queue.

``propose_stream`` profiles the stream's landed records (schema snapshot), builds the
matcher's source schema from it (fields, types, sample values) and targets the tenant's
current ontology version through the stateful proposer (``services.matching``: the
tenant's memory of approved and rejected examples, the optional reranker); the run is an
``agent_runs`` row (kind ``matcher``) with inputs, outputs, evidence and duration, and each
proposal keeps the examples memory recalled for it. Every decision is audited and queued
in the embedding outbox in the transaction that records it: a rejection becomes a
rejected example at once, an acceptance withdraws any earlier rejection, and approved
pairs become mapping examples when they are published.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from autonomos.dcl.mappings import review as queue
from autonomos.services import audit, drift, matching
from autonomos.services.ontology import ontology_version
from autonomos.services.profiling import profile_stream
from autonomos.notifications import notify
from autonomos.runtime import Runtime
from autonomos.store.tables import Connection, MappingProposal, Review

AUTO_ACTOR = "system:accept-auto"


@dataclass(frozen=True)
class ProposalInfo:
    id: uuid.UUID
    stream: str
    source_field: str
    decision: str
    status: str
    top_score: float | None
    candidates: list[dict[str, Any]]
    evidence: dict[str, Any]
    reviews: list[dict[str, Any]]


@dataclass(frozen=True)
class ProposeResult:
    agent_run_id: uuid.UUID
    stored: int
    already_decided: int
    by_decision: dict[str, int]


def _info(row: MappingProposal, reviews: list[Review] | None = None) -> ProposalInfo:
    return ProposalInfo(row.id, row.stream, row.source_field, row.decision, row.status, row.top_score, row.candidates,
                        row.evidence, [{"actor": r.actor, "action": r.action, "entity": r.canonical_entity,
                                        "field": r.canonical_field, "transform": r.transform, "comment": r.comment,
                                        "at": r.created_at.isoformat()} for r in reviews or []])


def propose_stream(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, *, actor: str) -> ProposeResult:
    """Profile a landed stream, match it to the current ontology (with the tenant's memory) and store the proposals."""
    snapshot = profile_stream(rt, tenant_id, connection, stream)
    ontology = ontology_version(rt, tenant_id)
    with rt.db.tenant(tenant_id) as session:
        connection_id = queue.connection_id(session, tenant_id, connection)
        provider = session.scalar(select(Connection.provider_id).where(Connection.tenant_id == tenant_id,
                                                                       Connection.id == connection_id))
    source = queue.source_schema(provider or "", stream, dict(snapshot.profile))
    run = matching.propose_mappings(rt, tenant_id, source, dict(ontology.content), context={
        "target": f"{ontology.name} v{ontology.version}", "connection": connection, "stream": stream,
        "snapshot_id": str(snapshot.id), "fingerprint": snapshot.fingerprint, "ontology_version": ontology.version,
        "actor": actor})
    types = {(t["name"], f["name"]): f.get("type", "string") for t in ontology.content["tables"] for f in t["fields"]}
    by_decision: dict[str, int] = {}
    for p in run.proposals:
        by_decision[p.decision] = by_decision.get(p.decision, 0) + 1
    with rt.db.tenant(tenant_id) as session:
        stored, decided = queue.store_proposals(session, tenant_id, connection_id, stream, run.proposals,
                                                agent_run_id=run.run_id, profile=dict(snapshot.profile), types=types,
                                                recalled=run.recalled, memory=run.memory)
        notify(rt, session, tenant_id, "proposals.ready", {
            "connection_id": str(connection_id), "connection": connection, "stream": stream,
            "agent_run_id": str(run.run_id), "by_decision": by_decision})
    return ProposeResult(run.run_id, stored, decided, by_decision)


def list_queue(rt: Runtime, tenant_id: uuid.UUID, *, connection: str | None = None, stream: str | None = None,
               status: str | None = "open") -> list[ProposalInfo]:
    """Proposals (default: the open ones), by connection and stream, best score first."""
    with rt.db.tenant(tenant_id) as session:
        query = select(MappingProposal).where(MappingProposal.tenant_id == tenant_id,
                                              MappingProposal.status != "superseded")
        if status:
            query = query.where(MappingProposal.status == status)
        if connection:
            query = query.where(MappingProposal.connection_id == queue.connection_id(session, tenant_id, connection))
        if stream:
            query = query.where(MappingProposal.stream == stream)
        query = query.order_by(MappingProposal.stream, MappingProposal.top_score.desc().nulls_last(),
                               MappingProposal.source_field)
        return [_info(row) for row in session.scalars(query)]


def show(rt: Runtime, tenant_id: uuid.UUID, proposal_id: uuid.UUID) -> ProposalInfo:
    with rt.db.tenant(tenant_id) as session:
        row = queue.get_proposal(session, tenant_id, proposal_id)
        return _info(row, _reviews(session, tenant_id, row.id))


def _decision(rows: Sequence[Review]) -> dict[str, Any]:
    """A decision's rows as the audit log keeps them: the first target flat, every target listed."""
    first = rows[0]
    return {"entity": first.canonical_entity, "field": first.canonical_field, "transform": first.transform,
            "targets": [{"entity": r.canonical_entity, "field": r.canonical_field, "transform": r.transform}
                        for r in rows]}


def review(rt: Runtime, tenant_id: uuid.UUID, proposal_id: uuid.UUID, action: str, *, actor: str,
           field: str | None = None, transform: Any = None, targets: Sequence[queue.Target] | None = None,
           comment: str | None = None) -> ProposalInfo:
    """approve | reject | edit one proposal (``field`` may be ``entity.field``).

    ``targets`` (edit) maps the source field to several canonical fields, each with its own
    transform; ``queue.split_targets`` builds the usual one: a full name into given and family names.
    For ``reject``, ``field`` names the candidate rejected (default: the top one).
    """
    with rt.db.tenant(tenant_id) as session:
        row = queue.get_proposal(session, tenant_id, proposal_id)
        before = {"status": row.status}
        rows = queue.decide(session, tenant_id, row, action, actor=actor, field=field, transform=transform,
                            targets=targets, comment=comment)
        audit.record(session, tenant_id, actor=actor, action=f"review.{action}", target_type="mapping_proposal",
                     target_id=row.id, before=before,
                     after={"status": row.status, "source_field": row.source_field, **_decision(rows),
                            "comment": comment})
        info = _info(row, _reviews(session, tenant_id, row.id))
    event_id = (info.evidence or {}).get("drift_event_id")
    if event_id and action in ("approve", "reject"):  # a drift repair: deciding it decides its drift event
        if drift.get_event(rt, tenant_id, event_id).status == "open":
            drift.resolve_event(rt, tenant_id, event_id, "accepted" if action == "approve" else "rejected",
                                actor=actor)
    return info


def split(rt: Runtime, tenant_id: uuid.UUID, proposal_id: uuid.UUID, fields: Sequence[str], separator: str, *,
          actor: str, then: Any = None, comment: str | None = None) -> ProposalInfo:
    """Accept by splitting the source field on ``separator`` into ``fields`` in order (each takes
    one part, the last the rest); ``then`` runs on every part after the split."""
    return review(rt, tenant_id, proposal_id, "edit", actor=actor,
                  targets=queue.split_targets(fields, separator, then), comment=comment)


def _reviews(session, tenant_id: uuid.UUID, proposal_id: uuid.UUID) -> list[Review]:
    return list(session.scalars(select(Review).where(Review.tenant_id == tenant_id, Review.proposal_id == proposal_id)
                                .order_by(Review.created_at, Review.canonical_field)))


def accept_auto(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str | None = None, *,
                actor: str) -> list[ProposalInfo]:
    """Accept every open ``auto``-tier proposal of a connection (or stream) with its top candidate."""
    with rt.db.tenant(tenant_id) as session:
        query = select(MappingProposal).where(
            MappingProposal.tenant_id == tenant_id, MappingProposal.status == "open",
            MappingProposal.decision == "auto",
            MappingProposal.connection_id == queue.connection_id(session, tenant_id, connection)).with_for_update()
        if stream:
            query = query.where(MappingProposal.stream == stream)
        accepted = []
        for row in session.scalars(query):
            rows = queue.decide(session, tenant_id, row, "accept-auto", actor=AUTO_ACTOR)
            audit.record(session, tenant_id, actor=actor, action="review.accept-auto", target_type="mapping_proposal",
                         target_id=row.id, before={"status": "open"},
                         after={"status": row.status, "source_field": row.source_field, **_decision(rows),
                                "score": row.top_score})
            accepted.append(_info(row))
        return accepted


def reject_open(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, *, actor: str) -> int:
    """Reject whatever is still open in a stream's queue (what a person does after reviewing the rest)."""
    with rt.db.tenant(tenant_id) as session:
        ids = list(session.scalars(select(MappingProposal.id).where(
            MappingProposal.tenant_id == tenant_id, MappingProposal.status == "open", MappingProposal.stream == stream,
            MappingProposal.connection_id == queue.connection_id(session, tenant_id, connection))))
        for proposal_id in ids:
            row = queue.get_proposal(session, tenant_id, proposal_id)
            rows = queue.decide(session, tenant_id, row, "reject", actor=actor)
            audit.record(session, tenant_id, actor=actor, action="review.reject", target_type="mapping_proposal",
                         target_id=row.id, before={"status": "open"},
                         after={"status": "rejected", "source_field": row.source_field, **_decision(rows)})
        return len(ids)
