"""The review queue: matcher proposals stored per (connection, stream), and people's decisions.

A proposal is ``open`` until someone (or ``accept-auto`` for the ``auto`` tier) accepts or
rejects it. Every decision writes ``reviews`` rows in one transaction: an acceptance one row
per canonical field it settled on (with its transform; splitting one source field into
several fields is several rows, e.g. given name = part 0, family name = the rest), a
rejection one row naming the candidate it rejects (the top one unless a person names
another). What gets published is the latest decision of each accepted proposal: its rows
share ``created_at`` (the transaction's time). Each decision also queues the proposal's
``rejected_example`` in the embedding outbox: an upsert for a rejection (the matcher's
memory then demotes that target for near-identical fields), a delete for an acceptance
(withdrawing any earlier rejection). Approved pairs reach memory when published.
Running the matcher again leaves decided fields alone and supersedes the open proposals
it replaces. Functions run in the caller's tenant transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from autonomos.dcl.mappings.confusables import confusable_twins, describe_twin
from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.dcl.mappings.transforms import normalise_steps
from autonomos.dcl.mappings.typing import FieldMapping, TransformStep
from autonomos.dcl.matching import FieldProposal, Recollection
from autonomos.dcl.vectors.sources import enqueue, make_ref
from autonomos.errors import NotFound
from autonomos.store.lookups import load_connection
from autonomos.store.tables import MappingProposal, Review

PROFILE_KEYS = ("type", "null_share", "distinct", "min", "max", "patterns", "top_values")

Target = tuple[str, Any]
"""One canonical field a decision maps the source field to (``field`` or ``entity.field``) and its transform."""


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
                    types: dict[tuple[str, str], str],
                    recalled: dict[tuple[str, str], Sequence[Recollection]] | None = None,
                    memory: str = "off", supersede: bool = True) -> tuple[int, int]:
    """Store new proposals for undecided fields; (stored, skipped because already decided).

    ``recalled`` holds, per (table, field), the tenant's examples the matcher was shown: they
    are kept with the evidence (``examples``: approved, ``rejections``: rejected) as the
    matcher saw them, so a person sees why memory moved a score; ``memory`` says whether the
    matcher could ask (``on``, ``off``, ``unavailable: ...``).
    """
    decided = set(session.scalars(select(MappingProposal.source_field).where(
        MappingProposal.tenant_id == tenant_id, MappingProposal.connection_id == connection,
        MappingProposal.stream == stream, MappingProposal.status.in_(("accepted", "rejected")))))
    if supersede:  # a whole stream matched again replaces its open proposals; a few new fields add to them
        session.execute(update(MappingProposal).where(
            MappingProposal.tenant_id == tenant_id, MappingProposal.connection_id == connection,
            MappingProposal.stream == stream, MappingProposal.status == "open").values(status="superseded"))
    profiles = {f["path"]: {k: f.get(k) for k in PROFILE_KEYS} for f in profile.get("fields", [])}
    twins = confusable_twins([*profiles, *(p.source_field for p in proposals)])
    stored = 0
    for p in proposals:
        if p.source_field in decided:
            continue
        decision, reasons = p.decision, list(p.reasons)
        if p.source_field in twins:  # a person must look: never accepted automatically
            reasons.append("confusable name: " + describe_twin(p.source_field, twins[p.source_field]))
            decision = "review" if decision == "auto" else decision
        best = p.best
        suggestion = (suggested_transform(profiles.get(p.source_field), types.get((best.target_table, best.target_field),
                                                                                 "string"), best.target_field)
                      if best else [])
        session.add(MappingProposal(
            tenant_id=tenant_id, connection_id=connection, stream=stream, source_field=p.source_field,
            agent_run_id=agent_run_id, decision=decision, top_score=best.score if best else None,
            candidates=[{"entity": c.target_table, "field": c.target_field, "score": c.score, "signals": c.signals}
                        for c in p.candidates],
            evidence={"entity": p.entity, "reasons": reasons, "profile": profiles.get(p.source_field),
                      "samples": [v["value"] for v in (profiles.get(p.source_field) or {}).get("top_values") or []],
                      "suggested_transform": suggestion, "memory": memory,
                      **recollection_evidence((recalled or {}).get((p.source_table, p.source_field), ()))}))
        stored += 1
    session.flush()
    return stored, len(decided)


def recollection_evidence(recalled: Sequence[Recollection]) -> dict[str, list[dict[str, Any]]]:
    """The nearest approved and rejected examples of one field, best first, for its evidence."""
    def entry(r: Recollection) -> dict[str, Any]:
        return {"source_system": r.example_system, "object": r.example_object, "field": r.example_field,
                "entity": r.target_table, "canonical_field": r.target_field,
                "similarity": round(float(r.similarity), 4), "example": r.example}

    ranked = sorted(recalled, key=lambda r: -r.similarity)
    return {"examples": [entry(r) for r in ranked if not r.rejected],
            "rejections": [entry(r) for r in ranked if r.rejected]}


def split_targets(fields: Sequence[str], separator: str, then: Any = None) -> list[Target]:
    """One source field split into ``fields`` in order: each takes one part, the last all the rest.

    ``then`` (a step or a list) runs after the split on every part, e.g. a trim or a case change.
    """
    if len(fields) < 2:
        raise MappingError("a split needs two or more canonical fields")
    if not separator:
        raise MappingError("a split needs a separator")
    after = normalise_steps(then)
    return [(name, [{"op": "split", "separator": separator, "part": "rest" if i == len(fields) - 1 else i}, *after])
            for i, name in enumerate(fields)]


def get_proposal(session: Session, tenant_id: uuid.UUID, proposal_id: uuid.UUID) -> MappingProposal:
    found = session.scalar(select(MappingProposal).where(MappingProposal.tenant_id == tenant_id,
                                                         MappingProposal.id == proposal_id).with_for_update())
    if found is None:
        raise NotFound("no such proposal", tenant=tenant_id, proposal=proposal_id)
    return found


def decide(session: Session, tenant_id: uuid.UUID, proposal: MappingProposal, action: str, *, actor: str,
           entity: str | None = None, field: str | None = None, transform: Any = None,
           targets: Sequence[Target] | None = None, comment: str | None = None) -> list[Review]:
    """Record one decision: approve (a candidate), reject (a candidate), edit (other field(s) and/or a transform).

    ``targets`` (edit) maps the source field to several canonical fields at once, each with its
    own transform (``split_targets`` builds a split); otherwise ``field`` (default: the top
    candidate) and ``transform`` (default: the suggested one) name the single target. A
    rejection names the candidate it rejects in ``field`` (default: the top candidate).
    """
    if proposal.status == "superseded":
        raise MappingError("the proposal was superseded by a newer matcher run", proposal=proposal.id)
    if action == "reject":
        if targets:
            raise MappingError("a rejection names one candidate, not several targets", proposal=proposal.id)
        rejected = _resolve_field(proposal, entity, field) if field or proposal.candidates else (None, None)
        proposal.status = "rejected"
        reviews = [Review(tenant_id=tenant_id, proposal_id=proposal.id, actor=actor, action=action,
                          canonical_entity=rejected[0], canonical_field=rejected[1], comment=comment)]
    else:
        if targets and (field is not None or transform is not None):
            raise MappingError("give either targets or field/transform, not both", proposal=proposal.id)
        chosen = [(_resolve_field(proposal, entity, name), normalise_steps(steps)) for name, steps in targets] \
            if targets else [(_resolve_field(proposal, entity, field), normalise_steps(transform) if transform is not None
                              else proposal.evidence.get("suggested_transform"))]
        names = [f"{e}.{f}" for (e, f), _ in chosen]
        if len(set(names)) != len(names):
            raise MappingError(f"a canonical field is named twice: {', '.join(names)}", proposal=proposal.id)
        proposal.status = "accepted"
        reviews = [Review(tenant_id=tenant_id, proposal_id=proposal.id, actor=actor, action=action,
                          canonical_entity=e, canonical_field=f, transform=steps or None, comment=comment)
                   for (e, f), steps in chosen]
    session.add_all(reviews)
    ref = [make_ref(proposal.id, proposal.source_field)]
    enqueue(session, tenant_id, "rejected_example", ref, "upsert" if action == "reject" else "delete")
    session.flush()
    return reviews


def _resolve_field(proposal: MappingProposal, entity: str | None, field: str | None) -> tuple[str, str]:
    """(entity, field) a decision names: ``entity.field``, a field of the proposal's entity, or the top candidate."""
    if field is None:
        if not proposal.candidates:
            raise MappingError("the proposal has no candidate to approve", proposal=proposal.id)
        return proposal.candidates[0]["entity"], proposal.candidates[0]["field"]
    if "." in field and entity is None:
        entity, field = field.split(".", 1)
    entity = entity or proposal.evidence.get("entity") or (proposal.candidates[0]["entity"] if proposal.candidates
                                                          else None)
    if not entity:
        raise MappingError(f"name the entity of {field} as entity.field", proposal=proposal.id)
    return entity, field


