"""A tenant's own review decisions refine the shipped `auto` calibration.

Each proposal a person approved or rejected is one observation of the matcher being right or
wrong at its first candidate's score; the shipped isotonic counts (fitted on the CRM dev set)
act as the prior, so a handful of decisions shifts the lower bound a little and many shift it a
lot. Automatic acceptances are not counted: nobody judged them.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from autonomos.dcl.matching.probability import Calibration, auto_calibration
from autonomos.runtime import Runtime
from autonomos.store.tables import MappingProposal, Review

JUDGED = frozenset({"approve", "reject", "edit"})


def tenant_decisions(rt: Runtime, tenant_id: uuid.UUID) -> list[tuple[float, bool]]:
    """(first candidate's score, was it right) for every proposal whose latest review is a person's verdict."""
    with rt.db.tenant(tenant_id) as session:
        rows = session.execute(
            select(MappingProposal.id, MappingProposal.candidates, Review.action, Review.canonical_entity,
                   Review.canonical_field)
            .join(Review, Review.proposal_id == MappingProposal.id)
            .where(MappingProposal.tenant_id == tenant_id)
            .order_by(MappingProposal.id, Review.created_at, Review.id)
        ).all()
    latest: dict[uuid.UUID, tuple] = {}
    for row in rows:
        latest[row.id] = row
    decisions: list[tuple[float, bool]] = []
    for row in latest.values():
        if row.action not in JUDGED or not row.candidates:
            continue
        top = row.candidates[0]
        chosen_top = (row.canonical_entity, row.canonical_field) in {(top.get("entity"), top.get("field")), (None, None)}
        decisions.append((float(top.get("score") or 0.0), row.action != "reject" and chosen_top))
    return sorted(decisions)


def tenant_calibration(rt: Runtime, tenant_id: uuid.UUID) -> Calibration:
    """The shipped `auto` calibration refined by this tenant's decisions."""
    return auto_calibration().refined(tenant_decisions(rt, tenant_id))
