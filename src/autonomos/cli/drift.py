"""``aos drift``: schema changes the syncs detected, what they are, and what a person decides."""

from __future__ import annotations

import json

import typer

from autonomos.cli.common import TENANT_OPTION_HELP, actor, console, resolve_tenant, runtime, table
from autonomos.services import drift as service

drift_app = typer.Typer(help="Schema drift: list, show, accept, reject and mute detected changes; set the policy.",
                        no_args_is_help=True)

TENANT = typer.Option(..., "--tenant", "-t", help=TENANT_OPTION_HELP)


@drift_app.command("list")
def list_(tenant: str = TENANT, connection: str = typer.Option(None, "--connection", "-c"),
          stream: str = typer.Option(None, "--stream", "-s"),
          status: str = typer.Option(None, "--status", help="open, accepted, rejected or muted."),
          limit: int = typer.Option(100, "--limit")) -> None:
    """List drift events, newest first; held streams are named above them."""
    with runtime() as rt:
        tenant_id = resolve_tenant(rt, tenant)
        events = service.list_events(rt, tenant_id, connection=connection, stream=stream, status=status, limit=limit)
        print_held(rt, tenant_id, connection)
        console.print(table("drift events", ["id", "stream", "kind", "field", "severity", "before", "after", "status"],
                            [[str(e.id), e.stream, e.kind, e.field, e.severity, _short(e.details.get("before")),
                              _short(e.details.get("after")), e.status] for e in events]))


def print_held(rt, tenant_id, connection: str | None = None) -> None:
    """One line per held stream: what a person must decide before it is applied again."""
    for name, streams in service.held_everywhere(rt, tenant_id, connection).items():
        for held in streams:
            console.print(f"[yellow]held[/yellow]: stream {held} of connection {name} is not applied until its "
                          "breaking drift is accepted or rejected (aos drift list --status open)")


def _short(value: object) -> str:
    text = "-" if value is None else value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


@drift_app.command("show")
def show(event_id: str, tenant: str = TENANT) -> None:
    """Show one drift event: its class, severity, rule, before and after, and sample values."""
    with runtime() as rt:
        info = service.get_event(rt, resolve_tenant(rt, tenant), event_id)
        details = {k: v for k, v in info.details.items() if k != "after_stats"}
        console.print_json(json.dumps({"id": str(info.id), "connection_id": str(info.connection_id),
                                       "stream": info.stream, "kind": info.kind, "field": info.field,
                                       "severity": info.severity, "rule": info.rule, "status": info.status,
                                       "confidence": info.confidence, "detected_at": str(info.detected_at),
                                       **details, "repair": info.repair}, default=str))


def _decide(event_id: str, tenant: str, decision: str) -> None:
    with runtime() as rt:
        info = service.resolve_event(rt, resolve_tenant(rt, tenant), event_id, decision, actor=actor())
        console.print(f"{decision} drift event {info.id} ({info.kind} {info.field} in {info.stream})")


@drift_app.command("accept")
def accept(event_id: str, tenant: str = TENANT) -> None:
    """The change is real: it becomes the baseline (a held stream is released once nothing breaking is open)."""
    _decide(event_id, tenant, "accepted")


@drift_app.command("reject")
def reject(event_id: str, tenant: str = TENANT) -> None:
    """The change is a source error: close it (a held stream is released once nothing breaking is open)."""
    _decide(event_id, tenant, "rejected")


@drift_app.command("mute")
def mute(connection: str, stream: str, kind: str, tenant: str = TENANT,
         unmute: bool = typer.Option(False, "--unmute", help="Announce this kind again.")) -> None:
    """Record one drift kind of a stream as muted: written, never announced, never holding."""
    with runtime() as rt:
        kinds = service.mute(rt, resolve_tenant(rt, tenant), connection, stream, kind, actor=actor(),
                             muted=not unmute)
        console.print(f"muted kinds of {stream}: {', '.join(kinds) or 'none'}")


@drift_app.command("policy")
def policy(connection: str, value: str = typer.Argument(None, help="propagate, hold or ignore; omit to show."),
           tenant: str = TENANT,
           stream: str = typer.Option(None, "--stream", "-s", help="Set one stream's own policy."),
           inherit: bool = typer.Option(False, "--inherit", help="With --stream: follow the connection again.")) -> None:
    """Show or set a connection's drift policy, or one stream's own."""
    with runtime() as rt:
        tenant_id = resolve_tenant(rt, tenant)
        if value is None and not inherit:
            console.print(service.get_policy(rt, tenant_id, connection))
            for name, own in sorted(service.stream_policies(rt, tenant_id, connection).items()):
                console.print(f"  stream {name}: {own}")
        else:
            service.set_policy(rt, tenant_id, connection, None if inherit else value, actor=actor(), stream=stream)
            where = f"stream {stream} of {connection}" if stream else connection
            console.print(f"drift policy of {where}: {'the connection' + chr(39) + 's' if inherit else value}")
