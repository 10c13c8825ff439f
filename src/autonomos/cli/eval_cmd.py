"""`aos eval GOLD.json...`: score the offline matcher on gold files and store the eval run."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autonomos.cli.common import actor, console, runtime, table
from autonomos.dcl.matching import SchemaFormatError
from autonomos.services import evaluation
from autonomos.services.tenants import ensure_tenant

EVAL_TENANT = "eval"
SCORES = ("pairs", "top1", "recall_at_3", "auto_precision", "auto_coverage", "unmapped_in_review")


def eval_command(
    gold: list[Path] = typer.Argument(..., help="Gold files (*.gold.json); each names its source and target schema."),
    tenant: str = typer.Option(EVAL_TENANT, "--tenant", help="Tenant the eval run is stored under (created if missing)."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as one JSON object."),
) -> None:
    """Score top-1, recall@3, auto precision and auto coverage per file and pooled; store an eval run."""
    with runtime() as rt:
        tenant_id = ensure_tenant(rt, tenant, actor=actor()).id
        try:
            report = evaluation.evaluate(rt, tenant_id, gold, actor=actor())
        except (OSError, SchemaFormatError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from error
    if as_json:
        typer.echo(json.dumps({"eval_run": str(report.run_id), "files": report.files, "pooled": report.pooled}))
        return
    rows = [[Path(name).name, *(result[k] for k in SCORES)] for name, result in report.files.items()]
    rows.append(["POOLED", *(report.pooled[k] for k in SCORES)])
    console.print(table(f"eval run {report.run_id}", ["gold file", *SCORES], rows))