def accepted_fields(session: Session, tenant_id: uuid.UUID, connection: uuid.UUID,
                    stream: str) -> dict[str, list[FieldMapping]]:
    """Canonical entity -> the fields accepted for it (every row of each proposal's latest decision)."""
    latest = (select(Review.proposal_id, func.max(Review.created_at).label("at"))
              .where(Review.tenant_id == tenant_id).group_by(Review.proposal_id).subquery())
    rows = (select(MappingProposal.source_field, Review.canonical_entity, Review.canonical_field, Review.transform)
            .join(Review, Review.proposal_id == MappingProposal.id)
            .join(latest, (latest.c.proposal_id == Review.proposal_id) & (latest.c.at == Review.created_at))
            .where(MappingProposal.tenant_id == tenant_id, MappingProposal.connection_id == connection,
                   MappingProposal.stream == stream, MappingProposal.status == "accepted",
                   # a drift repair is published whole from its drift event, never field by field here
                   MappingProposal.evidence["drift_event_id"].astext.is_(None))
            .order_by(MappingProposal.source_field, Review.canonical_field))
    out: dict[str, list[FieldMapping]] = {}
    for source, entity, target, transform in session.execute(rows):
        entry: FieldMapping = {"source_field": source, "canonical_field": target}
        if transform:
            entry["transform"] = transform
        out.setdefault(entity, []).append(entry)
    return out
