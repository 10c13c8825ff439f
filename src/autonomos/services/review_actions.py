"""Review decisions made in bulk or taken back: accept above a confidence, and undo.

Reviewers work fast (keyboard, bulk accept) and need a way back from a wrong key press. A
reopening puts a decided proposal back in the queue as if never decided: a ``reopen`` review
row and an audit row in one transaction; undoing a rejection also withdraws the rejected
example it fed to the matcher's memory. What was already published stays published: undo
changes the queue, and the next publish follows it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from autonomos.dcl.mappings import review as queue
from autonomos.dcl.mappings.exceptions import MappingError
from autonomos.dcl.vectors.sources import enqueue, make_ref
from autonomos.runtime import Runtime
from autonomos.services import audit
from autonomos.services.review import ProposalInfo, _decision, _info, _reviews
from autonomos.store.tables import MappingProposal, Review


def reopen(rt: Runtime, tenant_id: uuid.UUID, proposal_id: uuid.UUID, *, actor: str) -> ProposalInfo:
    """Put a decided (accepted or rejected) proposal back in the queue."""
    with rt.db.tenant(tenant_id) as session:
        row = queue.get_proposal(session, tenant_id, proposal_id)
        if row.status not in ("accepted", "rejected"):
            raise MappingError(f"only a decided proposal can be reopened (this one is {row.status})",
                               proposal=row.id)
        before = row.status
        row.status = "open"
        session.add(Review(tenant_id=tenant_id, proposal_id=row.id, actor=actor, action="reopen"))
        if before == "rejected":
            enqueue(session, tenant_id, "rejected_example", [make_ref(row.id, row.source_field)], "delete")
        audit.record(session, tenant_id, actor=actor, action="review.reopen", target_type="mapping_proposal",
                     target_id=row.id, before={"status": before},
                     after={"status": "open", "source_field": row.source_field})
        session.flush()
        return _info(row, _reviews(session, tenant_id, row.id))


def accept_above(rt: Runtime, tenant_id: uuid.UUID, connection: str, stream: str, threshold: float, *,
                 actor: str, entity: str | None = None) -> list[ProposalInfo]:
    """Approve, with its top candidate and suggested transform, every open proposal of a stream
    whose top score is at least ``threshold`` (and whose entity is ``entity``, if given); one
    transaction, one audit row per proposal."""
    if not 0.0 <= threshold <= 1.0:
        raise MappingError("the threshold is a confidence between 0 and 1", threshold=threshold)
    with rt.db.tenant(tenant_id) as session:
        query = select(MappingProposal).where(
            MappingProposal.tenant_id == tenant_id, MappingProposal.status == "open",
            MappingProposal.stream == stream, MappingProposal.top_score >= threshold,
            MappingProposal.connection_id == queue.connection_id(session, tenant_id, connection)
        ).order_by(MappingProposal.source_field).with_for_update()
        accepted = []
        for row in session.scalars(query):
            if entity and (row.candidates or [{}])[0].get("entity") != entity:
                continue
            rows = queue.decide(session, tenant_id, row, "approve", actor=actor)
            audit.record(session, tenant_id, actor=actor, action="review.approve", target_type="mapping_proposal",
                         target_id=row.id, before={"status": "open"},
                         after={"status": row.status, "source_field": row.source_field, **_decision(rows),
                                "score": row.top_score, "bulk_threshold": threshold})
            accepted.append(_info(row))
        return accepted
