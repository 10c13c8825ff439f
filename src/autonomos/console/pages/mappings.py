"""Mapping versions: every mapping with its versions, a side-by-side diff of two versions,
publishing the reviewed fields of a stream, and rolling back to an older version (admin)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from autonomos.console import session
from autonomos.console.app import render
from autonomos.errors import NotFound
from autonomos.services import connections, mappings, review

router = APIRouter()


def _grouped(rt, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    groups: dict[uuid.UUID, dict[str, Any]] = {}
    for v in mappings.list_versions(rt, tenant_id):
        group = groups.setdefault(v.mapping_id, {"connection": v.connection, "stream": v.stream, "entity": v.entity,
                                                  "mapping_id": v.mapping_id, "versions": []})
        group["versions"].append(v)
    return list(groups.values())


def _publishable(rt, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """Streams with accepted proposals, i.e. something a publish could take."""
    out = []
    for c in connections.list_connections(rt, tenant_id):
        streams: dict[str, int] = {}
        for p in review.list_queue(rt, tenant_id, connection=c.id, status="accepted"):
            streams[p.stream] = streams.get(p.stream, 0) + 1
        out += [{"connection": c.name, "connection_id": c.id, "stream": s, "accepted": n}
                for s, n in sorted(streams.items())]
    return out


@router.get("/mappings", include_in_schema=False)
async def list_page(request: Request, who: session.Viewer) -> Response:
    rt = request.app.state.rt
    groups = await run_in_threadpool(_grouped, rt, who.tenant_id)
    publishable = await run_in_threadpool(_publishable, rt, who.tenant_id)
    return render(request, "mappings.html", {"groups": groups, "publishable": publishable})


def _diff(rt, tenant_id: uuid.UUID, mapping_id: uuid.UUID, old: int | None, new: int | None) -> dict[str, Any]:
    group = next((g for g in _grouped(rt, tenant_id) if g["mapping_id"] == mapping_id), None)
    if group is None:
        raise NotFound("no such mapping")
    by_number = {v.version: v for v in group["versions"]}
    new_v = by_number.get(new) if new else group["versions"][-1]
    old_v = by_number.get(old) if old else (group["versions"][-2] if len(group["versions"]) > 1 else new_v)
    if old_v is None or new_v is None:
        raise NotFound("no such mapping version")
    changes = mappings.diff_versions(rt, tenant_id, group["connection"], group["stream"], group["entity"],
                                     old_v.version, new_v.version)
    return {"group": group, "old": old_v, "new": new_v, "changes": changes}


@router.get("/mappings/{mapping_id}", include_in_schema=False)
async def diff_page(mapping_id: uuid.UUID, request: Request, who: session.Viewer,
                    old: Annotated[int | None, Query(ge=1)] = None,
                    new: Annotated[int | None, Query(ge=1)] = None) -> Response:
    data = await run_in_threadpool(_diff, request.app.state.rt, who.tenant_id, mapping_id, old, new)
    return render(request, "mapping_diff.html", data)


@router.post("/mappings-publish", include_in_schema=False)
async def publish(request: Request, who: session.Poster, connection: Annotated[str, Form(max_length=200)],
                  stream: Annotated[str, Form(max_length=500)]) -> Response:
    session.need(who, "admin")
    rt = request.app.state.rt
    results = await run_in_threadpool(lambda: mappings.publish_reviewed(rt, who.tenant_id, connection, stream,
                                                                        actor=who.actor))
    parts = []
    for r in results:
        applied = f", {r.applied.counts.changed} record(s) changed" if r.applied else ""
        parts.append(f"{r.version.entity} v{r.version.version}" + (" (new)" if r.created else " (unchanged)")
                     + applied + (f"; {r.problem}" if r.problem else ""))
    return session.back(f"{session.PATH}/mappings", f"Published {stream}: " + "; ".join(parts) + ".",
                        kind="error" if any(r.problem for r in results) else "ok")


@router.post("/mappings/{mapping_id}/rollback", include_in_schema=False)
async def rollback(mapping_id: uuid.UUID, request: Request, who: session.Poster,
                   version: Annotated[int, Form(ge=1)]) -> Response:
    session.need(who, "admin")
    rt = request.app.state.rt
    group = next((g for g in await run_in_threadpool(_grouped, rt, who.tenant_id) if g["mapping_id"] == mapping_id),
                 None)
    if group is None:
        raise NotFound("no such mapping")
    result = await run_in_threadpool(lambda: mappings.rollback(rt, who.tenant_id, group["connection"],
                                                               group["stream"], group["entity"], version,
                                                               actor=who.actor))
    return session.back(f"{session.PATH}/mappings",
                        f"Rolled {group['entity']} of {group['stream']} back to the content of v{version} "
                        f"(now v{result.version.version}).")
