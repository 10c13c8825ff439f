"""``aos sync``, ``aos worker``, ``aos scheduler`` and ``aos quarantine``."""

from __future__ import annotations

import time

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from autonomos.cli.common import TENANT_OPTION_HELP, actor, console, json_argument, resolve_tenant, runtime, table
from autonomos.cli.drift import print_held
from autonomos.services import quarantine as quarantine_service
from autonomos.services import sync as sync_service

TENANT = typer.Option(..., "--tenant", "-t", help=TENANT_OPTION_HELP)


class _SyncGroup(TyperGroup):
    """``aos sync CONNECTION`` starts a sync; ``aos sync cancel|pause|resume|reset|status`` steer it."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


sync_app = typer.Typer(cls=_SyncGroup, help="Start and steer syncs: aos sync CONNECTION [--stream S] [--full] [--wait].",
                       no_args_is_help=True)
quarantine_app = typer.Typer(help="See and replay records that could not be landed.", no_args_is_help=True)


@sync_app.command("start")
def start(connection: str, tenant: str = TENANT,
          stream: list[str] = typer.Option(None, "--stream", "-s", help="Only these streams (repeatable)."),
          full: bool = typer.Option(False, "--full", help="Read everything; record deletes for missing keys."),
          wait: bool = typer.Option(False, "--wait", help="Wait for the run, with a progress bar.")) -> None:
    """Enqueue a sync run of CONNECTION (the default command: `aos sync CONNECTION`)."""
    with runtime() as rt:
        tenant_id = resolve_tenant(rt, tenant)
        started = sync_service.start_sync(rt, tenant_id, connection, streams=stream, full=full, actor=actor())
        verb = "enqueued" if started.created else "already active:"
        console.print(f"{verb} sync run {started.run.id} ({started.run.mode})")
        if wait:
            run = _wait(rt, tenant_id, started.run.id)
            _print_summary(rt, tenant_id, run)
            if run.status != "succeeded":
                raise typer.Exit(1)


def _wait(rt, tenant_id, run_id):
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,} records"),
                  TextColumn("{task.fields[rate]:,.0f} records/s"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("syncing", total=None, rate=0.0)
        started = time.monotonic()
        while True:
            run = sync_service.get_run(rt, tenant_id, run_id)
            read = run.counts.get("read", 0)
            elapsed = max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=read, rate=read / elapsed, description=run.status)
            if run.status in ("succeeded", "failed", "abandoned", "cancelled", "paused"):
                return run
            time.sleep(0.5)


def _print_summary(rt, tenant_id, run) -> None:
    c = run.counts
    console.print(table(f"sync {run.id}: {run.status}", ["read", "new versions", "unchanged", "deleted", "quarantined"],
                        [[c.get("read", 0), c.get("inserted", 0), c.get("unchanged", 0), c.get("deleted", 0),
                          c.get("quarantined", 0)]]))
    reasons = quarantine_service.summary(rt, tenant_id, run.id)
    if reasons:
        console.print(table("quarantined by reason", ["reason", "records"], [[r, n] for r, n in reasons.items()]))
    if run.error:
        console.print(f"[red]error:[/red] {escape(_error(run.error))}")


def _error(error: dict | None) -> str:
    if not error:
        return "-"
    kind = "transient" if error.get("transient") else "terminal"
    return f"{error.get('kind')} ({kind}): {error.get('message')}"


def _attempts(run) -> str:
    text = str(run.attempts)
    if run.failures:
        text += f" ({run.failures} failed in a row)"
    if run.status == "pending" and run.next_attempt_at:
        text += f", next {run.next_attempt_at.isoformat(timespec='seconds')}"
    return text


@sync_app.command("status")
def status(connection: str = typer.Argument(None), tenant: str = TENANT) -> None:
    """Recent runs (of one connection, or all)."""
    with runtime() as rt:
        tenant_id = resolve_tenant(rt, tenant)
        rows = sync_service.list_runs(rt, tenant_id, connection)
        console.print(table("sync runs", ["run", "status", "mode", "attempts", "read", "new", "quarantined", "created",
                                          "last error"],
                            [[r.id, r.status, r.mode, _attempts(r), r.counts.get("read", 0), r.counts.get("inserted", 0),
                              r.counts.get("quarantined", 0), r.created_at.isoformat(timespec="seconds"),
                              _error(r.error) if r.error else "-"]
                             for r in rows]))
        print_held(rt, tenant_id, connection)


@sync_app.command("cancel")
def cancel(connection: str, tenant: str = TENANT) -> None:
    """Cancel the connection's active sync."""
    with runtime() as rt:
        run = sync_service.cancel_sync(rt, resolve_tenant(rt, tenant), connection, actor=actor())
        console.print(f"run {run.id}: {'cancel requested' if run.control else run.status}")


