"""``aos ontology``: import, export, list and show a tenant's canonical ontology."""

from __future__ import annotations

from pathlib import Path

import typer

from autonomos.cli.common import actor, console, runtime, table
from autonomos.dcl.ontology import DEFAULT_ONTOLOGY, dump, load_file
from autonomos.services import ontology as ontology_service
from autonomos.services.tenants import find_tenant

ontology_app = typer.Typer(help="The canonical ontology: versions, import, export, entities.", no_args_is_help=True)

TENANT = typer.Option(..., "--tenant", help="Tenant slug or id.")
NAME = typer.Option(DEFAULT_ONTOLOGY, "--name", help="Ontology name.")
VERSION = typer.Option(None, "--version", help="Version number (default: current).")


@ontology_app.command("import")
def ontology_import(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="YAML or JSON ontology file."),
    tenant: str = TENANT,
    extend: bool = typer.Option(False, "--extend", help="Add the file's entities and fields to the current version "
                                                        "instead of replacing it."),
) -> None:
    """Import a file as the next version (nothing happens when the content is unchanged)."""
    with runtime() as rt:
        document = load_file(path)
        t = find_tenant(rt, tenant)
        result = ontology_service.import_ontology(rt, t.id, document, extend=extend, actor=actor())
        v = result.version
        state = "created" if result.created else "unchanged, still"
        console.print(f"{v.name}: {state} version {v.version} (hash {v.content_hash[:12]})")


@ontology_app.command("export")
def ontology_export(
    tenant: str = TENANT, name: str = NAME, version: int = VERSION,
    fmt: str = typer.Option("yaml", "--format", help="yaml or json."),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
) -> None:
    """Write a version out in the import format."""
    if fmt not in ("yaml", "json"):
        raise typer.BadParameter("--format must be yaml or json")
    with runtime() as rt:
        found = ontology_service.ontology_version(rt, find_tenant(rt, tenant).id, name, version, actor=actor())
        text = dump(found.content, fmt)  # type: ignore[arg-type]
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {found.name} version {found.version} to {output}")
    else:
        typer.echo(text, nl=False)


@ontology_app.command("list")
def ontology_list(tenant: str = TENANT) -> None:
    """Every version of every ontology of the tenant."""
    with runtime() as rt:
        rows = ontology_service.list_ontologies(rt, find_tenant(rt, tenant).id, actor=actor())
        console.print(table("ontologies", ["name", "version", "entities", "fields", "hash", "by", "at"], [
            [v.name, v.version, len(v.content["tables"]), sum(len(t["fields"]) for t in v.content["tables"]),
             v.content_hash[:12], v.created_by, f"{v.created_at:%Y-%m-%d %H:%M}"] for v in rows]))


@ontology_app.command("show")
def ontology_show(
    entity: str = typer.Argument(None, help="Entity to show (default: list the entities)."),
    tenant: str = TENANT, name: str = NAME, version: int = VERSION,
) -> None:
    """An entity's fields at a version, or the entities (and the glossary) of a version."""
    with runtime() as rt:
        t = find_tenant(rt, tenant).id
        if entity is None:
            found = ontology_service.ontology_version(rt, t, name, version, actor=actor())
            console.print(table(f"{found.name} v{found.version}", ["entity", "fields", "description"],
                                [[e["name"], len(e["fields"]), e["description"]] for e in found.content["tables"]]))
            if found.content.get("glossary"):
                console.print(table("glossary", ["term", "meaning"], [[term, meaning] for term, meaning
                                                                     in found.content["glossary"].items()]))
            return
        found, spec = ontology_service.show_entity(rt, t, entity, name, version, actor=actor())
        console.print(table(f"{found.name} v{found.version}: {entity}", ["field", "type", "description"],
                            [[f["name"], f["type"], f["description"]] for f in spec["fields"]]))
