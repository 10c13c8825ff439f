"""`aos match`: propose field mappings between a source schema file and a target schema file.

Stateless: reads two JSON files, prints proposals, writes nothing, talks to no service.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from autonomos.dcl.matching import SchemaFormatError, load_json, match_schemas
from autonomos.dcl.matching.embedders import DEFAULT_EMBEDDER, EMBEDDERS, EmbedderError


def match(
    source: Path = typer.Option(..., "--source", help="Source system schema (*.schema.json)."),
    target: Path = typer.Option(..., "--target", help="Canonical target schema (*.schema.json)."),
    top_k: int = typer.Option(5, "--top-k", min=1, help="Candidates to list per source field."),
    as_json: bool = typer.Option(False, "--json", help="Print the mappings as JSON (benchmark format)."),
    embedder: str = typer.Option(DEFAULT_EMBEDDER, "--embedder", help=f"Text embedder: {', '.join(sorted(EMBEDDERS))}."),
) -> None:
    """Rank target fields for every source field and decide auto / review / reject."""
    try:
        result = match_schemas(load_json(source), load_json(target), top_k=top_k, embedder=embedder)
    except (OSError, SchemaFormatError, EmbedderError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    _print_table(result)


def _print_table(result: dict) -> None:
    """Human view: one row per source field with its best candidate and decision."""
    table = Table(title="Field mapping proposals")
    for column in ("source", "best candidate", "score", "decision"):
        table.add_column(column)
    colours = {"auto": "green", "review": "yellow", "reject": "red"}
    for mapping in result["mappings"]:
        best = mapping["candidates"][0] if mapping["candidates"] else None
        table.add_row(
            f"{mapping['source_table']}.{mapping['source_field']}",
            f"{best['target_table']}.{best['target_field']}" if best else "-",
            f"{best['score']:.2f}" if best else "-",
            f"[{colours[mapping['decision']]}]{mapping['decision']}[/]",
        )
    Console().print(table)
