"""Mapping proposals: list, show with evidence, and the reviewer's decisions (approve, reject,
edit, split, accept-auto); each decision is audited in its transaction."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request

from autonomos.api import idempotency
from autonomos.api.deps import RT, Caller, Cursor, Limit, ReaderTenant, ReviewerTenant
from autonomos.api.models import Page, Proposal
from autonomos.api.pagination import page_of
from autonomos.api.schemas import AcceptAuto, ProposalDecision, ProposalEdit, ProposalSplit
from autonomos.services import review

router = APIRouter(prefix="/proposals", tags=["review"])


@router.get("", response_model=Page[Proposal])
def list_proposals(rt: RT, tenant: ReaderTenant, connection: str | None = None, stream: str | None = None,
                   status: str | None = Query(default="open", max_length=16,
                                              description="open, accepted, rejected; empty: all."),
                   cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    found = review.list_queue(rt, tenant, connection=connection, stream=stream, status=status)
    page = page_of(found, lambda p: (p.stream, p.source_field, str(p.id)), cursor, limit)
    return {**page, "items": [asdict(p) for p in page["items"]]}


@router.post("/accept-auto", response_model=Page[Proposal])
def accept_auto(body: AcceptAuto, request: Request, rt: RT, who: Caller, tenant: ReviewerTenant):
    """Accept every open ``auto``-tier proposal of a connection (or one stream) with its top candidate."""

    def work():
        accepted = review.accept_auto(rt, tenant, body.connection, body.stream, actor=who.actor)
        return 200, {"items": [asdict(p) for p in accepted], "next_cursor": None}

    return idempotency.run(request, rt, who, body.model_dump(), work)


@router.get("/{proposal_id}", response_model=Proposal)
def show_proposal(proposal_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    """One proposal with its evidence (signals per candidate, examples, profile, samples) and reviews."""
    return asdict(review.show(rt, tenant, proposal_id))


@router.post("/{proposal_id}/approve", response_model=Proposal)
def approve(proposal_id: uuid.UUID, body: ProposalDecision, rt: RT, who: Caller,
            tenant: ReviewerTenant) -> dict[str, Any]:
    return asdict(review.review(rt, tenant, proposal_id, "approve", actor=who.actor, field=body.field,
                                comment=body.comment))


@router.post("/{proposal_id}/reject", response_model=Proposal)
def reject(proposal_id: uuid.UUID, body: ProposalDecision, rt: RT, who: Caller,
           tenant: ReviewerTenant) -> dict[str, Any]:
    return asdict(review.review(rt, tenant, proposal_id, "reject", actor=who.actor, field=body.field,
                                comment=body.comment))


@router.post("/{proposal_id}/edit", response_model=Proposal)
def edit(proposal_id: uuid.UUID, body: ProposalEdit, rt: RT, who: Caller, tenant: ReviewerTenant) -> dict[str, Any]:
    """Accept with another canonical field and/or a transform."""
    return asdict(review.review(rt, tenant, proposal_id, "edit", actor=who.actor, field=body.field,
                                transform=body.transform, comment=body.comment))


@router.post("/{proposal_id}/split", response_model=Proposal)
def split(proposal_id: uuid.UUID, body: ProposalSplit, rt: RT, who: Caller, tenant: ReviewerTenant) -> dict[str, Any]:
    """Accept by splitting the source field on ``separator`` into ``fields``, in order."""
    return asdict(review.split(rt, tenant, proposal_id, body.fields, body.separator, actor=who.actor,
                               then=body.transform, comment=body.comment))
