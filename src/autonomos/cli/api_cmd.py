"""``aos serve`` (the HTTP API) and ``aos apikey`` (its keys)."""

from __future__ import annotations

import typer

from autonomos.cli.common import TENANT_OPTION_HELP, actor, console, resolve_tenant, runtime, table

apikey_app = typer.Typer(help="API keys for the HTTP API (a key is shown once, at creation).", no_args_is_help=True)


def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
          port: int = typer.Option(8400, help="TCP port."),
          workers: int = typer.Option(1, min=1, help="Server processes.")) -> None:
    """Run the HTTP API (FastAPI under uvicorn) on the configured or embedded engines."""
    import uvicorn

    with runtime() as rt:
        rt.database_url, rt.redis_url  # start the embedded servers once, before the workers
    uvicorn.run("autonomos.api.server:build", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False, proxy_headers=False)


@apikey_app.command("create")
def create(tenant: str = typer.Option(None, help=TENANT_OPTION_HELP),
           role: str = typer.Option("reader", help="admin | reviewer | reader"),
           name: str = typer.Option(None, help="A label for the key."),
           platform: bool = typer.Option(False, "--platform", help="A platform key: manages tenants only.")) -> None:
    """Create a key and print it once (only its prefix and an argon2 hash are stored)."""
    from autonomos.services import apikeys, platform_keys

    with runtime() as rt:
        if platform:
            info, key = platform_keys.create_platform_key(rt, name=name, actor=actor())
        else:
            if not tenant:
                raise typer.BadParameter("--tenant is required (or --platform)")
            info, key = apikeys.create_key(rt, resolve_tenant(rt, tenant), role, name=name, actor=actor())
    console.print(f"created {info.role} key {info.id} (prefix {info.prefix}); it is shown only now:")
    typer.echo(key)


@apikey_app.command("list")
def list_keys(tenant: str = typer.Option(None, help=TENANT_OPTION_HELP),
              platform: bool = typer.Option(False, "--platform", help="List platform keys.")) -> None:
    """The keys of a tenant (or the platform keys): prefix, role, revoked; never a secret."""
    from autonomos.services import apikeys, platform_keys

    with runtime() as rt:
        if platform:
            keys = platform_keys.list_platform_keys(rt)
        else:
            if not tenant:
                raise typer.BadParameter("--tenant is required (or --platform)")
            keys = apikeys.list_keys(rt, resolve_tenant(rt, tenant))
    console.print(table("API keys", ["id", "name", "prefix", "role", "created", "revoked"],
                        [[k.id, k.name, k.prefix, k.role, k.created_at, "yes" if k.revoked else ""] for k in keys]))


@apikey_app.command("revoke")
def revoke(key: str = typer.Argument(..., help="The key's id or prefix."),
           tenant: str = typer.Option(None, help=TENANT_OPTION_HELP),
           platform: bool = typer.Option(False, "--platform", help="Revoke a platform key.")) -> None:
    """Revoke a key; every server stops accepting it within seconds."""
    from autonomos.services import apikeys, platform_keys

    with runtime() as rt:
        if platform:
            info = platform_keys.revoke_platform_key(rt, key, actor=actor())
        else:
            if not tenant:
                raise typer.BadParameter("--tenant is required (or --platform)")
            info = apikeys.revoke_key(rt, resolve_tenant(rt, tenant), key, actor=actor())
    console.print(f"revoked key {info.id} (prefix {info.prefix})")