@sync_app.command("pause")
def pause(connection: str, tenant: str = TENANT) -> None:
    """Pause the connection's active sync after its current batch."""
    with runtime() as rt:
        run = sync_service.pause_sync(rt, resolve_tenant(rt, tenant), connection, actor=actor())
        console.print(f"run {run.id}: {'pause requested' if run.control else run.status}")


@sync_app.command("resume")
def resume(connection: str, tenant: str = TENANT) -> None:
    """Resume a paused sync from its last checkpoint."""
    with runtime() as rt:
        run = sync_service.resume_sync(rt, resolve_tenant(rt, tenant), connection, actor=actor())
        console.print(f"run {run.id}: {run.status}")


@sync_app.command("reset")
def reset(connection: str, tenant: str = TENANT, stream: str = typer.Option(None, "--stream", "-s")) -> None:
    """Forget cursors so the next sync reads from the start (landed records stay)."""
    with runtime() as rt:
        removed = sync_service.reset_sync(rt, resolve_tenant(rt, tenant), connection, stream=stream, actor=actor())
        console.print(f"removed {removed} cursor(s)")


def worker(burst: bool = typer.Option(False, "--burst", help="Exit when the queue is empty.")) -> None:
    """Process sync and apply runs from the Redis queue, AOS_WORKER_SLOTS jobs at once (default: one per
    CPU, at least 2), and reconcile with Postgres every few seconds."""
    from autonomos.services.worker import run_worker

    with runtime() as rt:
        run_worker(rt, burst=burst)


def scheduler(once: bool = typer.Option(False, "--once", help="One tick, then exit."),
              every: float = typer.Option(15.0, "--every", help="Seconds between ticks.")) -> None:
    """Start scheduled syncs when due, and re-enqueue what Postgres says is pending."""
    from autonomos.services.sync_inputs import scheduler_tick

    with runtime() as rt:
        while True:
            report = scheduler_tick(rt)
            if report.started or report.reconciled.enqueued or report.reconciled.revived:
                console.print(f"started {len(report.started)}, re-enqueued {report.reconciled.enqueued}, "
                              f"revived {report.reconciled.revived}")
            if once:
                return
            time.sleep(every)


@quarantine_app.command("list")
def quarantine_list(tenant: str = TENANT, stream: str = typer.Option(None, "--stream"),
                    all_: bool = typer.Option(False, "--all", help="Include resolved records."),
                    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Items per page."),
                    cursor: int = typer.Option(None, "--cursor", help="The cursor the previous page printed.")) -> None:
    """Quarantined records with their reasons, newest first, a page at a time."""
    with runtime() as rt:
        page = quarantine_service.list_items(rt, resolve_tenant(rt, tenant), status=None if all_ else "open",
                                             stream=stream, limit=limit, cursor=cursor)
        console.print(table("quarantine", ["id", "stream", "stage", "reason", "key", "seen", "status"],
                            [[i.id, i.stream, i.stage, i.reason, i.record_key or "-", i.occurrences, i.status]
                             for i in page.items]))
        which = "" if all_ else "open "
        more = f"; next page: --cursor {page.next_cursor}" if page.next_cursor is not None else ""
        console.print(f"{page.total} {which}item(s), {len(page.items)} shown{more}")


@quarantine_app.command("show")
def quarantine_show(item: int, tenant: str = TENANT) -> None:
    """One quarantined record: reason, payload, and the start of what was read."""
    import json

    with runtime() as rt:
        i = quarantine_service.get_item(rt, resolve_tenant(rt, tenant), item)
        console.print_json(json.dumps(i.__dict__, default=str))


@quarantine_app.command("retry")
def quarantine_retry(item: int, tenant: str = TENANT,
                     payload: str = typer.Option(None, "--payload", help="Corrected record as JSON or @file.")) -> None:
    """Land a quarantined record again (optionally corrected)."""
    with runtime() as rt:
        i = quarantine_service.retry_item(rt, resolve_tenant(rt, tenant), item, payload=json_argument(payload, "--payload"),
                                          actor=actor())
        console.print(f"record {i.id}: {i.status}")


__all__ = ["quarantine_app", "scheduler", "sync_app", "worker"]
