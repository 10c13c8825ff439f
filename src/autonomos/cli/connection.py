"""``aos connection``: a tenant's connections. Credentials are write-only."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from autonomos.cli.common import TENANT_OPTION_HELP, actor, console, json_argument, resolve_tenant, runtime, table
from autonomos.services import connections as service
from autonomos.services import drift as drift_service

connection_app = typer.Typer(help="Create, inspect, test and change a tenant's connections.", no_args_is_help=True)

TENANT = typer.Option(..., "--tenant", "-t", help=TENANT_OPTION_HELP)
CREDENTIALS_HELP = "Credentials as JSON or @file.json (stored encrypted, never shown again)."


@connection_app.command("create")
def create(name: str, provider: str = typer.Option(..., "--provider", "-p"), tenant: str = TENANT,
           config: str = typer.Option("{}", "--config", "-c", help="Config as JSON or @file.json."),
           credentials: str = typer.Option(None, "--credentials", help=CREDENTIALS_HELP),
           schedule: str = typer.Option(None, "--schedule", help="'every 15m' or a cron expression.")) -> None:
    """Create a connection."""
    with runtime() as rt:
        info = service.create_connection(rt, resolve_tenant(rt, tenant), provider=provider, name=name,
                                         config=json_argument(config, "--config") or {},
                                         credentials=json_argument(credentials, "--credentials"),
                                         schedule=schedule, actor=actor())
        console.print(f"created connection {info.name} ({info.id})")


@connection_app.command("list")
def list_(tenant: str = TENANT) -> None:
    """List connections."""
    with runtime() as rt:
        rows = service.list_connections(rt, resolve_tenant(rt, tenant))
        console.print(table("connections", ["name", "provider", "id", "schedule", "credentials", "status"],
                            [[c.name, c.provider, c.id, c.schedule or "-", "set" if c.has_credentials else "-",
                              c.status] for c in rows]))


@connection_app.command("show")
def show(name: str, tenant: str = TENANT) -> None:
    """Show a connection's config (credentials are only reported as set or not)."""
    with runtime() as rt:
        tenant_id = resolve_tenant(rt, tenant)
        info = service.get_connection(rt, tenant_id, name)
        console.print_json(json.dumps({**info.__dict__, "credentials": "set" if info.has_credentials else None,
                                       "stream_drift_policies": drift_service.stream_policies(rt, tenant_id, name),
                                       "held_streams": drift_service.held_everywhere(rt, tenant_id, name).get(
                                           info.name, [])}, default=str))


@connection_app.command("test")
def test(name: str, tenant: str = TENANT) -> None:
    """Check that the connection can reach its source."""
    with runtime() as rt:
        result = service.test_connection(rt, resolve_tenant(rt, tenant), name)
        console.print(("[green]ok[/green] " if result.ok else "[red]failed[/red] ") + escape(result.message))
        if not result.ok:
            raise typer.Exit(1)


@connection_app.command("update")
def update(name: str, tenant: str = TENANT,
           config: str = typer.Option(None, "--config", "-c", help="New config as JSON or @file.json."),
           credentials: str = typer.Option(None, "--credentials", help=CREDENTIALS_HELP),
           schedule: str = typer.Option(None, "--schedule"),
           no_schedule: bool = typer.Option(False, "--no-schedule", help="Remove the schedule."),
           status: str = typer.Option(None, "--status", help="active or disabled."),
           drift_policy: str = typer.Option(None, "--drift-policy", help="propagate, hold or ignore.")) -> None:
    """Change config, credentials, schedule, status or drift policy."""
    with runtime() as rt:
        tenant_id = resolve_tenant(rt, tenant)
        if credentials is not None:
            service.set_credentials(rt, tenant_id, name, json_argument(credentials, "--credentials"), actor=actor())
        info = service.update_connection(rt, tenant_id, name, config=json_argument(config, "--config"), schedule=schedule,
                                         clear_schedule=no_schedule, status=status, actor=actor())
        if drift_policy is not None:
            drift_service.set_policy(rt, tenant_id, name, drift_policy, actor=actor())
        console.print(f"updated connection {info.name}")


@connection_app.command("delete")
def delete(name: str, tenant: str = TENANT, yes: bool = typer.Option(False, "--yes")) -> None:
    """Delete a connection and everything landed from it."""
    if not yes:
        typer.confirm(f"Delete connection {name} and its landed records?", abort=True)
    with runtime() as rt:
        service.delete_connection(rt, resolve_tenant(rt, tenant), name, actor=actor())
        console.print(f"deleted connection {name}")
