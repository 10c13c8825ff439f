"""``aos mapping``: publish, diff, roll back and list mapping versions."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from autonomos.cli.common import actor, console, err_console, parse_json, runtime, table
from autonomos.dcl.mappings import describe
from autonomos.services import mappings as mapping_service
from autonomos.services.tenants import find_tenant

mapping_app = typer.Typer(help="Mapping versions: publish (with backfill), diff, rollback, list.",
                          no_args_is_help=True)

TENANT = typer.Option(..., "--tenant", help="Tenant slug or id.")
CONNECTION = typer.Argument(..., help="Connection name or id.")
STREAM = typer.Option(..., "--stream", help="Stream.")
ENTITY = typer.Option(..., "--entity", help="Canonical entity.")


def _print_result(result: mapping_service.PublishResult) -> None:
    v = result.version
    state = "published" if result.created else "unchanged, still"
    console.print(f"{v.connection}/{v.stream} -> {v.entity}: {state} version {v.version}")
    if result.applied is not None:
        what = "backfill" if result.created else "unfinished backfill resumed"
        console.print(f"  {what}: {result.applied.counts.as_dict()} ({result.applied.status})")
    if result.problem:
        err_console.print(f"[red]error:[/red] {escape(result.problem)}", soft_wrap=True)


@mapping_app.command("publish")
def mapping_publish(
    connection: str = CONNECTION, stream: str = STREAM, tenant: str = TENANT,
    entity: str = typer.Option(None, "--entity", help="With --fields: the canonical entity."),
    fields: Path = typer.Option(None, "--fields", exists=True, dir_okay=False,
                                help="JSON list of {source_field, canonical_field, transform}; default: the "
                                     "accepted proposals of the review queue."),
) -> None:
    """Publish the next version(s) and backfill them from landed records."""
    with runtime() as rt:
        t = find_tenant(rt, tenant).id
        if fields is not None:
            if entity is None:
                raise typer.BadParameter("--fields needs --entity")
            results = [mapping_service.publish_fields(rt, t, connection, stream, entity,
                                                      parse_json(f"@{fields}", "--fields"), actor=actor())]
        else:
            results = mapping_service.publish_reviewed(rt, t, connection, stream, actor=actor())
        for result in results:
            _print_result(result)
        if any(r.problem for r in results):
            raise typer.Exit(1)


@mapping_app.command("diff")
def mapping_diff(
    connection: str = CONNECTION, stream: str = STREAM, entity: str = ENTITY, tenant: str = TENANT,
    old: int = typer.Option(..., "--from", help="Older version."),
    new: int = typer.Option(None, "--to", help="Newer version (default: current)."),
) -> None:
    """Field by field, what changed between two versions."""
    with runtime() as rt:
        changes = mapping_service.diff_versions(rt, find_tenant(rt, tenant).id, connection, stream, entity, old, new)
        console.print(table("diff", ["field", "change", "before", "after"], [
            [c["canonical_field"], c["change"], describe(c["before"]) if c["before"] else "",
             describe(c["after"]) if c["after"] else ""] for c in changes]))


@mapping_app.command("rollback")
def mapping_rollback(
    connection: str = CONNECTION, stream: str = STREAM, entity: str = ENTITY, tenant: str = TENANT,
    to: int = typer.Option(..., "--to", help="Version whose content becomes current again."),
) -> None:
    """Publish a new version with an older version's content, and backfill it."""
    with runtime() as rt:
        _print_result(mapping_service.rollback(rt, find_tenant(rt, tenant).id, connection, stream, entity, to,
                                               actor=actor()))


@mapping_app.command("list")
def mapping_list(
    tenant: str = TENANT, connection: str = typer.Option(None, "--connection", help="Only this connection."),
    show_fields: bool = typer.Option(False, "--fields", help="Show each version's fields."),
) -> None:
    """Every mapping version, oldest first per mapping."""
    with runtime() as rt:
        rows = mapping_service.list_versions(rt, find_tenant(rt, tenant).id, connection)
        console.print(table("mapping versions", ["connection", "stream", "entity", "version", "fields", "by", "at"], [
            [v.connection, v.stream, v.entity, v.version,
             "\n".join(describe(f) for f in v.fields) if show_fields else len(v.fields), v.published_by,
             f"{v.published_at:%Y-%m-%d %H:%M}" + (" (rollback)" if v.rollback_of else "")] for v in rows]))
