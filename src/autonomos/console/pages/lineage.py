"""Lineage: sources -> streams -> canonical entities, drawn as an SVG graph with counts.

The layout is three columns computed here (no client-side drawing library): each node a
box at its column and row, each edge a curve labelled with its record count.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from autonomos.console import session
from autonomos.console.app import render
from autonomos.services import overview

router = APIRouter()
COLUMNS = (20, 330, 640)
BOX_W, BOX_H, ROW = 250, 44, 64


def layout(graph: overview.Lineage) -> dict[str, Any]:
    """Node boxes and edge curves for the template, in SVG user units."""
    nodes: dict[str, dict[str, Any]] = {}
    for column, group, kind in ((0, graph.sources, "source"), (1, graph.streams, "stream"),
                                (2, graph.entities, "entity")):
        for row, node in enumerate(group):
            sub = node.get("provider") or node.get("connection") or (f"{node['count']} records" if "count" in node
                                                                     else "")
            nodes[node["id"]] = {"x": COLUMNS[column], "y": 20 + row * ROW, "label": node["label"], "sub": sub,
                                 "kind": kind}
    edges = []
    for edge in graph.edges:
        a, b = nodes.get(edge["from"]), nodes.get(edge["to"])
        if a is None or b is None:
            continue
        x1, y1, x2, y2 = a["x"] + BOX_W, a["y"] + BOX_H / 2, b["x"], b["y"] + BOX_H / 2
        mid = (x1 + x2) / 2
        edges.append({"d": f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}", "count": edge["count"],
                      "lx": mid, "ly": (y1 + y2) / 2 - 4})
    rows = max([len(graph.sources), len(graph.streams), len(graph.entities), 1])
    names = {k: (f"{n['sub']} / {n['label']}" if n["kind"] == "stream" else n["label"]) for k, n in nodes.items()}
    table = [{"from": names.get(e["from"], "?"), "to": names.get(e["to"], "?"), "count": e["count"]}
             for e in graph.edges]
    return {"nodes": list(nodes.values()), "edges": edges, "table": table, "width": COLUMNS[2] + BOX_W + 20,
            "height": 40 + rows * ROW, "box_w": BOX_W, "box_h": BOX_H}


@router.get("/lineage", include_in_schema=False)
async def lineage_page(request: Request, who: session.Viewer) -> Response:
    graph = await run_in_threadpool(overview.lineage, request.app.state.rt, who.tenant_id)
    return render(request, "lineage.html", {"g": layout(graph), "graph": graph})
