"""The ``aos`` application: command groups are registered here, implemented beside it."""

from __future__ import annotations

import typer

from autonomos.cli import admin, engines

app = typer.Typer(name="aos", help="AutonomOS AAM/DCL: connect sources, land records, map them to a canonical ontology.",
                  no_args_is_help=True, add_completion=False)

app.add_typer(engines.services_app, name="services")
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.keys_app, name="keys")
app.command("migrate")(engines.migrate)
app.command("doctor")(engines.doctor)
app.command("demo")(engines.demo)

try:  # the offline matcher lands in its own module
    from autonomos.cli.match_cmd import match
except ImportError:  # pragma: no cover - only while the matcher is absent
    match = None
if match is not None:
    app.command("match")(match)


def main() -> None:
    app()
