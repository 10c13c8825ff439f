"""``aos vectors``: the vector store's status, a rebuild from Postgres, and draining the outbox."""

from __future__ import annotations

import typer

from autonomos.cli.common import actor, console, runtime, table
from autonomos.services import vectors as vector_service
from autonomos.services.tenants import find_tenant

vectors_app = typer.Typer(help="The vector store (a rebuildable mirror of Postgres).", no_args_is_help=True)


@vectors_app.command("status")
def vectors_status() -> None:
    """Vectors stored and outbox rows pending (and failed) per tenant."""
    with runtime() as rt:
        rows = vector_service.status(rt)
        console.print(table(f"vectors ({rt.settings.vector_store})", ["tenant", "vectors", "pending", "failed"],
                            [[s.tenant, s.vectors, s.pending, s.failed] for s in rows]))


@vectors_app.command("rebuild")
def vectors_rebuild(tenant: str = typer.Option(None, "--tenant", help="Tenant slug or id (default: every tenant).")
                    ) -> None:
    """Wipe the vectors and re-embed everything from Postgres."""
    with runtime() as rt:
        tenant_id = find_tenant(rt, tenant).id if tenant else None
        report = vector_service.rebuild(rt, tenant_id, actor=actor())
        console.print(f"rebuilt {report.tenants} tenant(s): {report.enqueued} items enqueued, "
                      f"{report.drain.upserted} embedded, {report.drain.failed} failed")


@vectors_app.command("drain")
def vectors_drain() -> None:
    """Embed what the outbox holds now (the background job, run once)."""
    with runtime() as rt:
        report = vector_service.drain_outbox(rt)
        console.print(f"processed {report.processed}: {report.upserted} embedded, {report.deleted} deleted, "
                      f"{report.failed} failed")
