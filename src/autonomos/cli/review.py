"""``aos propose`` and ``aos review``: run the matcher over a landed stream, decide its proposals."""

from __future__ import annotations

import json
import uuid

import typer

from autonomos.cli.common import actor, console, json_argument, runtime, table
from autonomos.services import review as review_service
from autonomos.services.tenants import find_tenant

review_app = typer.Typer(help="The mapping review queue: list, show and decide proposals.", no_args_is_help=True)

TENANT = typer.Option(..., "--tenant", help="Tenant slug or id.")
PROPOSAL = typer.Argument(..., help="Proposal id.")
COMMENT = typer.Option(None, "--comment", help="Why (kept with the review and in the audit log).")


def propose(
    connection: str = typer.Argument(..., help="Connection name or id."),
    stream: str = typer.Option(..., "--stream", help="Landed stream to match."),
    tenant: str = TENANT,
) -> None:
    """Profile a landed stream, match it to the current ontology and queue the proposals."""
    with runtime() as rt:
        result = review_service.propose_stream(rt, find_tenant(rt, tenant).id, connection, stream, actor=actor())
        tiers = ", ".join(f"{k}: {v}" for k, v in sorted(result.by_decision.items()))
        console.print(f"matcher run {result.agent_run_id}: {result.stored} proposals queued ({tiers}); "
                      f"{result.already_decided} fields already decided")


def _candidate(c: dict) -> str:
    return f"{c['entity']}.{c['field']} ({c['score']:.2f})"


@review_app.command("list")
def review_list(
    tenant: str = TENANT,
    connection: str = typer.Option(None, "--connection", help="Only this connection."),
    stream: str = typer.Option(None, "--stream", help="Only this stream."),
    status: str = typer.Option("open", "--status", help="open, accepted, rejected, or 'all'."),
) -> None:
    """The queue: each source field with its best candidates, score and tier."""
    with runtime() as rt:
        rows = review_service.list_queue(rt, find_tenant(rt, tenant).id, connection=connection, stream=stream,
                                         status=None if status == "all" else status)
        console.print(table("review queue", ["id", "stream", "source field", "tier", "status", "candidates"], [
            [p.id, p.stream, p.source_field, p.decision, p.status,
             ", ".join(_candidate(c) for c in p.candidates[:3])] for p in rows]))


@review_app.command("show")
def review_show(proposal: str = PROPOSAL, tenant: str = TENANT) -> None:
    """One proposal with its evidence: signals per candidate, profile, samples, reviews."""
    with runtime() as rt:
        p = review_service.show(rt, find_tenant(rt, tenant).id, uuid.UUID(proposal))
        console.print(f"{p.stream}.{p.source_field}: tier {p.decision}, status {p.status}")
        console.print(table("candidates", ["entity.field", "score", "signals"],
                            [[f"{c['entity']}.{c['field']}", c["score"], json.dumps(c["signals"])]
                             for c in p.candidates]))
        console.print_json(json.dumps({"evidence": p.evidence, "reviews": p.reviews}, default=str))


def _decide(action: str, proposal: str, tenant: str, **options) -> None:
    with runtime() as rt:
        p = review_service.review(rt, find_tenant(rt, tenant).id, uuid.UUID(proposal), action, actor=actor(),
                                  **options)
        console.print(f"{p.stream}.{p.source_field}: {p.status}")


@review_app.command("approve")
def review_approve(proposal: str = PROPOSAL, tenant: str = TENANT, comment: str = COMMENT) -> None:
    """Accept the top candidate (with the transform the evidence suggests, if any)."""
    _decide("approve", proposal, tenant, comment=comment)


@review_app.command("reject")
def review_reject(proposal: str = PROPOSAL, tenant: str = TENANT, comment: str = COMMENT) -> None:
    """Map this source field to nothing."""
    _decide("reject", proposal, tenant, comment=comment)


@review_app.command("edit")
def review_edit(
    proposal: str = PROPOSAL, tenant: str = TENANT,
    field: str = typer.Option(None, "--field", help="Canonical field, as field or entity.field (default: the top one)."),
    transform: str = typer.Option(None, "--transform", help='Transform JSON (a step or a list), inline or @file, '
                                                            'e.g. \'{"op": "epoch", "unit": "ms"}\'.'),
    comment: str = COMMENT,
) -> None:
    """Accept with another canonical field and/or a transform."""
    steps = None
    if transform is not None:
        steps = json.loads(transform) if not transform.startswith("@") else json_argument(transform)
    _decide("edit", proposal, tenant, field=field, transform=steps, comment=comment)


@review_app.command("accept-auto")
def review_accept_auto(
    connection: str = typer.Argument(..., help="Connection name or id."), tenant: str = TENANT,
    stream: str = typer.Option(None, "--stream", help="Only this stream."),
) -> None:
    """Accept every open proposal the matcher tiered ``auto``."""
    with runtime() as rt:
        accepted = review_service.accept_auto(rt, find_tenant(rt, tenant).id, connection, stream, actor=actor())
        for p in accepted:
            console.print(f"accepted {p.stream}.{p.source_field} -> {_candidate(p.candidates[0])}")
        console.print(f"{len(accepted)} auto proposals accepted")
