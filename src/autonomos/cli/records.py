"""``aos events`` and ``aos records``: what consumers read."""

from __future__ import annotations

import json

import typer

from autonomos.cli.common import bad_input, console, runtime, table, uuid_argument
from autonomos.services import records as record_service
from autonomos.services.tenants import find_tenant

events_app = typer.Typer(help="Canonical events, read by resumable cursor.", no_args_is_help=True)
records_app = typer.Typer(help="Current canonical records and their unified views.", no_args_is_help=True)

TENANT = typer.Option(..., "--tenant", help="Tenant slug or id.")


@events_app.command("read")
def events_read(
    tenant: str = TENANT, entity: str = typer.Option(None, "--entity", help="Only this entity."),
    after: int = typer.Option(0, "--after", help="Cursor: the last seq already processed."),
    limit: int = typer.Option(100, "--limit", help="At most this many events."),
) -> None:
    """Print events after the cursor as JSON lines, then the next cursor (on stderr)."""
    with runtime() as rt:
        page = record_service.read_events(rt, find_tenant(rt, tenant).id, entity=entity, after=after, limit=limit)
    for event in page.events:
        typer.echo(json.dumps(event, default=str))
    typer.echo(f"next cursor: {page.next_cursor}", err=True)


@records_app.command("list")
def records_list(
    entity: str = typer.Argument(..., help="Canonical entity."), tenant: str = TENANT,
    connection: str = typer.Option(None, "--connection", help="Only this connection."),
    where: list[str] = typer.Option([], "--where", help="field=value (repeatable)."),
    limit: int = typer.Option(50, "--limit"),
) -> None:
    """Current records of an entity."""
    malformed = [w for w in where if "=" not in w or not w.split("=", 1)[0].strip()]
    if malformed:
        bad_input(f"--where {malformed[0]!r}: expected field=value")
    filters = dict(w.split("=", 1) for w in where)
    with runtime() as rt:
        rows = record_service.list_records(rt, find_tenant(rt, tenant).id, entity, connection=connection,
                                           where=filters, limit=limit)
        console.print(table(entity, ["id", "connection", "record key", "version", "data"], [
            [r["id"], r["connection"], r["record_key"], r["version"], json.dumps(r["data"])] for r in rows]))


@records_app.command("show")
def records_show(record: str = typer.Argument(..., help="Canonical record id."), tenant: str = TENANT) -> None:
    """One record: data, change history, and the unified view with the source of each value."""
    with runtime() as rt:
        found = record_service.show_record(rt, find_tenant(rt, tenant).id, uuid_argument(record, "record"))
    view = found.pop("unified")
    console.print_json(json.dumps(found, default=str))
    console.print(table(f"unified {view.entity} ({len(view.members)} records)", ["field", "value", "from"], [
        [k, json.dumps(v), f"{view.sources[k]['connection']}/{view.sources[k]['record_key']}"]
        for k, v in view.data.items()]))
