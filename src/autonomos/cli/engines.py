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
    import json

    with runtime() as rt:
        report = demo_service.run_demo(rt)
        console.rule("AutonomOS demo")
        console.print(f"migrations applied: {', '.join(report.migration.applied)}"
                      + (f" (pgvector store skipped: {report.migration.vectors_skipped_reason})"
                         if report.migration.vectors_skipped_reason else ""))
        console.print(f"tenant: {report.tenant.slug} ({report.tenant.id})")
        console.print(table("engines", ["check", "status", "detail", "fix"],
                            [[k.name, STATUS_STYLE[k.status], k.detail, k.fix] for k in report.checks]))
        console.print(table("counts per stage", ["stage", "count"], [[k, v] for k, v in report.stages.items()]))
        console.print(table("mapping decisions", ["source", "field", "tier", "status", "chosen field",
                                                  "best candidate", "score"], [
            [f"{d['connection']}/{d['stream']}", d["source_field"], d["tier"], d["status"], d["chosen"] or "-",
             d["target"],
             f"{d['score']:.2f}" if d["score"] is not None else ""] for d in report.decisions]))
        console.print(table("quarantined records", ["stage", "stream", "key", "reason"],
                            [[q["stage"], q["stream"], q["record_key"], q["reason"]] for q in report.quarantined]))
        for view in report.unified:
            console.print(table(f"unified account {view.id} ({', '.join(m['connection'] for m in view.members)})",
                                ["field", "value", "from"],
                                [[k, json.dumps(v), f"{view.sources[k]['connection']}/{view.sources[k]['record_key']}"]
                                 for k, v in view.data.items()]))
