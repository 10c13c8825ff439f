"""``aos services``, ``aos migrate``, ``aos doctor`` and ``aos demo``."""

from __future__ import annotations

import typer

from autonomos.cli.common import STATUS_STYLE, console, runtime, table
from autonomos.config import load_settings
from autonomos.services import demo as demo_service
from autonomos.services import doctor as doctor_service
from autonomos.services import platform

services_app = typer.Typer(help="Manage the embedded PostgreSQL and Redis servers.", no_args_is_help=True)


def _print_status(statuses) -> None:
    console.print(table("services", ["service", "running", "where", "what"],
                        [[s.name, "yes" if s.running else "no", s.location, s.detail] for s in statuses]))


@services_app.command("status")
def services_status() -> None:
    """Show whether the embedded servers run (configured servers are listed as such)."""
    _print_status(platform.services_status(load_settings()))


@services_app.command("start")
def services_start() -> None:
    """Start the embedded servers (they keep running after this command)."""
    with runtime() as rt:
        _print_status(platform.start_services(rt.settings))


@services_app.command("stop")
def services_stop() -> None:
    """Stop the embedded servers."""
    stopped = platform.stop_services(load_settings())
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def migrate() -> None:
    """Apply the database migrations (core, and the pgvector store where available)."""
    with runtime() as rt:
        report = platform.migrate(rt)
        console.print(f"applied: {', '.join(report.applied)}")
        if report.vectors_skipped_reason:
            console.print(f"[yellow]pgvector store skipped:[/yellow] {report.vectors_skipped_reason}")


def doctor() -> None:
    """Check every engine and print a concrete fix for each problem."""
    with runtime() as rt:
        checks = doctor_service.run_checks(rt)
        console.print(table("doctor", ["check", "status", "detail", "fix"],
                            [[c.name, STATUS_STYLE[c.status], c.detail, c.fix] for c in checks]))
        if any(c.status == "fail" for c in checks):
            raise typer.Exit(1)


def demo() -> None:
    """Run the end-to-end demo on bundled data and print a report."""
    with runtime() as rt:
        report = demo_service.run_demo(rt)
        console.rule("AutonomOS demo")
        console.print(f"migrations applied: {', '.join(report.migration.applied)}"
                      + (f" (pgvector store skipped: {report.migration.vectors_skipped_reason})"
                         if report.migration.vectors_skipped_reason else ""))
        console.print(f"tenant: {report.tenant.slug} ({report.tenant.id})")
        c = report.connection
        console.print(f"connection: {c.name} \\[{c.provider}] credentials stored encrypted: {c.has_credentials}")
        console.print(table("engines", ["check", "status", "detail", "fix"],
                            [[k.name, STATUS_STYLE[k.status], k.detail, k.fix] for k in report.checks]))
        console.print(table(f"rows visible to tenant '{report.tenant.slug}'", ["table", "rows"],
                            [[name, n] for name, n in report.row_counts.items()]))
