"""``aos propose`` and ``aos review``: run the matcher over a landed stream, decide its proposals."""

from __future__ import annotations

import json

import typer


from rich.markup import escape

from autonomos.cli.common import actor, console, parse_json, runtime, table, uuid_argument
from autonomos.dcl.mappings import describe
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


QUIET = {"context": 1.0, "memory": 0.0, "rejected": 0.0}
"""Signal values that say nothing (no table-context penalty, no example recalled), left out of the listing."""


def _signals(signals: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in signals.items() if QUIET.get(k) != v)


def _examples(title: str, rows: list[dict]) -> None:
    if not rows:
        console.print(f"{title}: none")
        return
    console.print(table(title, ["source system", "object", "field", "canonical field", "similarity"], [
        [r.get("source_system") or "", r.get("object") or "", r.get("field") or "",
         f"{r['entity']}.{r['canonical_field']}", f"{r['similarity']:.2f}"] for r in rows]))


@review_app.command("show")
def review_show(proposal: str = PROPOSAL, tenant: str = TENANT) -> None:
    """One proposal with its evidence: signals per candidate, nearest approved and rejected examples,
    profile, samples, reviews."""
    with runtime() as rt:
        p = review_service.show(rt, find_tenant(rt, tenant).id, uuid_argument(proposal, "proposal"))
    e = p.evidence
    console.print(f"{p.stream}.{p.source_field}: tier {p.decision}, status {p.status}"
                  + (f", table assigned to {e['entity']}" if e.get("entity") else ""))
    console.print(table("candidates", ["entity.field", "score", "signals"],
                        [[f"{c['entity']}.{c['field']}", f"{c['score']:.4f}", _signals(c["signals"])]
                         for c in p.candidates]))
    if e.get("reasons"):
        console.print("kept from auto: " + "; ".join(e["reasons"]))
    if e.get("memory", "on") != "on":
        console.print(f"nearest approved examples: memory was {escape(e['memory'])} when this was proposed")
    elif "examples" in e:
        _examples("nearest approved examples", e["examples"])
    else:
        console.print("nearest approved examples: not recorded (proposed before memory was kept with proposals)")
    if e.get("rejections"):
        _examples("nearest rejected examples", e["rejections"])
    profile = e.get("profile") or {}
    facts = [[k, json.dumps(profile[k], default=str)] for k in ("type", "null_share", "distinct", "min", "max",
                                                                  "patterns") if profile.get(k) not in (None, {}, [])]
    facts.append(["samples", ", ".join(json.dumps(v, default=str) for v in e.get("samples") or [])])
    if e.get("suggested_transform"):
        facts.append(["suggested transform", json.dumps(e["suggested_transform"])])
    console.print(table("profile", ["", "value"], facts))
    if p.reviews:
        console.print(table("reviews", ["at", "actor", "action", "decision", "comment"], [
            [r["at"], r["actor"], r["action"], _review_target(p.source_field, r), r["comment"] or ""]
            for r in p.reviews]))


def _review_target(source_field: str, r: dict) -> str:
    if not r["field"]:
        return ""
    target = f"{r['entity']}.{r['field']}"
    if r["action"] == "reject":
        return f"{source_field} is not {target}"
    return describe({"source_field": source_field, "canonical_field": target,
                     **({"transform": r["transform"]} if r["transform"] else {})})


def _decide(action: str, proposal: str, tenant: str, **options) -> None:
    with runtime() as rt:
        p = review_service.review(rt, find_tenant(rt, tenant).id, uuid_argument(proposal, "proposal"), action, actor=actor(),
                                  **options)
    _print_decision(action, p)


def _print_decision(action: str, p: review_service.ProposalInfo) -> None:
    latest = [r for r in p.reviews if r["at"] == p.reviews[-1]["at"]] if p.reviews else []
    targets = ", ".join(f"{r['entity']}.{r['field']}" for r in latest if r["field"])
    verb = "not" if action == "reject" else "->"
    console.print(f"{p.stream}.{p.source_field}: {p.status}" + (f" ({verb} {targets})" if targets else ""))


@review_app.command("approve")
def review_approve(proposal: str = PROPOSAL, tenant: str = TENANT, comment: str = COMMENT) -> None:
    """Accept the top candidate (with the transform the evidence suggests, if any)."""
    _decide("approve", proposal, tenant, comment=comment)


@review_app.command("reject")
def review_reject(
    proposal: str = PROPOSAL, tenant: str = TENANT,
    field: str = typer.Option(None, "--field", help="The candidate that is wrong, as field or entity.field "
                                                    "(default: the top one); memory demotes it for fields like "
                                                    "this one."),
    comment: str = COMMENT,
) -> None:
    """Map this source field to nothing; the rejected candidate becomes a negative example for the matcher."""
    _decide("reject", proposal, tenant, field=field, comment=comment)


def _steps(transform: str | None):
    if transform is None:
        return None
    return parse_json(transform, "--transform")


@review_app.command("edit")
def review_edit(
    proposal: str = PROPOSAL, tenant: str = TENANT,
    field: list[str] = typer.Option(None, "--field", help="Canonical field, as field or entity.field (default: the "
                                                          "top one). Repeat it with --split to map one source field "
                                                          "to several."),
    split: str = typer.Option(None, "--split", help="Split the source field on this separator into the --field "
                                                    "targets, in order: each takes one part, the last takes the rest "
                                                    "(e.g. --split ' ' --field contact.first_name "
                                                    "--field contact.last_name)."),
    transform: str = typer.Option(None, "--transform", help='Transform JSON (a step or a list), inline or @file, '
                                                            'e.g. \'{"op": "epoch", "unit": "ms"}\'; with --split, '
                                                            'it runs on every part after the split.'),
    comment: str = COMMENT,
) -> None:
    """Accept with another canonical field and/or a transform, or split the field into several."""
    steps = _steps(transform)
    fields = list(field or [])
    if split is not None:
        if len(fields) < 2:
            raise typer.BadParameter("--split needs two or more --field targets, in the order of the parts")
        with runtime() as rt:
            p = review_service.split(rt, find_tenant(rt, tenant).id, uuid_argument(proposal, "proposal"), fields, split,
                                     actor=actor(), then=steps, comment=comment)
        _print_decision("edit", p)
    elif len(fields) > 1:
        raise typer.BadParameter("several --field targets need --split (how the source field is divided)")
    else:
        _decide("edit", proposal, tenant, field=fields[0] if fields else None, transform=steps, comment=comment)


@review_app.command("accept-auto")
def review_accept_auto(
    connection: str = typer.Argument(..., help="Connection name or id."), tenant: str = TENANT,
    stream: str = typer.Option(None, "--stream", help="Only this stream."),
) -> None:
    """Accept every open proposal the matcher tiered ``auto``."""
    with runtime() as rt:
        accepted = review_service.accept_auto(rt, find_tenant(rt, tenant).id, connection, stream, actor=actor())
    if accepted:
        console.print(table("accepted automatically", ["stream", "source field", "canonical field", "score"], [
            [p.stream, p.source_field, f"{p.candidates[0]['entity']}.{p.candidates[0]['field']}",
             f"{p.candidates[0]['score']:.2f}"] for p in accepted]))
    console.print(f"{len(accepted)} auto proposals accepted")
