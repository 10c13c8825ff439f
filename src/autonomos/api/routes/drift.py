"""Schema drift: the events the syncs detected (list, show with samples and evidence) and the
reviewer's decisions over ``services.drift``: accept (a proposed repair is published), reject,
and mute or unmute an event's kind on its stream. Accepting or rejecting the last open breaking
event of a held stream releases it and applies what landed meanwhile. A connection's drift
policy is set with ``PATCH /connections/{id}``."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request

from autonomos.api import idempotency
from autonomos.api.deps import RT, Caller, Cursor, Limit, ReaderTenant, ReviewerTenant
from autonomos.api.models import DriftEvent, DriftMutes, Page
from autonomos.api.pagination import encode, keyed
from autonomos.services import drift
from autonomos.services.drift import EventInfo

router = APIRouter(prefix="/drift-events", tags=["drift"])

HIDDEN = ("after_stats",)
"""Details left out of the single event, as ``aos drift show`` leaves them out (profile statistics)."""


def view(info: EventInfo, *, full: bool = False) -> dict[str, Any]:
    out = asdict(info)
    details = out.pop("details")
    out["before"], out["after"] = details.get("before"), details.get("after")
    out["details"] = {k: v for k, v in details.items() if k not in HIDDEN} if full else None
    return out


@router.get("", response_model=Page[DriftEvent])
def list_events(rt: RT, tenant: ReaderTenant, connection: str | None = Query(default=None, max_length=200),
                stream: str | None = Query(default=None, max_length=500),
                status: str | None = Query(default=None, max_length=16,
                                           description="open, accepted, rejected, muted, repaired; empty: all."),
                cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Detected schema changes, newest first (one check's events by kind and field), with before and after."""
    rows = drift.list_events(rt, tenant, connection=connection, stream=stream, status=status,
                             after=keyed(cursor, 4), limit=limit + 1)
    chunk, more = rows[:limit], len(rows) > limit
    last = chunk[-1] if chunk else None
    return {"items": [view(e) for e in chunk],
            "next_cursor": encode([last.detected_at.isoformat(), last.kind, last.field, str(last.id)])
            if more and last else None}


@router.get("/{drift_event_id}", response_model=DriftEvent)
def show_event(drift_event_id: uuid.UUID, rt: RT, tenant: ReaderTenant) -> dict[str, Any]:
    """One event with its sample values and evidence, and the repair proposed or published."""
    return view(drift.get_event(rt, tenant, str(drift_event_id)), full=True)


def _decide(request: Request, rt, who, tenant: uuid.UUID, drift_event_id: uuid.UUID, decision: str):
    def work():
        return 200, view(drift.resolve_event(rt, tenant, str(drift_event_id), decision, actor=who.actor), full=True)

    return idempotency.run(request, rt, who, None, work)


@router.post("/{drift_event_id}/accept", response_model=DriftEvent)
def accept(drift_event_id: uuid.UUID, request: Request, rt: RT, who: Caller, tenant: ReviewerTenant):
    """The change is real: its proposed repair, if any, is published as new mapping versions and
    backfilled; a value change becomes the baseline (409 if the event is not open)."""
    return _decide(request, rt, who, tenant, drift_event_id, "accepted")


@router.post("/{drift_event_id}/reject", response_model=DriftEvent)
def reject(drift_event_id: uuid.UUID, request: Request, rt: RT, who: Caller, tenant: ReviewerTenant):
    """The change is a source error: the event is closed and its repair is not published (409 if not open)."""
    return _decide(request, rt, who, tenant, drift_event_id, "rejected")


def _mute(rt, who, tenant: uuid.UUID, drift_event_id: uuid.UUID, muted: bool) -> dict[str, Any]:
    info = drift.get_event(rt, tenant, str(drift_event_id))
    kinds = drift.mute(rt, tenant, str(info.connection_id), info.stream, info.kind, actor=who.actor, muted=muted)
    return {"connection_id": info.connection_id, "stream": info.stream, "muted_kinds": kinds}


@router.post("/{drift_event_id}/mute", response_model=DriftMutes)
def mute(drift_event_id: uuid.UUID, rt: RT, who: Caller, tenant: ReviewerTenant) -> dict[str, Any]:
    """From now on, record this event's kind on its stream as muted (never announced, never
    holding). The event itself stays as it is: accept or reject it."""
    return _mute(rt, who, tenant, drift_event_id, True)


@router.post("/{drift_event_id}/unmute", response_model=DriftMutes)
def unmute(drift_event_id: uuid.UUID, rt: RT, who: Caller, tenant: ReviewerTenant) -> dict[str, Any]:
    """Announce this event's kind on its stream again."""
    return _mute(rt, who, tenant, drift_event_id, False)
