"""Mapping proposals: list, show with evidence, approve, reject (reviewer role)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query

from autonomos.api.deps import RT, Caller, Cursor, Limit, ReaderTenant, ReviewerTenant
from autonomos.api.pagination import page_of
from autonomos.api.schemas import ProposalDecision
from autonomos.services import review

router = APIRouter(prefix="/proposals", tags=["review"])


@router.get("")
def list_proposals(rt: RT, tenant: ReaderTenant, connection: str | None = None, stream: str | None = None,
                   status: str | None = Query(default="open", max_length=16), cursor: Cursor = None,
                   limit: Limit = 100) -> dict[str, Any]:
    found = review.list_queue(rt, tenant, connection=connection, stream=stream, status=status)
    page = page_of(found, lambda p: (p.stream, p.source_field, str(p.id)), cursor, limit)
    return {**page, "items": [asdict(p) for p in page["items"]]}


@router.get("/{proposal_id}")
def show_proposal(proposal_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    return asdict(review.show(rt, tenant, proposal_id))


@router.post("/{proposal_id}/approve")
def approve(proposal_id: uuid.UUID, body: ProposalDecision, rt: RT, who: Caller,
            tenant: ReviewerTenant) -> dict[str, Any]:
    return asdict(review.review(rt, tenant, proposal_id, "approve", actor=who.actor, field=body.field,
                                comment=body.comment))


@router.post("/{proposal_id}/reject")
def reject(proposal_id: uuid.UUID, body: ProposalDecision, rt: RT, who: Caller,
           tenant: ReviewerTenant) -> dict[str, Any]:
    return asdict(review.review(rt, tenant, proposal_id, "reject", actor=who.actor, field=body.field,
                                comment=body.comment))
