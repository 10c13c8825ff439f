"""The ``aos`` application: command groups are registered here, implemented beside it."""

from __future__ import annotations

import typer

from autonomos.cli import admin, connection, engines, sync
from autonomos.cli.eval_cmd import eval_command
from autonomos.cli.match_cmd import match
from autonomos.cli import ontology, vectors
from autonomos.cli import mapping, records, review
from autonomos.cli.drift import drift_app
from autonomos.cli import api_cmd

app = typer.Typer(name="aos", help="AutonomOS AAM/DCL: connect sources, land records, map them to a canonical ontology.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False)  # a crash must not print credentials or records

app.add_typer(engines.services_app, name="services")
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(connection.connection_app, name="connection")
app.add_typer(sync.sync_app, name="sync")
app.add_typer(sync.quarantine_app, name="quarantine")
app.add_typer(ontology.ontology_app, name="ontology")
app.add_typer(vectors.vectors_app, name="vectors")
app.add_typer(review.review_app, name="review")
app.add_typer(mapping.mapping_app, name="mapping")
app.add_typer(records.events_app, name="events")
app.add_typer(records.records_app, name="records")
app.add_typer(drift_app, name="drift")
app.add_typer(api_cmd.apikey_app, name="apikey")
app.command("serve")(api_cmd.serve)
app.command("propose")(review.propose)
app.command("worker")(sync.worker)
app.command("scheduler")(sync.scheduler)
app.command("migrate")(engines.migrate)
app.command("doctor")(engines.doctor)
app.command("demo")(engines.demo)
app.command("match")(match)
app.command("eval")(eval_command)


def main() -> None:
    app()
