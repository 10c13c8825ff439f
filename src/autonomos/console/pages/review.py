"""The review queue: per stream, each source field with its candidates, confidence, evidence
and a preview of the canonical values; approve, reject, choose another target, bulk accept
above a confidence, undo the last decision. Keyboard: j/k move, a/r/e decide, u undoes."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from autonomos.console import session
from autonomos.console.app import render
from autonomos.console.errors import ConsoleForbidden
from autonomos.dcl.mappings.review import split_targets
from autonomos.errors import InvalidInput
from autonomos.services import connections, overview, preview, review, review_actions
from autonomos.services.console_sessions import SessionInfo

router = APIRouter()
PREVIEWED = 15
"""Fields of a page whose preview is computed with the page (the rest: on their own page)."""
TIERS = ("auto", "review", "reject")


def _queue(rt, who: SessionInfo, connection: str | None, stream: str | None, tier: str | None,
           min_score: float | None, entity: str | None, status: str) -> dict[str, Any]:
    streams: list[dict[str, Any]] = []
    for c in connections.list_connections(rt, who.tenant_id):
        counts: dict[str, dict[str, int]] = {}
        for p in review.list_queue(rt, who.tenant_id, connection=c.id, status=None):
            counts.setdefault(p.stream, {"open": 0, "accepted": 0, "rejected": 0})
            counts[p.stream][p.status] = counts[p.stream].get(p.status, 0) + 1
        streams += [{"connection": c.name, "connection_id": c.id, "stream": s, **n} for s, n in sorted(counts.items())]
    chosen = next((s for s in streams if s["connection"] == connection and s["stream"] == stream), None)
    if chosen is None and connection is None:
        chosen = next((s for s in streams if s["open"]), streams[0] if streams else None)
    items = []
    if chosen is not None:
        items = review.list_queue(rt, who.tenant_id, connection=chosen["connection_id"], stream=chosen["stream"],
                                  status=status or None)
        items = [p for p in items if (not tier or p.decision == tier)
                 and (min_score is None or (p.top_score or 0) >= min_score)
                 and (not entity or (p.candidates and p.candidates[0]["entity"] == entity))]
    previews = {}
    if items:
        wanted = [(p.id, None, None) for p in items[:PREVIEWED] if p.candidates and p.status == "open"]
        previews = preview.preview_fields(rt, who.tenant_id, wanted, limit=3) if wanted else {}
    entities = sorted({p.candidates[0]["entity"] for p in items if p.candidates})
    landed = [{"connection": s["connection"], "stream": s["label"]} for s in overview.lineage(rt, who.tenant_id).streams]
    return {"streams": streams, "chosen": chosen, "items": items, "previews": previews, "entities": entities,
            "landed": landed}


@router.get("/review", include_in_schema=False)
async def queue_page(request: Request, who: session.Viewer, connection: str | None = None, stream: str | None = None,
                     tier: Annotated[str | None, Query(max_length=16)] = None,
                     min_score: Annotated[str | None, Query(max_length=8)] = None,
                     entity: Annotated[str | None, Query(max_length=64)] = None,
                     status: Annotated[str, Query(max_length=16)] = "open") -> Response:
    score = _score(min_score)
    data = await run_in_threadpool(_queue, request.app.state.rt, who, connection, stream, tier or None, score,
                                   entity or None, status)
    return render(request, "review.html", {**data, "filters": {"tier": tier or "", "min_score": min_score or "",
                                                              "entity": entity or "", "status": status},
                                           "tiers": TIERS})


def _score(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


@router.get("/review/{proposal_id}", include_in_schema=False)
async def proposal_page(proposal_id: uuid.UUID, request: Request, who: session.Viewer,
                        target: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    rt = request.app.state.rt
    item = await run_in_threadpool(review.show, rt, who.tenant_id, proposal_id)
    fields = await run_in_threadpool(preview.canonical_fields, rt, who.tenant_id)
    shown = target or (f"{item.candidates[0]['entity']}.{item.candidates[0]['field']}" if item.candidates else None)
    rows, problem = [], None
    if shown:
        try:
            rows = await run_in_threadpool(preview.preview_field, rt, who.tenant_id, proposal_id, shown)
        except Exception as exc:  # noqa: BLE001 - a bad target is shown, not raised
            problem = getattr(exc, "message", str(exc))
    return render(request, "proposal.html", {"p": item, "fields": fields, "target": shown, "preview": rows,
                                             "problem": problem})


def _back_to(referer: str | None) -> str:
    from urllib.parse import urlsplit

    url = urlsplit(referer or "")
    path = url.path if url.path.startswith(f"{session.PATH}/review") else f"{session.PATH}/review"
    return path + (f"?{url.query}" if url.query and path == f"{session.PATH}/review" else "")


def _transform(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput("the transform is not valid JSON (e.g. [{\"op\": \"trim\"}])") from None


@router.post("/review/{proposal_id}/split", include_in_schema=False)
async def split(proposal_id: uuid.UUID, request: Request, who: session.Poster,
                fields: Annotated[str, Form(max_length=1000)], separator: Annotated[str, Form(max_length=16)] = " ",
                back: Annotated[str, Form(max_length=500)] = "") -> Response:
    """One source field into several canonical fields: each takes one part, the last all the rest."""
    session.need(who, "reviewer")
    names = [f.strip() for f in fields.split(",") if f.strip()]
    rt = request.app.state.rt
    item = await run_in_threadpool(lambda: review.review(rt, who.tenant_id, proposal_id, "edit", actor=who.actor,
                                                         targets=split_targets(names, separator)))
    return session.back(_back_to(back or request.headers.get("referer")),
                        f"Split {item.source_field} into {', '.join(names)}.", undo=str(item.id))


@router.post("/review/{proposal_id}/{action}", include_in_schema=False)
async def decide(proposal_id: uuid.UUID, action: str, request: Request, who: session.Poster,
                 target: Annotated[str, Form(max_length=200)] = "",
                 transform: Annotated[str, Form(max_length=4000)] = "",
                 back: Annotated[str, Form(max_length=500)] = "") -> Response:
    session.need(who, "reviewer")
    rt = request.app.state.rt
    if action == "undo":
        item = await run_in_threadpool(lambda: review_actions.reopen(rt, who.tenant_id, proposal_id, actor=who.actor))
        return session.back(_back_to(back or request.headers.get("referer")), f"Reopened {item.source_field}.")
    if action not in ("approve", "reject", "edit"):
        raise ConsoleForbidden("unknown decision")
    steps = _transform(transform)
    verb = "edit" if action == "edit" or steps is not None else action
    item = await run_in_threadpool(lambda: review.review(rt, who.tenant_id, proposal_id, verb, actor=who.actor,
                                                         field=target.strip() or None, transform=steps))
    chosen = item.reviews[-1] if item.reviews else {}
    what = f"{chosen.get('entity')}.{chosen.get('field')}" if chosen.get("field") else "its top candidate"
    message = (f"Rejected {what} for {item.source_field}." if action == "reject"
               else f"Approved {item.source_field} \u2192 {what}.")
    return session.back(_back_to(back or request.headers.get("referer")), message, undo=str(item.id))


@router.post("/review-propose", include_in_schema=False)
async def propose(request: Request, who: session.Poster, connection: Annotated[str, Form(max_length=200)],
                  stream: Annotated[str, Form(max_length=500)]) -> Response:
    """Run the matcher over a landed stream: new proposals for its undecided fields."""
    session.need(who, "reviewer")
    rt = request.app.state.rt
    result = await run_in_threadpool(lambda: review.propose_stream(rt, who.tenant_id, connection, stream,
                                                                   actor=who.actor))
    tiers = ", ".join(f"{n} {tier}" for tier, n in sorted(result.by_decision.items())) or "none"
    return session.back(f"{session.PATH}/review?connection={quote(connection)}&stream={quote(stream)}",
                        f"The matcher proposed {result.stored} field(s) of {stream} ({tiers}).")


@router.post("/review-bulk", include_in_schema=False)
async def bulk(request: Request, who: session.Poster, connection: Annotated[str, Form(max_length=200)],
               stream: Annotated[str, Form(max_length=500)], threshold: Annotated[float, Form(ge=0, le=1)],
               entity: Annotated[str, Form(max_length=64)] = "") -> Response:
    session.need(who, "reviewer")
    rt = request.app.state.rt
    accepted = await run_in_threadpool(lambda: review_actions.accept_above(
        rt, who.tenant_id, connection, stream, threshold, actor=who.actor, entity=entity or None))
    return session.back(_back_to(request.headers.get("referer")),
                        f"Accepted {len(accepted)} field(s) of {stream} at confidence {threshold:.2f} or above.")
