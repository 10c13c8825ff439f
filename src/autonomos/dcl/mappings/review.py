"""The review queue: matcher proposals stored per (connection, stream), and people's decisions.

A proposal is ``open`` until someone (or ``accept-auto`` for the ``auto`` tier) accepts or
rejects it; every decision is a ``reviews`` row naming the canonical entity, field and
transform it settled on, so what gets published is always the latest review of each
accepted proposal. Running the matcher again leaves decided fields alone and supersedes
the open proposals it replaces. Functions run in the caller's tenant transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.dcl.mappings.transforms import normalise_steps
from autonomos.dcl.mappings.typing import FieldMapping, TransformStep
from autonomos.dcl.matching import FieldProposal
from autonomos.store.lookups import load_connection
from autonomos.errors import NotFound
from autonomos.store.tables import MappingProposal, Review

PROFILE_KEYS = ("type", "null_share", "distinct", "min", "max", "patterns", "top_values")


def connection_id(session: Session, tenant_id: uuid.UUID, connection: str) -> uuid.UUID:
    """A connection named by name or id."""
    return load_connection(session, tenant_id, connection).id


def source_schema(system: str, stream: str, profile: dict[str, Any]) -> dict[str, Any]:
    """The matcher's source schema from a stream profile: fields, types and sample values."""
    fields = [{"name": f["path"], "type": f["type"] if f["type"] != "unknown" else "string",
               "samples": [v["value"] for v in f.get("top_values", [])]}
              for f in profile.get("fields", [])]
    return {"system": system, "tables": [{"name": stream, "fields": fields}]}


def suggested_transform(profile: dict[str, Any] | None, target_type: str, target_field: str) -> list[TransformStep]:
    """Steps a field evidently needs for its target (epoch timestamps, email case)."""
    patterns = (profile or {}).get("patterns", {})
    if target_type in ("date", "datetime"):
        for name, unit in (("epoch_millis", "ms"), ("epoch_seconds", "s")):
            if patterns.get(name, 0) >= 0.9:
                return [{"op": "epoch", "unit": unit}]
    if target_field == "email" or patterns.get("email", 0) >= 0.9:
        return [{"op": "trim"}, {"op": "lower"}]
    return []


def store_proposals(session: Session, tenant_id: uuid.UUID, connection: uuid.UUID, stream: str,
                    proposals: Sequence[FieldProposal], *, agent_run_id: uuid.UUID, profile: dict[str, Any],
                    types: dict[tuple[str, str], str]) -> tuple[int, int]:
    """Store new proposals for undecided fields; (stored, skipped because already decided)."""
    decided = set(session.scalars(select(MappingProposal.source_field).where(
        MappingProposal.tenant_id == tenant_id, MappingProposal.connection_id == connection,
        MappingProposal.stream == stream, MappingProposal.status.in_(("accepted", "rejected")))))
    session.execute(update(MappingProposal).where(
        MappingProposal.tenant_id == tenant_id, MappingProposal.connection_id == connection,
        MappingProposal.stream == stream, MappingProposal.status == "open").values(status="superseded"))
    profiles = {f["path"]: {k: f.get(k) for k in PROFILE_KEYS} for f in profile.get("fields", [])}
    stored = 0
    for p in proposals:
        if p.source_field in decided:
            continue
        best = p.best
        suggestion = (suggested_transform(profiles.get(p.source_field), types.get((best.target_table, best.target_field),
                                                                                 "string"), best.target_field)
                      if best else [])
        session.add(MappingProposal(
            tenant_id=tenant_id, connection_id=connection, stream=stream, source_field=p.source_field,
            agent_run_id=agent_run_id, decision=p.decision, top_score=best.score if best else None,
            candidates=[{"entity": c.target_table, "field": c.target_field, "score": c.score, "signals": c.signals}
                        for c in p.candidates],
            evidence={"entity": p.entity, "reasons": list(p.reasons), "profile": profiles.get(p.source_field),
                      "samples": [v["value"] for v in (profiles.get(p.source_field) or {}).get("top_values") or []],
                      "suggested_transform": suggestion}))
        stored += 1
    session.flush()
    return stored, len(decided)


def get_proposal(session: Session, tenant_id: uuid.UUID, proposal_id: uuid.UUID) -> MappingProposal:
    found = session.scalar(select(MappingProposal).where(MappingProposal.tenant_id == tenant_id,
                                                         MappingProposal.id == proposal_id).with_for_update())
    if found is None:
        raise NotFound("no such proposal", tenant=tenant_id, proposal=proposal_id)
    return found


def decide(session: Session, tenant_id: uuid.UUID, proposal: MappingProposal, action: str, *, actor: str,
           entity: str | None = None, field: str | None = None, transform: Any = None,
           comment: str | None = None) -> Review:
    """Record one decision: approve (a candidate), reject, edit (another field and/or a transform)."""
    if proposal.status == "superseded":
        raise MappingError("the proposal was superseded by a newer matcher run", proposal=proposal.id)
    if action == "reject":
        proposal.status = "rejected"
        review = Review(tenant_id=tenant_id, proposal_id=proposal.id, actor=actor, action=action, comment=comment)
    else:
        if field is None:
            if not proposal.candidates:
                raise MappingError("the proposal has no candidate to approve", proposal=proposal.id)
            entity, field = proposal.candidates[0]["entity"], proposal.candidates[0]["field"]
        elif "." in field and entity is None:
            entity, field = field.split(".", 1)
        entity = entity or proposal.evidence.get("entity") or proposal.candidates[0]["entity"]
        steps = normalise_steps(transform) if transform is not None else proposal.evidence.get("suggested_transform")
        proposal.status = "accepted"
        review = Review(tenant_id=tenant_id, proposal_id=proposal.id, actor=actor, action=action,
                        canonical_entity=entity, canonical_field=field, transform=steps or None, comment=comment)
    session.add(review)
    session.flush()
    return review


def accepted_fields(session: Session, tenant_id: uuid.UUID, connection: uuid.UUID,
                    stream: str) -> dict[str, list[FieldMapping]]:
    """Canonical entity -> the fields accepted for it (each proposal's latest review)."""
    latest = (select(MappingProposal.source_field, Review.canonical_entity, Review.canonical_field, Review.transform)
              .join(Review, Review.proposal_id == MappingProposal.id)
              .where(MappingProposal.tenant_id == tenant_id, MappingProposal.connection_id == connection,
                     MappingProposal.stream == stream, MappingProposal.status == "accepted")
              .ext(distinct_on(MappingProposal.id))
              .order_by(MappingProposal.id, Review.created_at.desc(), Review.id))
    out: dict[str, list[FieldMapping]] = {}
    for source, entity, target, transform in session.execute(latest):
        entry: FieldMapping = {"source_field": source, "canonical_field": target}
        if transform:
            entry["transform"] = transform
        out.setdefault(entity, []).append(entry)
    return out
