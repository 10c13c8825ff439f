"""``aos tenant`` and ``aos keys``: operator commands (they use the maintenance path)."""

from __future__ import annotations

import typer

from autonomos.cli.common import actor, console, runtime, table
from autonomos.services import keys as keys_service
from autonomos.services import tenants as tenant_service

tenant_app = typer.Typer(help="Create, list and delete tenants.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage the key that encrypts connection credentials.", no_args_is_help=True)


@tenant_app.command("create")
def tenant_create(slug: str, name: str = typer.Option(None, help="Display name (defaults to the slug).")) -> None:
    """Create a tenant."""
    with runtime() as rt:
        t = tenant_service.create_tenant(rt, slug, name, actor=actor())
        console.print(f"created tenant {t.slug} ({t.id})")


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    with runtime() as rt:
        rows = tenant_service.list_tenants(rt)
        console.print(table("tenants", ["slug", "id", "name", "status"], [[t.slug, t.id, t.name, t.status] for t in rows]))


@tenant_app.command("delete")
def tenant_delete(slug: str, yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")) -> None:
    """Delete a tenant and purge every row, vector and Redis key of it."""
    if not yes:
        typer.confirm(f"Purge tenant {slug} and all of its data?", abort=True)
    with runtime() as rt:
        report = tenant_service.delete_tenant(rt, slug, actor=actor())
        console.print(f"deleted tenant {report.tenant.slug}: rows purged, {report.vectors} vectors, "
                      f"{report.redis_keys} Redis keys")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored credential under a new key, with no window where one is unreadable."""
    with runtime() as rt:
        report = keys_service.rotate_keys(rt, actor=actor())
        console.print(f"re-encrypted {report.reencrypted} credentials of {report.tenants} tenants "
                      f"under key {report.primary_key_id}")
